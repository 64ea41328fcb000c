"""POST /signup: email and password, or anonymous. With mailer_autoconfirm on the address counts as
confirmed and the answer is a session; otherwise a confirmation is mailed and the answer is the user.
In that mode a registered address is not revealed (GoTrue's `sanitizeUser`): a confirmed account gets
a stand-in shaped like a new user, with an id of its own, and its owner a mail saying someone tried
(OWASP's advice; GoTrue mails nothing); an unconfirmed one gets its confirmation again."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import RowMapping
from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference import captcha
from guestpass.reference.body import field, json_object, normalized_email
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows.anonymous import sign_in_anonymously
from guestpass.reference.mail_pkce import challenge_of, open_mail_flow
from guestpass.reference.notify import claim_send_slot, send_code, send_notice
from guestpass.reference.passwords import check_password
from guestpass.reference.redirects import redirect_of
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import Runtime, runtime
from guestpass.reference.signin import complete_sign_in, merge_token
from guestpass.reference.storage.db import Connection
from guestpass.reference.users import create_user, find_by_email, user_json


async def signup(request: Request) -> JSONResponse:
    await captcha.require_captcha(request)
    body = await json_object(request)
    email = field(body, "email", str)
    phone = field(body, "phone", str)
    password = field(body, "password", str)
    user_metadata = field(body, "data", dict) or {}
    merge_token(body)
    challenge = challenge_of(body)
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
    if not rt.config.mailer_autoconfirm:
        return JSONResponse(await signup_to_confirm(rt, email, encrypted, user_metadata, redirect_to, challenge))
    async with rt.db.transaction() as conn:
        user = await create_user(
            conn, email=email, encrypted_password=encrypted, user_metadata=user_metadata, confirmed=True
        )
    return await complete_sign_in(request, body, user["id"], "password")


async def signup_to_confirm(
    rt: Runtime,
    email: str,
    encrypted: str,
    user_metadata: dict[str, Any],
    redirect_to: str,
    challenge: str | None = None,
) -> dict[str, Any]:
    """The user to confirm by mail. For the address of a confirmed account, a stand-in made the same way
    (a user created for a decoy address, then rolled back), so that it takes the same statements and
    the same time, and the account's owner is told someone tried."""
    async with rt.db.transaction() as conn:
        registered = await find_by_email(conn, email)
        if registered is not None and registered["email_confirmed_at"] is None:
            await claim_send_slot(conn, rt, email)
            flow = await open_mail_flow(conn, rt.config, "confirmation", challenge, redirect_to, registered["id"])
            await send_code(conn, rt, registered["id"], "confirmation", email, redirect_to, flow_state_id=flow)
            return await user_json(conn, registered)
        address = email if registered is None else f"{uuid.uuid4().hex}@stand-in.invalid"
        user, answer = await tentative_user(conn, address, encrypted, user_metadata, keep=registered is None)
        if registered is None:
            flow = await open_mail_flow(conn, rt.config, "confirmation", challenge, redirect_to, user["id"])
            await send_code(conn, rt, user["id"], "confirmation", email, redirect_to, flow_state_id=flow)
            return answer
        await send_notice(conn, rt, registered["id"], "existing_account", email)
        return json.loads(json.dumps(answer).replace(address, email))


async def tentative_user(
    conn: Connection, email: str, encrypted: str, user_metadata: dict[str, Any], *, keep: bool
) -> tuple[RowMapping, dict[str, Any]]:
    """Creates the user and its answer in a savepoint, kept or rolled back."""
    savepoint = await conn.begin_nested()
    try:
        user = await create_user(conn, email=email, encrypted_password=encrypted, user_metadata=user_metadata)
        answer = await user_json(conn, user)
    except BaseException:
        await savepoint.rollback()
        raise
    await (savepoint.commit() if keep else savepoint.rollback())
    return user, answer


routes = [Route("/signup", signup, methods=["POST"])]
