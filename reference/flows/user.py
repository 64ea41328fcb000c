"""GET /user, PUT /user (metadata, password, email) and DELETE /user. A new email is confirmed by mail,
except that an anonymous user converts at once while mailer_autoconfirm is on."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from guestpass.reference import security_notices
from guestpass.reference.auth import Caller, authenticate, caller_rows
from guestpass.reference.body import field, json_object, normalized_email
from guestpass.reference.email_change import request_email_change
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.mail_pkce import challenge_of
from guestpass.reference.passwords import check_password
from guestpass.reference.reauthentication import count_wrong_nonce, nonce_required, redeem_nonce
from guestpass.reference.redirects import redirect_of
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import end_sessions
from guestpass.reference.storage.db import Connection
from guestpass.reference.users import (
    delete_user,
    factors_of,
    merged_metadata,
    set_email,
    update_user,
    user_body,
    user_json,
)


async def get_user(request: Request) -> JSONResponse:
    if rows := await caller_rows(request):
        return JSONResponse(user_body(rows.user, rows.identities, rows.factors))
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        return JSONResponse(await user_json(conn, caller.user))


async def refuse_credential_change_at_aal1(
    conn: Connection, caller: Caller, email: str | None, password: str | None
) -> None:
    """GoTrue's rule (internal/api/user.go, UserUpdate): once the user has a verified factor, a new password
    or email needs an aal2 session, or the password alone would take over an account MFA protects."""
    if not (password or (email and email != caller.user["email"])) or caller.session["aal"] == "aal2":
        return
    if any(factor["status"] == "verified" for factor in await factors_of(conn, caller.user["id"])):
        message = "AAL2 session is required to update email or password when MFA is enabled."
        raise ApiError(ErrorCode.insufficient_aal, message, status=401)


async def update_current_user(request: Request) -> JSONResponse:
    rt = runtime(request)
    async with rt.db.transaction() as conn:
        await authenticate(request, conn)
    body = await json_object(request)
    data = field(body, "data", dict)
    raw_email = field(body, "email", str)
    email = normalized_email(raw_email) if raw_email else None
    password, redirect_to = field(body, "password", str), redirect_of(request, body)
    nonce = field(body, "nonce", str)
    challenge = challenge_of(body)
    if password is not None:
        check_password(rt.config, password)
    encrypted = await rt.passwords.hash(password) if password is not None else None
    if password is not None and nonce:
        async with rt.db.transaction() as conn:
            caller = await authenticate(request, conn)
            if nonce_required(rt, caller):
                await count_wrong_nonce(conn, caller, nonce)
    async with rt.db.transaction() as conn:
        caller = await authenticate(request, conn)
        await refuse_credential_change_at_aal1(conn, caller, email, password)
        if password is not None and nonce_required(rt, caller):
            await redeem_nonce(conn, rt, caller, nonce)
        user = caller.user
        if email and caller.is_anonymous and rt.config.mailer_autoconfirm:
            user = await set_email(conn, user, email)
        elif email and email != user["email"]:
            user = await request_email_change(conn, rt, user, email, redirect_to, challenge)
        if password is not None:
            if not user["email"]:
                raise ApiError(
                    ErrorCode.validation_failed,
                    "Updating password of an anonymous user without an email is not allowed",
                    status=422,
                )
            if await rt.passwords.verify(user["encrypted_password"], password):
                raise ApiError(ErrorCode.same_password)
            user = await update_user(conn, user["id"], encrypted_password=encrypted)
            await end_sessions(conn, user["id"], caller.session["id"], "others")
            if caller.user["email"]:  # GoTrue: not for the address an anonymous user adds in this request
                await security_notices.password_changed(conn, rt, user)
        if data is not None:
            user = await update_user(conn, user["id"], user_metadata=merged_metadata(user["user_metadata"], data))
        return JSONResponse(await user_json(conn, user))


async def delete_current_user(request: Request) -> Response:
    """The caller deletes itself: the request names no user, so nobody can name another one. Its
    sessions, credentials and owned rows go with it (foreign keys cascade)."""
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        await delete_user(conn, caller.user["id"])
    return Response(status_code=204)


routes = [
    Route("/user", get_user, methods=["GET"]),
    Route("/user", update_current_user, methods=["PUT"]),
    Route("/user", delete_current_user, methods=["DELETE"]),
]
