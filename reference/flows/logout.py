"""POST /logout?scope=global|local|others: ends sessions, answers 204."""

from __future__ import annotations

from typing import get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from guestpass.reference.auth import authenticate
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import LogoutScope, end_sessions


async def logout(request: Request) -> Response:
    scope = request.query_params.get("scope", "global")
    if scope not in get_args(LogoutScope):
        raise ApiError(ErrorCode.validation_failed, f"Unsupported logout scope {scope!r}")
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        await end_sessions(conn, caller.user["id"], caller.session["id"], scope)  # type: ignore[arg-type]
    return Response(status_code=204)


routes = [Route("/logout", logout, methods=["POST"])]
