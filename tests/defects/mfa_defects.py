"""Defects of multi-factor authentication, TOTP and WebAuthn (PROTOCOL §6, seed 004 §3.2.4-3.2.6)."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import os
import uuid
from typing import Any

import pytest
from catalogue import (
    AppWrapper,
    defect,
    full_refresh_only,
    is_request,
    patch_source,
    replace_function,
    rewrite_responses,
)
from passkey_defects import challenges_read_not_deleted
from sqlalchemy import insert, select, update
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Scope

from guestpass.reference import mfa_webauthn, passkeys, sessions, signin, totp
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import mfa
from guestpass.reference.storage.schema import mfa_challenges, mfa_factors
from guestpass.reference.storage.schema import sessions as sessions_table


async def nothing(*args: Any, **kwargs: Any) -> None:
    return None


# --- verification and the session it raises ----------------------------------------------------------


@defect("mfa-totp", source="seed 004 §3.2.4: MFA verify answers a token that still says aal1")
def mfa_verify_keeps_aal1(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, mfa, "raise_to_aal2", lambda code: code.replace("values(aal=AAL2,", 'values(aal=session["aal"],'))


@defect("mfa-totp", source="seed 004 §3.2.4's sketch: MFA verify starts a new session instead of raising the caller's")
def mfa_verify_starts_new_session(mp: pytest.MonkeyPatch) -> None:
    original = mfa.raise_to_aal2

    async def raise_to_aal2(conn: Any, session: Any, now: Any) -> Any:
        copy_id = uuid.uuid4()
        await conn.execute(insert(sessions_table).values({**session, "id": copy_id}))
        return await original(conn, await sessions.get_session(conn, copy_id), now)

    mp.setattr(mfa, "raise_to_aal2", raise_to_aal2)


@defect("mfa-totp", source="a refresh grant that rebuilds the claims from the first factor alone, dropping aal2")
def mfa_refresh_drops_aal2(mp: pytest.MonkeyPatch) -> None:
    original = sessions.refresh

    async def refresh(conn: Any, raw: str, reuse_interval: int) -> sessions.Grant:
        grant = await original(conn, raw, reuse_interval)
        amr = [entry for entry in grant.session["amr"] if entry["method"] != "totp"]
        return sessions.Grant(grant.user, {**grant.session, "aal": "aal1", "amr": amr}, grant.refresh_token)  # type: ignore[arg-type]

    full_refresh_only(mp)
    mp.setattr(sessions, "refresh", refresh)


@defect("mfa-totp", source="GoTrue InvalidateSessionsWithAALLessThan left out: the other aal1 sessions live on")
def mfa_other_sessions_kept(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "end_weaker_sessions", nothing)


@defect(
    "mfa-totp", source="GoTrue updateMFASessionAndClaims without its refresh-token swap: the aal1 token still works"
)
def mfa_aal1_refresh_token_kept(mp: pytest.MonkeyPatch) -> None:
    async def reissue_refresh_token(conn: Any, session_id: Any) -> str:
        return await sessions.issue_refresh_token(conn, session_id, None)

    mp.setattr(mfa, "reissue_refresh_token", reissue_refresh_token)


@defect("mfa-totp", source="the assurance level kept on the user, not the session: a password alone signs in at aal2")
def mfa_aal_kept_on_user(mp: pytest.MonkeyPatch) -> None:
    original = signin.start_session

    async def start_session(conn: Any, user: Any, method: str, request: Any) -> sessions.Grant:
        grant = await original(conn, user, method, request)
        verified = select(mfa_factors.c.id).where(
            mfa_factors.c.user_id == user["id"], mfa_factors.c.status == "verified"
        )
        if (await conn.execute(verified)).first() is None:
            return grant
        session_id = grant.session["id"]
        await conn.execute(update(sessions_table).where(sessions_table.c.id == session_id).values(aal="aal2"))
        return sessions.Grant(grant.user, await sessions.get_session(conn, session_id), grant.refresh_token)  # type: ignore[arg-type]

    mp.setattr(signin, "start_session", start_session)


# --- challenges and codes ----------------------------------------------------------------------------


@defect("mfa-totp", source="seed 004 §3.2.5: the factor is looked up by id alone, so anyone's factor can be used")
def mfa_factor_of_any_user(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, mfa, "owned_factor", lambda code: code.replace(', mfa_factors.c.user_id == caller.user["id"]', ""))


@defect("mfa-totp", source="seed 004 §3.2.6: the challenge's age is never compared with its lifetime")
def mfa_expired_challenge_accepted(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, mfa, "open_challenge", lambda code: code.replace('if as_utc(found["expires_at"]) <= utcnow():', "if False:")
    )


@defect("mfa-totp", source="seed 004 §3.2.6: verified_at is stored but never checked, so a challenge verifies again")
def mfa_challenge_verified_twice(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, mfa, "open_challenge", lambda code: code.replace('if found["verified_at"] is not None:', "if False:")
    )
    patch_source(
        mp, mfa, "use_challenge_and_step", lambda code: code.replace(", mfa_challenges.c.verified_at.is_(None))", ",)")
    )


@defect("mfa-totp", source="GoTrue verifyTOTPFactor: the challenge is checked before, and marked after, the hook call")
def mfa_verify_check_then_act(mp: pytest.MonkeyPatch) -> None:
    """GoTrue's shape: validateChallenge reads verified_at, the MFA verification hook runs, then another
    transaction marks the challenge without a condition; no code is remembered either."""

    async def use_challenge_and_step(conn: Any, factor: Any, challenge_id: Any, step: int, now: Any) -> None:
        await conn.execute(update(mfa_challenges).where(mfa_challenges.c.id == challenge_id).values(verified_at=now))
        await conn.execute(update(mfa_factors).where(mfa_factors.c.id == factor["id"]).values(status="verified"))

    async def verify(request: Request) -> JSONResponse:
        rt = mfa.runtime(request)
        challenge_id, code = mfa.verify_params((await mfa.permanent_caller_and_body(request))[1])
        async with rt.db.transaction() as conn:
            factor = await mfa.owned_factor(request, conn, await mfa.permanent_caller(request, conn))
            await mfa.open_challenge(conn, factor, challenge_id)
        step = totp.matching_step(factor["secret"], code)
        await asyncio.sleep(0.1)  # the verification hook
        if step is None:
            raise ApiError(ErrorCode.mfa_verification_failed)
        async with rt.db.transaction() as conn:
            caller = await mfa.permanent_caller(request, conn)
            return JSONResponse(await mfa.verified_session(conn, rt, caller, factor, challenge_id, step))

    mp.setattr(mfa, "use_challenge_and_step", use_challenge_and_step)
    replace_function(mp, mfa, "verify", verify)


@defect("mfa-totp", source="RFC 6238 §5.2 ignored (as in GoTrue): an accepted code is accepted again within its window")
def mfa_totp_replay_accepted(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        mfa,
        "use_challenge_and_step",
        lambda code: code.replace('mfa_factors.c.id == factor["id"], fresh_step', 'mfa_factors.c.id == factor["id"]'),
    )


@defect("mfa-totp", source="a code check that only looks at the format: any six digits pass")
def mfa_any_code_accepted(mp: pytest.MonkeyPatch) -> None:
    def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
        return totp.current_step(now) if len(code) == totp.DIGITS and code.isdigit() else None

    mp.setattr(totp, "matching_step", matching_step)


@defect("mfa-totp", source="no limit on failed codes: a million six-digit guesses are allowed")
def mfa_no_brute_force_limit(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "consume", nothing)


@defect("mfa-totp", source="a limiter that counts wrong codes but lets a right one through: the guesser still wins")
def mfa_lock_spares_right_codes(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "refuse_when_locked", nothing)


_client: contextvars.ContextVar[str] = contextvars.ContextVar("client", default="")


@defect(
    "mfa-totp", source="GoTrue: MFA verifications limited per client address (apilimiter FactorVerify), not per factor"
)
def mfa_limit_per_client_only(mp: pytest.MonkeyPatch) -> AppWrapper:
    original_hits, original_consume = mfa.hits, mfa.consume
    mp.setattr(
        mfa, "hits", lambda conn, bucket, key, **limits: original_hits(conn, bucket, key + _client.get(), **limits)
    )
    mp.setattr(
        mfa,
        "consume",
        lambda conn, bucket, key, **limits: original_consume(conn, bucket, key + _client.get(), **limits),
    )

    def wrap(app: Any) -> Any:
        async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                _client.set(dict(scope["headers"]).get(b"sb-forwarded-for", b"").decode())
            await app(scope, receive, send)

        return wrapped

    return wrap


# --- enrollment and unenrollment ---------------------------------------------------------------------


@defect("mfa-totp", source="an 80-bit secret (the 16 characters of early authenticator guides), below RFC 4226's 128")
def mfa_short_secret(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(totp, "new_secret", lambda: base64.b32encode(os.urandom(10)).decode())


@defect("mfa-totp", source="supabase-js and supabase-py prefix qr_code with data:image/svg+xml;utf-8, themselves")
def mfa_qr_code_data_uri(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if not (is_request(scope, "POST", "/factors") and status == 200):
            return None
        svg = base64.b64encode(body["totp"]["qr_code"].encode()).decode()
        return 200, {**body, "totp": {**body["totp"], "qr_code": "data:image/svg+xml;base64," + svg}}

    return rewrite_responses(rewrite)


@defect("mfa-totp", source="GoTrue validateFactors without its name check: the unique index answers with a 500")
def mfa_name_conflict_500(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, mfa, "check_enrollment", lambda code: code.replace('factor["friendly_name"] == friendly_name', "False")
    )
    mp.setattr(mfa, "IntegrityError", type("NeverRaised", (Exception,), {}))


@defect("mfa-totp", source="GoTrue validateFactors without its aal check: a stolen aal1 session adds its own factor")
def mfa_second_factor_at_aal1(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, mfa, "check_enrollment", lambda code: code.replace('and caller.session["aal"] != AAL2', "and False")
    )


@defect("mfa-totp", source="GoTrue UnenrollFactor without its aal check: a stolen aal1 session removes the factor")
def mfa_unenroll_at_aal1(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        mfa,
        "unenroll",
        lambda code: code.replace('VERIFIED and caller.session["aal"] != AAL2', "VERIFIED and False"),
    )


@defect("mfa-totp", source="GoTrue DowngradeSessionsToAAL1 left out: sessions stay aal2 after their factor is gone")
def mfa_unenroll_keeps_aal2(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "lower_sessions_to_aal1", nothing)


@defect("mfa-totp", source="the user object without `factors`: clients never learn that a second factor is due")
def mfa_factors_missing_from_user(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_responses(
        lambda scope, status, body: (
            (200, {k: v for k, v in body.items() if k != "factors"})
            if is_request(scope, "GET", "/user") and status == 200
            else None
        )
    )


# --- bad input ---------------------------------------------------------------------------------------


@defect("mfa-totp", source="an ill-formed factor id in the path escapes as a 500")
def mfa_bad_factor_id_500(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        mfa,
        "owned_factor",
        lambda code: code.replace(
            '    try:\n        factor_id = uuid.UUID(request.path_params["factor_id"])\n'
            "    except ValueError:\n        raise ApiError(ErrorCode.mfa_factor_not_found) from None\n",
            '    factor_id = uuid.UUID(request.path_params["factor_id"])\n',
        ),
    )


@defect("mfa-totp", source="verify reads challenge_id and code without checking them: a missing one is a 500")
def mfa_missing_code_500(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "verify_params", lambda body: (uuid.UUID(body["challenge_id"]), body["code"]))


# --- WebAuthn factors ---------------------------------------------------------------------------------


@defect("mfa-webauthn", source="GoTrue updateMFASessionAndClaims handed the TOTP sign-in method for every factor type")
def mfa_webauthn_amr_totp(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, mfa, "verified_session", lambda code: code.replace("else mfa_webauthn.AMR_METHOD", "else TOTP"))


@defect("mfa-webauthn", source="the answer's credential looked up by its id among every factor, not the challenged one")
def mfa_webauthn_any_factor_credential(mp: pytest.MonkeyPatch) -> None:
    async def answering_credential(conn: Any, factor: Any, response: dict[str, Any]) -> Any:
        named = mfa_factors.c.webauthn_credential_id == response.get("rawId", response.get("id"))
        found = (await conn.execute(select(mfa_factors).where(named))).mappings().first()
        if found is None:
            raise ApiError(ErrorCode.mfa_verification_failed, "Unknown credential")
        return found

    mp.setattr(mfa_webauthn, "answering_credential", answering_credential)


@defect("mfa-webauthn", source="GoTrue verifyWebAuthnFactor: the challenge destroyed after the check, unconditionally")
def mfa_webauthn_challenge_reused(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, mfa, "open_challenge", lambda code: code.replace('if found["verified_at"] is not None:', "if False:")
    )
    patch_source(
        mp, mfa, "use_challenge_and_step", lambda code: code.replace(", mfa_challenges.c.verified_at.is_(None))", ",)")
    )
    challenges_read_not_deleted(mp)


@defect("mfa-webauthn", source="neither the MFA challenge's nor the WebAuthn challenge's expiry is compared")
def mfa_webauthn_expired_challenge_accepted(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, mfa, "open_challenge", lambda code: code.replace('if as_utc(found["expires_at"]) <= utcnow():', "if False:")
    )
    patch_source(
        mp,
        passkeys,
        "consume_challenge",
        lambda code: code.replace('if as_utc(row["expires_at"]) <= utcnow():', "if False:"),
    )


@defect("mfa-webauthn", source="a code checked against whatever factor is named: a WebAuthn factor's empty secret")
def mfa_webauthn_code_accepted(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "require_type", lambda factor, factor_type: None)
