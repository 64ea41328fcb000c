"""POST /otp: sign-in by mail (a code and a magic link). An unknown address gets an account, unless
the client says create_user: false; a new or unconfirmed address gets a signup confirmation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guestpass.reference.body import field, json_object, required_email
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.notify import claim_send_slot, send_code
from guestpass.reference.redirects import redirect_of
from guestpass.reference.runtime import runtime
from guestpass.reference.users import create_user, find_by_email


async def otp(request: Request) -> JSONResponse:
    rt = runtime(request)
    body = await json_object(request)
    if field(body, "phone", str):
        raise ApiError(ErrorCode.phone_provider_disabled)
    email = required_email(body, "Sign-in by mail")
    may_create = field(body, "create_user", bool) is not False and rt.config.signup_enabled
    user_metadata, redirect_to = field(body, "data", dict) or {}, redirect_of(request, body)
    async with rt.db.transaction() as conn:
        user = await find_by_email(conn, email)
        if user is None and not may_create:
            raise ApiError(ErrorCode.otp_disabled)
        await claim_send_slot(conn, rt, email)
        if user is None:
            user = await create_user(conn, email=email, user_metadata=user_metadata)
        kind = "magiclink" if user["email_confirmed_at"] is not None else "confirmation"
        await send_code(conn, rt, user["id"], kind, email, redirect_to)
    return JSONResponse({})


routes = [Route("/otp", otp, methods=["POST"])]
