"""Defects of guessing and of addresses: mailed codes and passwords tried without limit, per client
or per code, and one mailbox spelled two ways (Unicode or punycode domain, NFC or NFD local part)
that gets two accounts."""

from __future__ import annotations

import types
from typing import Any

import idna
import pytest
from catalogue import defect, patch_source
from starlette.requests import Request
from starlette.responses import JSONResponse

from guestpass.reference import onetime, ratelimit, users
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import token, verify
from guestpass.reference.runtime import runtime

MAILED_CODES = ("otp", "recovery")


async def _no_op(*args: Any, **kwargs: Any) -> None:
    return None


@defect(*MAILED_CODES, source="GoTrue with no RATE_LIMIT_HEADER: /verify takes 2,000 wrong codes from one client")
def verify_guesses_unlimited_per_client(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(verify, "count_client_attempt", _no_op)


@defect(*MAILED_CODES, source="a per-client limit only: from many addresses one code takes any number of guesses")
def code_survives_wrong_guesses(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(onetime, "count_wrong_guess", _no_op)


@defect("recovery", source="a code spent by wrong guesses whose mail link still signs in")
def spent_code_link_still_works(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        verify,
        "attempt",
        lambda code: code.replace(
            "        await onetime.refuse_spent(",
            "        if address is not None:\n            await onetime.refuse_spent(",
        ),
    )


@defect("core", source="the password grant with no per-client limit: a password list from one client")
def password_guesses_unlimited(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(token, "count_client_attempt", _no_op)


@defect("core", source="failed passwords counted after the fact, so guesses sent at once all pass the check")
def password_failures_counted_late(mp: pytest.MonkeyPatch) -> None:
    async def check_only(conn: Any, config: Any, bucket: str, key: str) -> None:
        used = await ratelimit.hits(conn, bucket, key, window_seconds=config.rate_limit_window_seconds)
        if used >= config.verify_attempts_per_window:
            raise ApiError(ErrorCode.over_request_rate_limit)

    original = token.password_grant

    async def password_grant(request: Request) -> JSONResponse:
        try:
            return await original(request)
        except ApiError as error:
            if error.code is ErrorCode.invalid_credentials:
                await count_failure(request)
            raise

    mp.setattr(token, "count_client_attempt", check_only)
    mp.setattr(token, "refund_client_attempt", _no_op)
    mp.setitem(token.GRANTS, "password", password_grant)


async def count_failure(request: Request) -> None:
    rt = runtime(request)
    key = ratelimit.client_key(request, rt.config.rate_limit_header)
    window = rt.config.rate_limit_window_seconds
    async with rt.db.transaction() as conn:
        await ratelimit.consume(conn, token.PASSWORD_BUCKET, key, limit=1 << 30, window_seconds=window)


@defect("core", source="addresses compared as typed: a domain in Unicode and in punycode makes two accounts")
def unicode_domain_not_normalised(mp: pytest.MonkeyPatch) -> None:
    kept = types.SimpleNamespace(encode=lambda domain, **options: domain.encode(), IDNAError=idna.IDNAError)
    mp.setattr(users, "idna", kept)


@defect("core", source="a local part not put in NFC: composed and decomposed accents make two accounts")
def decomposed_local_part_not_normalised(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(users, "unicodedata", types.SimpleNamespace(normalize=lambda form, text: text))
