"""The caller's own sessions: GET /sessions lists them, DELETE /sessions/{id} ends one (for example the
session a CLI received)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from guestpass.reference.auth import authenticate
from guestpass.reference.clock import iso
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import end_session
from guestpass.reference.storage.schema import sessions


async def list_sessions(request: Request) -> JSONResponse:
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        rows = (
            (
                await conn.execute(
                    select(sessions).where(sessions.c.user_id == caller.user["id"]).order_by(sessions.c.created_at)
                )
            )
            .mappings()
            .all()
        )
    return JSONResponse(
        {
            "sessions": [
                {
                    "id": str(row["id"]),
                    "created_at": iso(row["created_at"]),
                    "refreshed_at": iso(row["refreshed_at"]),
                    "user_agent": row["user_agent"],
                    "ip": row["ip"],
                    "aal": row["aal"],
                    "current": row["id"] == caller.session["id"],
                }
                for row in rows
            ]
        }
    )


async def end_one_session(request: Request) -> Response:
    try:
        session_id = uuid.UUID(request.path_params["session_id"])
    except ValueError:
        raise ApiError(ErrorCode.session_not_found, "Session not found", status=404) from None
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        if not await end_session(conn, session_id, caller.user["id"]):
            raise ApiError(ErrorCode.session_not_found, "Session not found", status=404)
    return Response(status_code=204)


routes = [
    Route("/sessions", list_sessions, methods=["GET"]),
    Route("/sessions/{session_id}", end_one_session, methods=["DELETE"]),
]
