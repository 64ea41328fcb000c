"""POST /invite: the service role invites an address. A new user (no password, not confirmed) is
created, or an unconfirmed one invited again, and mailed a code and link that accept the invitation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference.auth import require_service_role
from guestpass.reference.body import field, json_object, required_email
from guestpass.reference.clock import utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.notify import send_code
from guestpass.reference.redirects import redirect_of
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.users import create_user, find_by_email, update_user, user_json

INVITE = "invite"


async def invite(request: Request) -> JSONResponse:
    require_service_role(request)
    rt = runtime(request)
    body = await json_object(request)
    email, data = required_email(body, "An invitation"), field(body, "data", dict)
    redirect_to = redirect_of(request, body)
    async with rt.db.transaction() as conn:
        user = await find_by_email(conn, email)
        if user is not None and user["email_confirmed_at"] is not None:
            raise ApiError(ErrorCode.email_exists)
        if user is None:
            user = await create_user(conn, email=email, user_metadata=data)
        await send_code(conn, rt, user["id"], INVITE, email, redirect_to)
        user = await update_user(conn, user["id"], invited_at=utcnow())
        return JSONResponse(await user_json(conn, user))


routes = [Route("/invite", invite, methods=["POST"])]
