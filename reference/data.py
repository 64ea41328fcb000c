"""The owned-data probe API (mounted at /data/v1): rows that belong to a user by foreign key, so
that merges and deletions can be observed from outside. Anonymous users may contribute; syncing is
for permanent users only."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import RowMapping, insert, select
from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference.auth import authenticate, refuse_anonymous
from guestpass.reference.body import field, json_object
from guestpass.reference.clock import iso, utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import items
from guestpass.reference.users import update_user

MAX_BODY_CHARACTERS = 10_000
ITEM_INSERT = insert(items).returning(items)


def item_json(row: RowMapping) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "user_id": str(row["user_id"]),
        "body": row["body"],
        "created_at": iso(row["created_at"]),
    }


async def owned_items(conn: Connection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (
        (await conn.execute(select(items).where(items.c.user_id == user_id).order_by(items.c.created_at, items.c.id)))
        .mappings()
        .all()
    )
    return [item_json(row) for row in rows]


async def create_item(request: Request) -> JSONResponse:
    rt = runtime(request)
    async with rt.db.transaction() as conn:
        caller = await authenticate(request, conn)
    text = field(await json_object(request), "body", str)
    if not text or len(text) > MAX_BODY_CHARACTERS:
        raise ApiError(ErrorCode.validation_failed, f"body must be a string of 1 to {MAX_BODY_CHARACTERS} characters")
    async with rt.db.transaction() as conn:
        caller = await authenticate(request, conn)
        now = utcnow()
        # Touching the owner keeps the reaper off a user who is contributing, and locks the owner until the row
        # is in: a deletion or merge that comes meanwhile waits and takes the row along, and one that came
        # first has taken the user (and its sessions), so the write is refused as any later request would be.
        if await update_user(conn, caller.user["id"], last_active_at=now) is None:
            raise ApiError(ErrorCode.session_not_found)
        values = {"id": uuid.uuid4(), "user_id": caller.user["id"], "body": text, "created_at": now}
        row = (await conn.execute(ITEM_INSERT, values)).mappings().one()
        return JSONResponse(item_json(row), status_code=201)


async def list_items(request: Request) -> JSONResponse:
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        return JSONResponse({"items": await owned_items(conn, caller.user["id"])})


async def sync(request: Request) -> JSONResponse:
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        refuse_anonymous(caller)
        return JSONResponse({"items": await owned_items(conn, caller.user["id"]), "synced_at": iso(utcnow())})


routes = [
    Route("/items", create_item, methods=["POST"]),
    Route("/items", list_items, methods=["GET"]),
    Route("/sync", sync, methods=["GET"]),
]
