"""The service-role admin API: create, read and delete users, and generate_link (a mail's code and
link, handed to the caller instead of mailed)."""

from __future__ import annotations

import uuid

from sqlalchemy import RowMapping
from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference import onetime
from guestpass.reference.auth import require_service_role
from guestpass.reference.body import field, json_object, normalized_email, required_email
from guestpass.reference.clock import utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.passwords import check_password
from guestpass.reference.redirects import redirect_of
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.users import create_user, delete_user, find_by_email, get_user, update_user, user_json


async def create(request: Request) -> JSONResponse:
    require_service_role(request)
    rt = runtime(request)
    body = await json_object(request)
    raw_email = field(body, "email", str)
    password = field(body, "password", str)
    if not raw_email:
        raise ApiError(ErrorCode.validation_failed, "An email is required")
    if password is not None:
        check_password(rt.config, password)
    encrypted = await rt.passwords.hash(password) if password else None
    async with rt.db.transaction() as conn:
        user = await create_user(
            conn,
            email=normalized_email(raw_email),
            encrypted_password=encrypted,
            user_metadata=field(body, "user_metadata", dict),
            app_metadata=field(body, "app_metadata", dict),
            confirmed=bool(field(body, "email_confirm", bool)),
        )
        return JSONResponse(await user_json(conn, user))


def path_user_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["user_id"])
    except ValueError:
        raise ApiError(ErrorCode.validation_failed, "user id must be a UUID") from None


async def read(request: Request) -> JSONResponse:
    require_service_role(request)
    async with runtime(request).db.transaction() as conn:
        user = await get_user(conn, path_user_id(request))
        if user is None:
            raise ApiError(ErrorCode.user_not_found, "User not found", status=404)
        return JSONResponse(await user_json(conn, user))


async def remove(request: Request) -> JSONResponse:
    require_service_role(request)
    async with runtime(request).db.transaction() as conn:
        if not await delete_user(conn, path_user_id(request)):
            raise ApiError(ErrorCode.user_not_found, "User not found", status=404)
    return JSONResponse({})


# generate_link type -> the kind of code it issues
LINK_TYPES = {
    "signup": "confirmation",
    "magiclink": "magiclink",
    "recovery": "recovery",
    "email_change_current": "email_change_current",
    "email_change_new": "email_change_new",
    "invite": "invite",
}
CREATES_USER = ("signup", "invite")


async def link_user(
    request: Request, link_type: str, email: str, password: str | None, user_metadata: dict | None
) -> RowMapping:
    """The user the link is for: a signup or invite link creates it (an invited one without a password);
    the others need it to exist."""
    rt = runtime(request)
    async with rt.db.transaction() as conn:
        user = await find_by_email(conn, email)
    if link_type not in CREATES_USER:
        if user is None:
            raise ApiError(ErrorCode.user_not_found, "User not found", status=404)
        return user
    if user is not None:
        if user["email_confirmed_at"] is not None:
            raise ApiError(ErrorCode.email_exists)
        return user
    if link_type == "invite":
        password = None
    if password is not None:
        check_password(rt.config, password)
    encrypted = await rt.passwords.hash(password) if password else None
    async with rt.db.transaction() as conn:
        return await create_user(conn, email=email, encrypted_password=encrypted, user_metadata=user_metadata)


async def generate_link(request: Request) -> JSONResponse:
    require_service_role(request)
    rt = runtime(request)
    body = await json_object(request)
    link_type = field(body, "type", str) or ""
    if link_type not in LINK_TYPES:
        raise ApiError(ErrorCode.validation_failed, f"type must be one of {', '.join(LINK_TYPES)}", status=422)
    email = required_email(body, "generate_link")
    # Every field is read before anything is written: a bad one is refused whatever the type and the user.
    raw_new_email, password, user_metadata = (
        field(body, "new_email", str),
        field(body, "password", str),
        field(body, "data", dict),
    )
    new_email = normalized_email(raw_new_email or "") if link_type.startswith("email_change") else None
    kind, redirect_to = LINK_TYPES[link_type], redirect_of(request, body)
    user = await link_user(request, link_type, email, password, user_metadata)
    async with rt.db.transaction() as conn:
        if new_email is not None:
            if await find_by_email(conn, new_email) is not None:
                raise ApiError(ErrorCode.email_exists)
            user = await update_user(conn, user["id"], email_change=new_email)
        if link_type == "invite":
            user = await update_user(conn, user["id"], invited_at=utcnow())
        address = new_email if kind == "email_change_new" else email
        issued = await onetime.issue(conn, user["id"], kind, address, rt.config.mail_token_ttl)
        return JSONResponse(
            {
                **await user_json(conn, user),
                "action_link": rt.mailer.verify_link(kind, issued.token_hash, redirect_to),
                "email_otp": issued.code,
                "hashed_token": issued.token_hash,
                "verification_type": link_type,  # the type asked for, as GoTrue echoes it
                "redirect_to": redirect_to,
            }
        )


routes = [
    Route("/admin/generate_link", generate_link, methods=["POST"]),
    Route("/admin/users", create, methods=["POST"]),
    Route("/admin/users/{user_id}", read, methods=["GET"]),
    Route("/admin/users/{user_id}", remove, methods=["DELETE"]),
]
