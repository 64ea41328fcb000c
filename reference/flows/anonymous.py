"""Anonymous sign-in: POST /signup with neither email nor phone."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from guestpass.reference import ratelimit
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import session_json, start_session
from guestpass.reference.users import create_user


async def sign_in_anonymously(request: Request, user_metadata: dict[str, Any]) -> JSONResponse:
    rt = runtime(request)
    if not rt.config.anonymous_enabled:
        raise ApiError(ErrorCode.anonymous_provider_disabled)
    if not rt.config.signup_enabled:
        raise ApiError(ErrorCode.signup_disabled)
    async with rt.db.transaction() as conn:  # a refused sign-in rolls back its own hit: the count stays at the limit
        await ratelimit.consume(
            conn,
            "anonymous_sign_ins",
            ratelimit.client_key(request, rt.config.rate_limit_header),
            limit=rt.config.anonymous_sign_ins_per_window,
            window_seconds=rt.config.rate_limit_window_seconds,
        )
        user = await create_user(conn, user_metadata=user_metadata, anonymous=True)
        grant = await start_session(conn, user, "anonymous", request)
        return JSONResponse(await session_json(conn, rt, grant))
