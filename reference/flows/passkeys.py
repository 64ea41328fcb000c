"""/passkeys: WebAuthn first-factor passkeys (PROTOCOL §5). Registration needs a session (and aal2
when the user has a verified MFA factor); an anonymous user who registers one becomes permanent
with the same id when passkey upgrade is on. Sign-in is discoverable and goes through the shared
sign-in completion, merge step included."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from guestpass.reference import captcha, passkeys
from guestpass.reference.auth import Caller, authenticate, refuse_anonymous
from guestpass.reference.body import field, json_object
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.signin import merge_token, signed_in
from guestpass.reference.storage.schema import mfa_factors
from guestpass.reference.storage.schema import passkeys as passkeys_table
from guestpass.reference.users import update_user

MAX_NAME_LENGTH = 255


def require_enabled(request: Request) -> None:
    if not runtime(request).config.passkeys_enabled:
        raise ApiError(ErrorCode.passkey_disabled)


async def may_register(request: Request, conn: Any, caller: Caller) -> None:
    config = runtime(request).config
    if caller.is_anonymous and not config.passkey_upgrade_enabled:
        refuse_anonymous(caller)
    verified_factor = select(mfa_factors.c.id).where(
        mfa_factors.c.user_id == caller.user["id"], mfa_factors.c.status == "verified"
    )
    if caller.session["aal"] != "aal2" and (await conn.execute(verified_factor)).first() is not None:
        raise ApiError(ErrorCode.insufficient_aal, "AAL2 required to register a passkey")
    if len(await passkeys.passkeys_of(conn, caller.user["id"])) >= config.max_passkeys_per_user:
        raise ApiError(ErrorCode.too_many_passkeys)


def credential_of(body: dict[str, Any]) -> dict[str, Any]:
    credential = field(body, "credential", dict)
    if credential is None:
        raise ApiError(ErrorCode.validation_failed, "A credential is required")
    return credential


def friendly_name_of(body: dict[str, Any], default: str) -> str:
    name = (field(body, "friendly_name", str) or default).strip()
    if not name or len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise ApiError(ErrorCode.validation_failed, f"friendly_name must be 1 to {MAX_NAME_LENGTH} characters")
    return name


async def registration_options(request: Request) -> JSONResponse:
    require_enabled(request)
    rt = runtime(request)
    async with rt.db.transaction() as conn:
        caller = await authenticate(request, conn)
        await may_register(request, conn, caller)
        challenge, options = passkeys.registration_options(
            rt.config, caller.user, await passkeys.passkeys_of(conn, caller.user["id"])
        )
        stored = await passkeys.store_challenge(conn, rt.config, passkeys.REGISTRATION, caller.user["id"], challenge)
    return JSONResponse({**stored, "options": options})


async def registration_verify(request: Request) -> JSONResponse:
    require_enabled(request)
    rt = runtime(request)
    body = await json_object(request)
    credential = credential_of(body)
    async with rt.db.transaction() as conn:
        caller = await authenticate(request, conn)
        await may_register(request, conn, caller)
        challenge = await passkeys.consume_challenge(
            conn, body.get("challenge_id"), passkeys.REGISTRATION, caller.user["id"]
        )
        verified = passkeys.verified_registration(rt.config, credential, challenge)
        passkey = await passkeys.add_passkey(conn, caller.user["id"], verified, friendly_name_of(body, "Passkey"))
        if caller.is_anonymous:
            await update_user(conn, caller.user["id"], is_anonymous=False)
    return JSONResponse(passkeys.passkey_json(passkey))


async def authentication_options(request: Request) -> JSONResponse:
    require_enabled(request)
    await captcha.require_captcha(request)
    rt = runtime(request)
    challenge, options = passkeys.authentication_options(rt.config)
    async with rt.db.transaction() as conn:
        stored = await passkeys.store_challenge(conn, rt.config, passkeys.AUTHENTICATION, None, challenge)
    return JSONResponse({**stored, "options": options})


async def authentication_verify(request: Request) -> JSONResponse:
    require_enabled(request)
    rt = runtime(request)
    body = await json_object(request)
    credential = credential_of(body)
    merge_token(body)
    async with rt.db.transaction() as conn:
        challenge = await passkeys.consume_challenge(conn, body.get("challenge_id"), passkeys.AUTHENTICATION)
        passkey = await passkeys.find_by_credential(conn, credential)
        verified = passkeys.verified_authentication(rt.config, credential, challenge, passkey)
        await passkeys.record_use(conn, passkey, verified.new_sign_count)
    return JSONResponse(await signed_in(request, body, passkey["user_id"], "passkey"))


async def owned_passkey_id(request: Request, conn: Any, caller: Caller) -> uuid.UUID:
    try:
        passkey_id = uuid.UUID(request.path_params["passkey_id"])
    except ValueError:
        raise ApiError(ErrorCode.webauthn_credential_not_found) from None
    statement = select(passkeys_table.c.id).where(
        passkeys_table.c.id == passkey_id, passkeys_table.c.user_id == caller.user["id"]
    )
    if (await conn.execute(statement)).first() is None:
        raise ApiError(ErrorCode.webauthn_credential_not_found)
    return passkey_id


async def list_passkeys(request: Request) -> JSONResponse:
    require_enabled(request)
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        return JSONResponse([passkeys.passkey_json(row) for row in await passkeys.passkeys_of(conn, caller.user["id"])])


async def rename_passkey(request: Request) -> JSONResponse:
    require_enabled(request)
    body = await json_object(request)
    name = friendly_name_of(body, "")
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        passkey_id = await owned_passkey_id(request, conn, caller)
        await conn.execute(update(passkeys_table).where(passkeys_table.c.id == passkey_id).values(friendly_name=name))
        row = (await conn.execute(select(passkeys_table).where(passkeys_table.c.id == passkey_id))).mappings().one()
        return JSONResponse(passkeys.passkey_json(row))


async def delete_passkey(request: Request) -> Response:
    require_enabled(request)
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        passkey_id = await owned_passkey_id(request, conn, caller)
        await conn.execute(delete(passkeys_table).where(passkeys_table.c.id == passkey_id))
    return Response(status_code=204)


routes = [
    Route("/passkeys/registration/options", registration_options, methods=["POST"]),
    Route("/passkeys/registration/verify", registration_verify, methods=["POST"]),
    Route("/passkeys/authentication/options", authentication_options, methods=["POST"]),
    Route("/passkeys/authentication/verify", authentication_verify, methods=["POST"]),
    Route("/passkeys", list_passkeys, methods=["GET"]),
    Route("/passkeys/{passkey_id}", rename_passkey, methods=["PATCH"]),
    Route("/passkeys/{passkey_id}", delete_passkey, methods=["DELETE"]),
]
