"""Defects of MFA under abuse: a password thief changing the credentials of an MFA user from aal1, a
factor planted at aal1 raising a session once the owner has a verified one, and a failure limit read
before it is counted, which parallel guesses pass together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from catalogue import defect, patch_source, replace_function
from starlette.requests import Request
from starlette.responses import JSONResponse

from guestpass.reference import ratelimit, totp
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import mfa, user
from guestpass.reference.storage.db import Connection

# Long enough for every answer of a parallel burst to read the count before any is counted.
CHECK_TO_COUNT_GAP = 0.5

FailureCount = Callable[[Connection, Config, uuid.UUID], Awaitable[None]]


async def nothing(*args: Any, **kwargs: Any) -> None:
    return None


# --- credentials changed at aal1 ---------------------------------------------------------------------


@defect("mfa-totp", source="the reference before review: PUT /user took a new password or email at aal1 (GoTrue: 401)")
def mfa_credentials_changed_at_aal1(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(user, "refuse_credential_change_at_aal1", nothing)


@defect("mfa-totp", source="an aal check that guards the password but forgets the email, which recovers the account")
def mfa_email_changed_at_aal1(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        user,
        "refuse_credential_change_at_aal1",
        lambda code: code.replace('(password or (email and email != caller.user["email"]))', "password"),
    )


# --- a factor planted at aal1 ------------------------------------------------------------------------


@defect("mfa-totp", source="the reference before review, and GoTrue: aal2 asked to enroll a factor, not to verify it")
def mfa_planted_factor_verified_at_aal1(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "refuse_new_factor_at_aal1", nothing)


# --- the failure limit under parallel guesses --------------------------------------------------------


def verify_checked_before_counted(mp: pytest.MonkeyPatch, count_failure: FailureCount) -> None:
    """POST /factors/{id}/verify that reads the failure count with the challenge, compares the code, and
    counts a failure afterwards in another transaction: the reference's old order, whose gap PostgreSQL's
    READ COMMITTED and a second process opened, made as wide here as on a busy server."""
    mp.setattr(mfa, "give_back_attempt", nothing)  # nothing was taken before the comparison

    async def verify(request: Request) -> JSONResponse:
        rt = mfa.runtime(request)
        body = (await mfa.permanent_caller_and_body(request))[1]
        if mfa.WEBAUTHN in body:
            return await mfa.verify_webauthn(request, body)
        challenge_id, code = mfa.verify_params(body)
        async with rt.db.transaction() as conn:
            caller = await mfa.permanent_caller(request, conn)
            factor = await mfa.owned_factor(request, conn, caller)
            window = rt.config.rate_limit_window_seconds
            if await ratelimit.hits(conn, mfa.VERIFY_BUCKET, str(factor["id"]), window_seconds=window) >= (
                rt.config.mfa_verify_attempts_per_window
            ):
                raise ApiError(ErrorCode.over_request_rate_limit)
            await mfa.open_challenge(conn, factor, challenge_id)
        await asyncio.sleep(CHECK_TO_COUNT_GAP)
        step = totp.matching_step(factor["secret"], code)
        async with rt.db.transaction() as conn:
            if step is None:
                await count_failure(conn, rt.config, factor["id"])
            else:
                payload = await mfa.verified_session(conn, rt, caller, factor, challenge_id, step)
        if step is None:
            raise ApiError(ErrorCode.mfa_verification_failed)
        return JSONResponse(payload)

    replace_function(mp, mfa, "verify", verify)


@defect("mfa-totp", source="the reference before review: the limit read, the code compared, then the failure counted")
def mfa_limit_read_before_counted(mp: pytest.MonkeyPatch) -> None:
    """Past the limit a compared wrong code is answered 429 (its count raises and rolls back), but a
    compared right one is accepted: on PostgreSQL, several times the limit were compared."""

    async def count_failure(conn: Connection, config: Config, factor_id: uuid.UUID) -> None:
        limit, window = config.mfa_verify_attempts_per_window, config.rate_limit_window_seconds
        await ratelimit.consume(conn, mfa.VERIFY_BUCKET, str(factor_id), limit=limit, window_seconds=window)

    verify_checked_before_counted(mp, count_failure)


@defect("mfa-totp", source="check-then-act: the failure limit checked on entry, failures counted without a second look")
def mfa_limit_counted_late(mp: pytest.MonkeyPatch) -> None:
    async def count_failure(conn: Connection, config: Config, factor_id: uuid.UUID) -> None:
        window = config.rate_limit_window_seconds
        await ratelimit.consume(conn, mfa.VERIFY_BUCKET, str(factor_id), limit=1 << 30, window_seconds=window)

    verify_checked_before_counted(mp, count_failure)
