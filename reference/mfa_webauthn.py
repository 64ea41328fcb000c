"""WebAuthn as a second factor: a factor's first challenge creates its credential ("create"), later
ones ask the same credential to sign ("request"). Ceremonies are checked by the `webauthn` package
through the passkey helpers; the challenge bytes live in webauthn_challenges under the MFA
challenge's id. The handlers are in flows/mfa.py."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import RowMapping, select, update
from webauthn.helpers import bytes_to_base64url

from guestpass.reference import passkeys
from guestpass.reference.body import field
from guestpass.reference.clock import utcnow
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import mfa_factors

WEBAUTHN = "webauthn"
AMR_METHOD = "mfa/webauthn"
CEREMONY = "mfa"
CREATE, REQUEST = "create", "request"


def ceremony_for(factor: RowMapping) -> str:
    return REQUEST if factor["webauthn_credential_id"] else CREATE


async def credential_ids_of(conn: Connection, user_id: uuid.UUID) -> list[dict[str, str]]:
    statement = select(mfa_factors.c.webauthn_credential_id).where(
        mfa_factors.c.user_id == user_id, mfa_factors.c.webauthn_credential_id.is_not(None)
    )
    return [{"credential_id": row.webauthn_credential_id} for row in await conn.execute(statement)]


async def open_ceremony(
    conn: Connection, config: Config, user: RowMapping, factor: RowMapping, challenge_id: uuid.UUID
) -> dict[str, Any]:
    """Credential options for the factor's next ceremony, their challenge stored under `challenge_id`."""
    kind = ceremony_for(factor)
    if kind == CREATE:
        existing = await credential_ids_of(conn, user["id"])
        challenge, options = passkeys.registration_options(config, user, existing)  # type: ignore[arg-type]
    else:
        challenge, options = passkeys.authentication_options(config, [factor["webauthn_credential_id"]])
    await passkeys.store_challenge(conn, config, CEREMONY, user["id"], challenge, challenge_id)
    return {"type": kind, "credential_options": {"publicKey": options}}


async def take_challenge(conn: Connection, challenge_id: uuid.UUID, user_id: uuid.UUID) -> bytes:
    """The ceremony's challenge bytes, used up: a second answer, parallel or after a failure, finds none."""
    try:
        return await passkeys.consume_challenge(conn, challenge_id, CEREMONY, user_id)
    except ApiError as error:
        if error.code == ErrorCode.webauthn_challenge_expired:
            raise ApiError(ErrorCode.mfa_challenge_expired) from None
        raise ApiError(
            ErrorCode.mfa_ip_address_mismatch, "The challenge was already answered, create a new one"
        ) from None


def verify_params(body: dict[str, Any]) -> tuple[uuid.UUID, str, dict[str, Any]]:
    params = field(body, WEBAUTHN, dict) or {}
    kind, response = field(params, "type", str), field(params, "credential_response", dict)
    if kind not in (CREATE, REQUEST) or response is None:
        raise ApiError(
            ErrorCode.validation_failed, "webauthn needs a type (create or request) and a credential_response"
        )
    try:
        return uuid.UUID(field(body, "challenge_id", str) or ""), kind, response
    except ValueError:
        raise ApiError(ErrorCode.validation_failed, "challenge_id must be a UUID") from None


def failed(error: ApiError) -> ApiError:
    return ApiError(ErrorCode.mfa_verification_failed, error.message)


async def answering_credential(conn: Connection, factor: RowMapping, response: dict[str, Any]) -> RowMapping:
    """The stored credential the answer must be checked against: the factor's own, whatever it names."""
    if response.get("rawId", response.get("id")) != factor["webauthn_credential_id"]:
        raise ApiError(ErrorCode.mfa_verification_failed, "This credential is not the factor's")
    return factor


async def check_answer(
    conn: Connection, config: Config, factor: RowMapping, kind: str, response: dict[str, Any], challenge: bytes
) -> Any:
    """The verified ceremony; 422 mfa_verification_failed when the answer does not hold."""
    if kind != ceremony_for(factor):
        raise ApiError(ErrorCode.validation_failed, f"This factor's challenge is a {ceremony_for(factor)} ceremony")
    try:
        if kind == CREATE:
            return passkeys.verified_registration(config, response, challenge)
        credential = await answering_credential(conn, factor, response)
        stored = {"public_key": credential["webauthn_public_key"], "sign_count": credential["webauthn_sign_count"]}
        return passkeys.verified_authentication(config, response, challenge, stored)  # type: ignore[arg-type]
    except ApiError as error:
        raise failed(error) from None


async def record_answer(conn: Connection, factor: RowMapping, kind: str, verified: Any) -> None:
    """Stores a created credential, or moves the sign counter on by compare-and-set."""
    if kind == CREATE:
        values = {
            "webauthn_credential_id": bytes_to_base64url(verified.credential_id),
            "webauthn_public_key": verified.credential_public_key,
            "webauthn_sign_count": verified.sign_count,
        }
        await conn.execute(update(mfa_factors).where(mfa_factors.c.id == factor["id"]).values(**values))
        return
    statement = (
        update(mfa_factors)
        .where(mfa_factors.c.id == factor["id"], mfa_factors.c.webauthn_sign_count == factor["webauthn_sign_count"])
        .values(webauthn_sign_count=verified.new_sign_count, updated_at=utcnow())
    )
    if (await conn.execute(statement)).rowcount != 1:
        raise ApiError(ErrorCode.mfa_verification_failed, "The factor was used concurrently")
