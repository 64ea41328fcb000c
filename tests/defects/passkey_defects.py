"""Defects of passkeys (PROTOCOL §5): challenges, origin and RP checks, counters, ownership, upgrade."""

from __future__ import annotations

from typing import Any

import pytest
import webauthn.authentication.verify_authentication_response as webauthn_authentication
from catalogue import defect, patch_source, replace_function
from sqlalchemy import update
from webauthn.helpers import base64url_to_bytes, parse_client_data_json

from guestpass.reference import passkeys
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import passkeys as passkey_flows
from guestpass.reference.runtime import runtime
from guestpass.reference.storage.schema import passkeys as passkeys_table


def challenges_read_not_deleted(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkeys,
        "consume_challenge",
        lambda code: code.replace(
            "statement = delete(webauthn_challenges)", "statement = select(webauthn_challenges)"
        ).replace(
            "(await conn.execute(statement.returning(*webauthn_challenges.c)))", "(await conn.execute(statement))"
        ),
    )


@defect("passkeys", source="PROTOCOL §5: the challenge is read but never consumed, so an answer replays")
def passkey_challenge_not_consumed(mp: pytest.MonkeyPatch) -> None:
    challenges_read_not_deleted(mp)


@defect("passkeys", source="a challenge store keyed by id alone: any ceremony's challenge is accepted")
def passkey_challenge_any_ceremony(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkeys,
        "consume_challenge",
        lambda code: "\n".join(
            line for line in code.splitlines() if "c.ceremony ==" not in line and "c.user_id ==" not in line
        ),
    )


@defect("passkeys", source="the challenge's expiry is stored but never compared")
def passkey_challenge_expiry_ignored(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkeys,
        "consume_challenge",
        lambda code: code.replace('if as_utc(row["expires_at"]) <= utcnow():', "if False:"),
    )


@defect("passkeys", "mfa-webauthn", source="Better Auth-style origin check skipped without its header: any origin")
def passkey_origin_not_checked(mp: pytest.MonkeyPatch) -> None:
    original = passkeys.verify_authentication_response

    def verify_authentication_response(**kwargs: Any) -> Any:
        credential = kwargs["credential"]
        client_data = parse_client_data_json(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        return original(**{**kwargs, "expected_origin": client_data.origin})

    mp.setattr(passkeys, "verify_authentication_response", verify_authentication_response)


@defect("passkeys", source="the RP ID hash in the authenticator data is not compared")
def passkey_rp_id_not_checked(mp: pytest.MonkeyPatch) -> None:
    import hashlib

    original = passkeys.verify_authentication_response

    def verify_authentication_response(**kwargs: Any) -> Any:
        data = base64url_to_bytes(kwargs["credential"]["response"]["authenticatorData"])
        for candidate in ("evil.example", kwargs["expected_rp_id"]):
            if hashlib.sha256(candidate.encode()).digest() == data[:32]:
                return original(**{**kwargs, "expected_rp_id": candidate})
        return original(**kwargs)

    mp.setattr(passkeys, "verify_authentication_response", verify_authentication_response)


@defect("passkeys", source="the assertion signature is never verified")
def passkey_signature_not_checked(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(webauthn_authentication, "verify_signature", lambda **kwargs: True)


@defect("passkeys", "mfa-webauthn", source="PROTOCOL §5: the sign counter is ignored, so a cloned key signs in")
def passkey_counter_ignored(mp: pytest.MonkeyPatch) -> None:
    original = passkeys.verify_authentication_response

    def verify_authentication_response(**kwargs: Any) -> Any:
        return original(**{**kwargs, "credential_current_sign_count": 0})

    mp.setattr(passkeys, "verify_authentication_response", verify_authentication_response)
    patch_source(
        mp, passkeys, "record_use", lambda code: code.replace(', passkeys.c.sign_count == passkey["sign_count"]', "")
    )


@defect("passkeys", source="a refused assertion's counter stored anyway: a clone's sign-in lowers the stored counter")
def passkey_counter_lowered_by_clone(mp: pytest.MonkeyPatch) -> None:
    original = passkey_flows.authentication_verify

    async def authentication_verify(request: Any) -> Any:
        try:
            return await original(request)
        except ApiError as error:
            if error.code == ErrorCode.webauthn_verification_failed:
                credential = (await passkey_flows.json_object(request)).get("credential") or {}
                data = base64url_to_bytes(credential["response"]["authenticatorData"])
                async with runtime(request).db.transaction() as conn:
                    passkey = await passkeys.find_by_credential(conn, credential)
                    count = int.from_bytes(data[33:37], "big")
                    statement = update(passkeys_table).where(passkeys_table.c.id == passkey["id"])
                    await conn.execute(statement.values(sign_count=count))
            raise

    replace_function(mp, passkey_flows, "authentication_verify", authentication_verify)


@defect(
    "passkeys", source="GoTrue PasskeyUpdate/PasskeyDelete: 404 validation_failed, not webauthn_credential_not_found"
)
def passkey_not_found_validation_failed(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkey_flows,
        "owned_passkey_id",
        lambda code: code.replace(
            "ApiError(ErrorCode.webauthn_credential_not_found)",
            'ApiError(ErrorCode.validation_failed, "Passkey not found", status=404)',
        ),
    )


@defect("passkeys", source="a duplicate credential reaches the unique index and answers 500")
def passkey_duplicate_500(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkeys,
        "add_passkey",
        lambda code: code.replace(
            "except IntegrityError:\n        raise ApiError(ErrorCode.webauthn_credential_exists) from None",
            "except KeyError:\n        raise",
        ),
    )


@defect("passkeys", source="PROTOCOL §5: rename and delete look the passkey up by id alone (an IDOR)")
def passkey_ownership_not_checked(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkey_flows,
        "owned_passkey_id",
        lambda code: code.replace(', passkeys_table.c.user_id == caller.user["id"]', ""),
    )


@defect("passkeys", source="the per-user passkey limit is never enforced")
def passkey_no_limit(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkey_flows,
        "may_register",
        lambda code: code.replace(">= config.max_passkeys_per_user", ">= 10**9"),
    )


@defect("passkeys", source="passkey sign-in issues its session without the merge step")
def passkey_skips_merge(mp: pytest.MonkeyPatch) -> None:
    original = passkey_flows.signed_in

    async def signed_in(request: Any, body: Any, user_id: Any, method: str) -> Any:
        return await original(request, {}, user_id, method)

    mp.setattr(passkey_flows, "signed_in", signed_in)


@defect("passkeys", source="passkey sign-in recorded as amr password")
def passkey_amr_password(mp: pytest.MonkeyPatch) -> None:
    original = passkey_flows.signed_in

    async def signed_in(request: Any, body: Any, user_id: Any, method: str) -> Any:
        return await original(request, body, user_id, "password")

    mp.setattr(passkey_flows, "signed_in", signed_in)


@defect("passkeys", source="GET /passkeys lists nothing (the owner's list reads the wrong column)")
def passkey_list_empty(mp: pytest.MonkeyPatch) -> None:
    async def passkeys_of(conn: Any, user_id: Any) -> list[Any]:
        return []

    mp.setattr(passkey_flows.passkeys, "passkeys_of", passkeys_of)


@defect("passkey-upgrade", source="PROTOCOL §5 passkey-upgrade: the user stays anonymous after registering")
def passkey_upgrade_leaves_anonymous(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, passkey_flows, "registration_verify", lambda code: code.replace("if caller.is_anonymous:", "if False:")
    )


@defect("passkeys", "mfa-webauthn", source="user verification required by configuration, never demanded of the answer")
def passkey_uv_not_required(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(passkeys, "requires_uv", lambda config: False)


@defect("passkeys", source="passkey upgrade switched off in configuration, yet anonymous users still register")
def passkey_upgrade_switch_ignored(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        passkey_flows,
        "may_register",
        lambda code: code.replace("if caller.is_anonymous and not config.passkey_upgrade_enabled:", "if False:"),
    )
