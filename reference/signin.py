"""The end of every sign-in path: the merge step when the request carries an anonymous refresh
token, then a new session. Paths call `complete_sign_in`; none handles merging on its own."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request

from guestpass.reference.body import field
from guestpass.reference.merge import merge_anonymous_user
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import session_json, start_session
from guestpass.reference.users import get_user, refuse_banned

MERGE_FIELD = "anonymous_refresh_token"


def merge_token(body: dict[str, Any]) -> str | None:
    """The anonymous refresh token of the merge step; paths read it before writing anything, so that a
    malformed one is refused (400 bad_json) with nothing done."""
    return field(body, MERGE_FIELD, str)


async def complete_sign_in(request: Request, body: dict[str, Any], user_id: uuid.UUID, method: str) -> JSONResponse:
    return JSONResponse(await signed_in(request, body, user_id, method))


async def signed_in(request: Request, body: dict[str, Any], user_id: uuid.UUID, method: str) -> dict[str, Any]:
    """The session response of a sign-in, after the merge step."""
    rt = runtime(request)
    token, merge = merge_token(body), None
    if token:
        async with rt.db.transaction() as conn:  # a banned user's sign-in merges nothing
            refuse_banned(await get_user(conn, user_id))
        merge = await merge_anonymous_user(rt.db, user_id, token)
    async with rt.db.transaction() as conn:
        user = await get_user(conn, user_id)
        refuse_banned(user)
        grant = await start_session(conn, user, method, request)  # type: ignore[arg-type]
        payload = await session_json(conn, rt, grant)
    if merge is not None:
        payload["anonymous_merge"] = merge
    return payload
