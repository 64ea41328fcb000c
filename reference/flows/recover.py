"""POST /recover: mails a recovery code if the address has an account. The answer is the same 200
`{}` either way, in the same time (the account is looked up only by the courier, after the answer),
and the per-address send limit counts unknown addresses too: nothing reveals whether an account
exists."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference import captcha
from guestpass.reference.body import json_object, required_email
from guestpass.reference.mail_pkce import challenge_of, open_mail_flow
from guestpass.reference.notify import claim_send_slot, send_code_to_account_of
from guestpass.reference.redirects import redirect_of
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime


async def recover(request: Request) -> JSONResponse:
    await captcha.require_captcha(request)
    rt = runtime(request)
    body = await json_object(request)
    email = required_email(body, "Password recovery")
    redirect_to = redirect_of(request, body)
    challenge = challenge_of(body)
    async with rt.db.transaction() as conn:
        await claim_send_slot(conn, rt, email)
        flow = await open_mail_flow(conn, rt.config, "recovery", challenge, redirect_to)
        await send_code_to_account_of(conn, rt, "recovery", email, redirect_to, flow_state_id=flow)
    return JSONResponse({})


routes = [Route("/recover", recover, methods=["POST"])]
