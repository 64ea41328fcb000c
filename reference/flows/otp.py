"""POST /otp: sign-in by mail (a code and a magic link). An unknown address gets an account, unless
the client says create_user: false (GoTrue answers 422 otp_disabled then); a new or unconfirmed
address gets a signup confirmation. The courier creates the account and picks the mail, after the
answer, so a known and a new address take the same time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference import captcha
from guestpass.reference.body import field, json_object, required_email
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.mail_pkce import challenge_of, open_mail_flow
from guestpass.reference.notify import claim_send_slot, send_code_to_account_of
from guestpass.reference.redirects import redirect_of
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.users import find_by_email


async def otp(request: Request) -> JSONResponse:
    await captcha.require_captcha(request)
    rt = runtime(request)
    body = await json_object(request)
    if field(body, "phone", str):
        raise ApiError(ErrorCode.phone_provider_disabled)
    email = required_email(body, "Sign-in by mail")
    may_create = field(body, "create_user", bool) is not False and rt.config.signup_enabled
    user_metadata, redirect_to = field(body, "data", dict) or {}, redirect_of(request, body)
    challenge = challenge_of(body)
    async with rt.db.transaction() as conn:
        if not may_create and await find_by_email(conn, email) is None:
            raise ApiError(ErrorCode.otp_disabled)
        await claim_send_slot(conn, rt, email)
        new_user_metadata = user_metadata if may_create else None
        flow = await open_mail_flow(conn, rt.config, "magiclink", challenge, redirect_to)
        await send_code_to_account_of(
            conn, rt, "magiclink", email, redirect_to, new_user_metadata=new_user_metadata, flow_state_id=flow
        )
    return JSONResponse({})


routes = [Route("/otp", otp, methods=["POST"])]
