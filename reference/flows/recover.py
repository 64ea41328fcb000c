"""POST /recover: mails a recovery code if the address has an account. The answer is the same 200
`{}` either way, and the per-address send limit counts unknown addresses too: nothing reveals
whether an account exists."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guestpass.reference.body import json_object, required_email
from guestpass.reference.notify import claim_send_slot, send_code
from guestpass.reference.redirects import redirect_of
from guestpass.reference.runtime import runtime
from guestpass.reference.users import find_by_email


async def recover(request: Request) -> JSONResponse:
    rt = runtime(request)
    body = await json_object(request)
    email = required_email(body, "Password recovery")
    redirect_to = redirect_of(request, body)  # read before the lookup: a bad field is refused for every address
    async with rt.db.transaction() as conn:
        await claim_send_slot(conn, rt, email)
        user = await find_by_email(conn, email)
        if user is not None:
            await send_code(conn, rt, user["id"], "recovery", email, redirect_to)
    return JSONResponse({})


routes = [Route("/recover", recover, methods=["POST"])]
