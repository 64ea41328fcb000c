"""POST /signup: email and password, or anonymous. With mailer_autoconfirm on the address counts as
confirmed and the answer is a session; otherwise a confirmation is mailed and the answer is the user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guestpass.reference.body import field, json_object, normalized_email
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows.anonymous import sign_in_anonymously
from guestpass.reference.notify import send_code
from guestpass.reference.passwords import check_password
from guestpass.reference.redirects import redirect_of
from guestpass.reference.runtime import runtime
from guestpass.reference.signin import complete_sign_in, merge_token
from guestpass.reference.users import create_user, user_json


async def signup(request: Request) -> JSONResponse:
    body = await json_object(request)
    email = field(body, "email", str)
    phone = field(body, "phone", str)
    password = field(body, "password", str)
    user_metadata = field(body, "data", dict) or {}
    merge_token(body)
    redirect_to = redirect_of(request, body)
    if not email and not phone:
        return await sign_in_anonymously(request, user_metadata)
    if phone:
        raise ApiError(ErrorCode.phone_provider_disabled)
    rt = runtime(request)
    if not rt.config.signup_enabled:
        raise ApiError(ErrorCode.signup_disabled)
    email = normalized_email(email)  # type: ignore[arg-type]
    if not password:
        raise ApiError(ErrorCode.validation_failed, "Signup requires a valid password")
    check_password(rt.config, password)
    encrypted = await rt.passwords.hash(password)
    async with rt.db.transaction() as conn:
        user = await create_user(
            conn,
            email=email,
            encrypted_password=encrypted,
            user_metadata=user_metadata,
            confirmed=rt.config.mailer_autoconfirm,
        )
        if not rt.config.mailer_autoconfirm:
            await send_code(conn, rt, user["id"], "confirmation", email, redirect_to)
            return JSONResponse(await user_json(conn, user))
    return await complete_sign_in(request, body, user["id"], "password")


routes = [Route("/signup", signup, methods=["POST"])]
