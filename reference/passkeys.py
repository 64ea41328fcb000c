"""Passkeys: WebAuthn challenges (stored, single use, ceremony-bound, expiring) and credentials,
verified with the `webauthn` package. The handlers live in flows/passkeys.py."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from guestpass.reference.clock import as_utc, iso, utcnow
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import passkeys, webauthn_challenges

REGISTRATION, AUTHENTICATION = "registration", "authentication"
CHALLENGE_BYTES = 32


def origins(config: Config) -> list[str]:
    return [origin.strip() for origin in config.webauthn_origins.split(",") if origin.strip()]


async def store_challenge(
    conn: Connection,
    config: Config,
    ceremony: str,
    user_id: uuid.UUID | None,
    challenge: bytes,
    challenge_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    challenge_id, now = challenge_id or uuid.uuid4(), utcnow()
    expires_at = now + timedelta(seconds=config.webauthn_challenge_ttl)
    await conn.execute(
        insert(webauthn_challenges).values(
            id=challenge_id,
            ceremony=ceremony,
            user_id=user_id,
            challenge=bytes_to_base64url(challenge),
            created_at=now,
            expires_at=expires_at,
        )
    )
    await conn.execute(delete(webauthn_challenges).where(webauthn_challenges.c.expires_at < now - timedelta(hours=1)))
    return {"challenge_id": str(challenge_id), "expires_at": int(expires_at.timestamp())}


async def consume_challenge(conn: Connection, raw_id: Any, ceremony: str, user_id: uuid.UUID | None = None) -> bytes:
    """Deletes the challenge and returns it: 400 webauthn_challenge_not_found if there is none of this
    ceremony (and user), webauthn_challenge_expired if its time has passed."""
    try:
        challenge_id = uuid.UUID(str(raw_id))
    except ValueError:
        raise ApiError(ErrorCode.webauthn_challenge_not_found) from None
    statement = delete(webauthn_challenges).where(
        webauthn_challenges.c.id == challenge_id,
        webauthn_challenges.c.ceremony == ceremony,
        webauthn_challenges.c.user_id == user_id if user_id else webauthn_challenges.c.user_id.is_(None),
    )
    row = (await conn.execute(statement.returning(*webauthn_challenges.c))).mappings().first()
    if row is None:
        raise ApiError(ErrorCode.webauthn_challenge_not_found)
    if as_utc(row["expires_at"]) <= utcnow():
        raise ApiError(ErrorCode.webauthn_challenge_expired)
    return base64url_to_bytes(row["challenge"])


def user_verification(config: Config) -> UserVerificationRequirement:
    return UserVerificationRequirement(config.webauthn_user_verification)


def registration_options(config: Config, user: RowMapping, existing: list[RowMapping]) -> tuple[bytes, dict]:
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    options = generate_registration_options(
        rp_id=config.webauthn_rp_id,
        rp_name=config.webauthn_rp_name,
        user_id=user["id"].bytes,
        user_name=user["email"] or f"anonymous-{user['id']}",
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=user_verification(config)
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(row["credential_id"])) for row in existing
        ],
    )
    return challenge, json.loads(options_to_json(options))


def authentication_options(config: Config, allowed: list[str] | None = None) -> tuple[bytes, dict]:
    """Discoverable (any credential) unless `allowed` names the credential ids that may answer."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    options = generate_authentication_options(
        rp_id=config.webauthn_rp_id,
        challenge=challenge,
        user_verification=user_verification(config),
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(raw)) for raw in allowed or []],
    )
    return challenge, json.loads(options_to_json(options))


def requires_uv(config: Config) -> bool:
    return config.webauthn_user_verification == "required"


@contextmanager
def answer_checked() -> Iterator[None]:
    """A ceremony answer the `webauthn` package refuses, or cannot even read, is 400 webauthn_verification_failed."""
    try:
        yield
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise ApiError(ErrorCode.webauthn_verification_failed, f"WebAuthn verification failed: {error}") from None


def verified_registration(config: Config, credential: dict, challenge: bytes) -> Any:
    with answer_checked():
        return verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.webauthn_rp_id,
            expected_origin=origins(config),
            require_user_verification=requires_uv(config),
        )


def verified_authentication(config: Config, credential: dict, challenge: bytes, passkey: RowMapping) -> Any:
    with answer_checked():
        return verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=config.webauthn_rp_id,
            expected_origin=origins(config),
            credential_public_key=passkey["public_key"],
            credential_current_sign_count=passkey["sign_count"],
            require_user_verification=requires_uv(config),
        )


async def passkeys_of(conn: Connection, user_id: uuid.UUID) -> list[RowMapping]:
    statement = select(passkeys).where(passkeys.c.user_id == user_id).order_by(passkeys.c.created_at)
    return list((await conn.execute(statement)).mappings().all())


async def add_passkey(conn: Connection, user_id: uuid.UUID, verified: Any, friendly_name: str) -> RowMapping:
    passkey_id = uuid.uuid4()
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(passkeys).values(
                    id=passkey_id,
                    user_id=user_id,
                    credential_id=bytes_to_base64url(verified.credential_id),
                    public_key=verified.credential_public_key,
                    sign_count=verified.sign_count,
                    aaguid=str(verified.aaguid),
                    backed_up=bool(verified.credential_backed_up),
                    friendly_name=friendly_name,
                    created_at=utcnow(),
                    last_used_at=None,
                )
            )
    except IntegrityError:
        raise ApiError(ErrorCode.webauthn_credential_exists) from None
    return (await conn.execute(select(passkeys).where(passkeys.c.id == passkey_id))).mappings().one()


async def find_by_credential(conn: Connection, credential: dict) -> RowMapping:
    raw_id = credential.get("rawId") or credential.get("id")
    statement = select(passkeys).where(passkeys.c.credential_id == str(raw_id))
    found = (await conn.execute(statement)).mappings().first()
    if found is None:
        raise ApiError(ErrorCode.webauthn_verification_failed, "No passkey is registered with this credential")
    return found


async def record_use(conn: Connection, passkey: RowMapping, new_sign_count: int) -> None:
    """Compare-and-set on the counter: of two uses racing with one counter value, one wins."""
    statement = (
        update(passkeys)
        .where(passkeys.c.id == passkey["id"], passkeys.c.sign_count == passkey["sign_count"])
        .values(sign_count=new_sign_count, last_used_at=utcnow())
    )
    if (await conn.execute(statement)).rowcount != 1:
        raise ApiError(ErrorCode.webauthn_verification_failed, "The passkey was used concurrently")


def passkey_json(row: RowMapping) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "friendly_name": row["friendly_name"],
        "created_at": iso(row["created_at"]),
        "last_used_at": iso(row["last_used_at"]),
    }
