"""Anonymous sign-in: POST /signup with neither email nor phone."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from guestpass.reference import ratelimit
from guestpass.reference.clock import utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import new_refresh_token, refresh_token_row, session_body, session_row
from guestpass.reference.storage.hot import AnonymousSignIn
from guestpass.reference.users import new_user_row

BUCKET = "anonymous_sign_ins"


async def sign_in_anonymously(request: Request, user_metadata: dict[str, Any]) -> JSONResponse:
    rt = runtime(request)
    if not rt.config.anonymous_enabled:
        raise ApiError(ErrorCode.anonymous_provider_disabled)
    if not rt.config.signup_enabled:
        raise ApiError(ErrorCode.signup_disabled)
    now, raw = utcnow(), new_refresh_token()
    user = new_user_row(user_metadata=user_metadata, anonymous=True, now=now, signed_in=True)
    session = session_row(user["id"], "anonymous", request, now)
    window = rt.config.rate_limit_window_seconds
    sign_in = AnonymousSignIn(
        bucket=BUCKET,
        client_key=ratelimit.client_key(request, rt.config.rate_limit_header),
        window_start=ratelimit.current_window(window),
        window_seconds=window,
        limit=rt.config.anonymous_sign_ins_per_window,
        user=user,
        session=session,
        refresh_token=refresh_token_row(raw, session["id"], None, None, now),
    )
    if await rt.db.hot.sign_in_anonymously(sign_in) is None:  # a refused sign-in counts no hit
        raise ApiError(ErrorCode.over_request_rate_limit)
    return JSONResponse(session_body(rt, user, session, raw))
