"""GET /reauthenticate: mails the signed-in user a nonce for a password change (GoTrue's
reauthenticate.go). The user needs a confirmed email; the per-address send interval applies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference.auth import authenticate
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.notify import claim_send_slot
from guestpass.reference.reauthentication import send_nonce
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime


async def reauthenticate(request: Request) -> JSONResponse:
    rt = runtime(request)
    async with rt.db.transaction() as conn:
        caller = await authenticate(request, conn)
        email = caller.user["email"]
        if not email:
            message = "Reauthentication requires the user to have an email or a phone number"
            raise ApiError(ErrorCode.validation_failed, message)
        if caller.user["email_confirmed_at"] is None:
            raise ApiError(ErrorCode.email_not_confirmed, "Please verify your email first.", status=422)
        await claim_send_slot(conn, rt, email)
        await send_nonce(conn, rt, caller)
    return JSONResponse({})


routes = [Route("/reauthenticate", reauthenticate, methods=["GET"])]
