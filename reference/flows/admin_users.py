"""The service-role admin API over existing users: list them a page at a time, update one (address,
password, metadata, confirmation, ban), and list or remove a user's MFA factors and passkeys."""

from __future__ import annotations

import math
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import RowMapping, delete, func, or_, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from guestpass.reference import passkeys
from guestpass.reference.auth import require_service_role
from guestpass.reference.body import field, json_object, normalized_email
from guestpass.reference.clock import utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows.admin import path_user_id
from guestpass.reference.flows.mfa import lower_sessions_to_aal1
from guestpass.reference.passwords import check_password
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import identities, mfa_factors, users
from guestpass.reference.storage.schema import passkeys as passkeys_table
from guestpass.reference.users import (
    AUDIENCE,
    add_email_identity,
    factor_json,
    factors_of,
    find_by_email,
    get_user,
    merged_metadata,
    update_user,
    user_json,
)

DEFAULT_PER_PAGE = 50  # GoTrue's defaultPerPage
MAX_ROLE_LENGTH = 255  # the column's size
MAX_PAGE_NUMBER = 1 << 31  # page times per_page stays within a 64-bit OFFSET
# Go's time.ParseDuration syntax, which GoTrue reads ban_duration with: "24h", "1h30m", "1.5s"
DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", re.ASCII)
DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|[-+]?0", re.ASCII)
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def page_number(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_PAGE_NUMBER:
        message = f"Bad Pagination Parameters: {name} must be an integer from 0 to {MAX_PAGE_NUMBER}"
        raise ApiError(ErrorCode.validation_failed, message)
    return int(raw)


def pagination_headers(request: Request, page: int, per_page: int, total: int) -> dict[str, str]:
    """GoTrue's Link (next, when there is one, and last) and X-Total-Count."""
    last = math.ceil(total / per_page) if per_page else 0
    query = dict(request.query_params)

    def link(number: int, rel: str) -> str:
        return f'<{request.url.path}?{urlencode(sorted({**query, "page": str(number)}.items()))}>; rel="{rel}"'

    links = ([link(page + 1, "next")] if last > page else []) + [link(last, "last")]
    return {"Link": ", ".join(links), "X-Total-Count": str(total)}


async def list_users(request: Request) -> JSONResponse:
    require_service_role(request)
    page = max(page_number(request, "page", 1), 1)
    per_page = page_number(request, "per_page", DEFAULT_PER_PAGE)
    condition = users.c.aud == AUDIENCE
    if text := request.query_params.get("filter", ""):
        pattern = f"%{text}%"
        full_name = users.c.user_metadata["full_name"].as_string()
        condition = condition & or_(users.c.email.like(pattern), full_name.ilike(pattern))
    async with runtime(request).db.transaction() as conn:
        total = (await conn.execute(select(func.count()).select_from(users).where(condition))).scalar_one()
        statement = select(users).where(condition).order_by(users.c.created_at.desc(), users.c.id)
        rows = (await conn.execute(statement.limit(per_page).offset((page - 1) * per_page))).mappings().all()
        body = {"users": [await user_json(conn, row) for row in rows], "aud": AUDIENCE}
    return JSONResponse(body, headers=pagination_headers(request, page, per_page, total))


def ban_end(value: str) -> Any:
    """The end of a ban of Go duration `value` from now; None for "none" (or any zero or negative span)."""
    if value == "none":
        return None
    if not DURATION.fullmatch(value):
        raise ApiError(
            ErrorCode.validation_failed, f'invalid format for ban duration: time: invalid duration "{value}"'
        )
    seconds = sum(float(number) * UNIT_SECONDS[unit] for number, unit in DURATION_PART.findall(value))
    seconds = -seconds if value.startswith("-") else seconds
    try:
        return utcnow() + timedelta(seconds=seconds) if seconds > 0 else None
    except OverflowError:  # Go's durations end near 292 years
        raise ApiError(
            ErrorCode.validation_failed, f'invalid format for ban duration: time: invalid duration "{value}"'
        ) from None


async def loaded_user(conn: Connection, request: Request) -> RowMapping:
    user = await get_user(conn, path_user_id(request))
    if user is None:
        raise ApiError(ErrorCode.user_not_found, "User not found", status=404)
    return user


async def change_email(conn: Connection, user: RowMapping, email: str, confirmed: bool) -> RowMapping:
    """The address, its email identity (created or updated) and the providers it adds; 422 email_exists
    when another user has it."""
    owner = await find_by_email(conn, email)
    if owner is not None and owner["id"] != user["id"]:
        raise ApiError(ErrorCode.email_exists)
    statement = select(identities).where(identities.c.user_id == user["id"], identities.c.provider == "email")
    identity = (await conn.execute(statement)).mappings().first()
    if identity is None:
        await add_email_identity(conn, user["id"], email)
    else:
        data = {**identity["identity_data"], "email": email, "email_verified": confirmed}
        await conn.execute(identities.update().where(identities.c.id == identity["id"]).values(identity_data=data))
    providers = sorted({*user["app_metadata"].get("providers", []), "email"} - {"anonymous"})
    app_metadata = {**user["app_metadata"], "provider": user["app_metadata"].get("provider", "email")}
    if app_metadata["provider"] == "anonymous":
        app_metadata["provider"] = "email"
    changes: dict[str, Any] = {"email": email, "app_metadata": {**app_metadata, "providers": providers}}
    if user["is_anonymous"] and confirmed:
        changes["is_anonymous"] = False
    return await update_user(conn, user["id"], **changes)


async def update(request: Request) -> JSONResponse:
    require_service_role(request)
    rt = runtime(request)
    body = await json_object(request)
    raw_email, password = field(body, "email", str), field(body, "password", str)
    email = normalized_email(raw_email) if raw_email else None
    confirm, role = bool(field(body, "email_confirm", bool)), field(body, "role", str)
    user_metadata, app_metadata = field(body, "user_metadata", dict), field(body, "app_metadata", dict)
    if role is not None and len(role) > MAX_ROLE_LENGTH:
        raise ApiError(ErrorCode.validation_failed, f"A role is at most {MAX_ROLE_LENGTH} characters")
    ban = field(body, "ban_duration", str)
    banned_until = ban_end(ban) if ban else None
    if password is not None:
        check_password(rt.config, password)
    encrypted = await rt.passwords.hash(password) if password else None
    async with rt.db.transaction() as conn:
        user = await loaded_user(conn, request)
        changes: dict[str, Any] = {}
        if role:
            changes["role"] = role
        if confirm and user["email_confirmed_at"] is None:
            changes["email_confirmed_at"] = utcnow()
        if password is not None:
            changes["encrypted_password"] = encrypted
        if ban:
            changes["banned_until"] = banned_until
        if changes:
            user = await update_user(conn, user["id"], **changes)
        if email is not None:
            user = await change_email(conn, user, email, confirm)
        if app_metadata is not None:
            user = await update_user(conn, user["id"], app_metadata=merged_metadata(user["app_metadata"], app_metadata))
        if user_metadata is not None:
            merged = merged_metadata(user["user_metadata"], user_metadata)
            user = await update_user(conn, user["id"], user_metadata=merged)
        return JSONResponse(await user_json(conn, user))


async def list_factors(request: Request) -> JSONResponse:
    require_service_role(request)
    async with runtime(request).db.transaction() as conn:
        user = await loaded_user(conn, request)
        return JSONResponse([factor_json(row) for row in await factors_of(conn, user["id"])])


def path_id(request: Request, name: str, error: ApiError) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise error from None


async def delete_factor(request: Request) -> JSONResponse:
    """The factor goes, and every aal2 session of the user drops back to aal1."""
    require_service_role(request)
    async with runtime(request).db.transaction() as conn:
        user = await loaded_user(conn, request)
        factor_id = path_id(
            request, "factor_id", ApiError(ErrorCode.validation_failed, "factor_id must be an UUID", status=404)
        )
        statement = delete(mfa_factors).where(mfa_factors.c.id == factor_id, mfa_factors.c.user_id == user["id"])
        factor = (await conn.execute(statement.returning(*mfa_factors.c))).mappings().first()
        if factor is None:
            raise ApiError(ErrorCode.mfa_factor_not_found)
        await lower_sessions_to_aal1(conn, user["id"])
        return JSONResponse(factor_json(factor))


async def list_passkeys(request: Request) -> JSONResponse:
    require_service_role(request)
    async with runtime(request).db.transaction() as conn:
        user = await loaded_user(conn, request)
        return JSONResponse([passkeys.passkey_json(row) for row in await passkeys.passkeys_of(conn, user["id"])])


async def delete_passkey(request: Request) -> Response:
    require_service_role(request)
    not_found = ApiError(ErrorCode.validation_failed, "Passkey not found", status=404)  # GoTrue's code for it
    async with runtime(request).db.transaction() as conn:
        user = await loaded_user(conn, request)
        passkey_id = path_id(request, "passkey_id", not_found)
        statement = delete(passkeys_table).where(
            passkeys_table.c.id == passkey_id, passkeys_table.c.user_id == user["id"]
        )
        if (await conn.execute(statement)).rowcount != 1:
            raise not_found
    return Response(status_code=204)


routes = [
    Route("/admin/users", list_users, methods=["GET"]),
    Route("/admin/users/{user_id}", update, methods=["PUT"]),
    Route("/admin/users/{user_id}/factors", list_factors, methods=["GET"]),
    Route("/admin/users/{user_id}/factors/{factor_id}", delete_factor, methods=["DELETE"]),
    Route("/admin/users/{user_id}/passkeys", list_passkeys, methods=["GET"]),
    Route("/admin/users/{user_id}/passkeys/{passkey_id}", delete_passkey, methods=["DELETE"]),
]
