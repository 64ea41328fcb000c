"""The service-role admin API the suite uses for setup: POST /admin/users, GET /admin/users/{id}."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guestpass.reference.auth import require_service_role
from guestpass.reference.body import field, json_object, normalized_email
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.passwords import check_password
from guestpass.reference.runtime import runtime
from guestpass.reference.users import create_user, delete_user, get_user, user_json


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


routes = [
    Route("/admin/users", create, methods=["POST"]),
    Route("/admin/users/{user_id}", read, methods=["GET"]),
    Route("/admin/users/{user_id}", remove, methods=["DELETE"]),
]
