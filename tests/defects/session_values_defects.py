"""Defects of the values a session answer carries, of single-use mailed codes redeemed by one form, and of
the caching headers on token answers: each a breakage a proxy in front of a server was seen to get
through an earlier version of the suite."""

from __future__ import annotations

import contextvars
import re
from typing import Any
from urllib.parse import parse_qs

import pytest
from catalogue import AppWrapper, defect, is_request, rewrite_responses
from mail_defects import _consume_without_deleting
from starlette.types import Scope

from guestpass.reference import no_store, onetime, sessions
from guestpass.reference.flows import mfa, verify

MILLISECONDS = 1000


def _is_refresh(scope: Scope) -> bool:
    query = parse_qs(scope.get("query_string", b"").decode())
    return is_request(scope, "POST", "/token") and query.get("grant_type") == ["refresh_token"]


@defect("core", source="expires_at in milliseconds (Date.now()) on refresh answers only: supabase-js never refreshes")
def refresh_expires_at_in_milliseconds(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if _is_refresh(scope) and status == 200 and isinstance(body, dict) and "expires_at" in body:
            return 200, {**body, "expires_at": body["expires_at"] * MILLISECONDS}
        return None

    return rewrite_responses(rewrite)


@defect("core", source="amr timestamps in milliseconds (a JavaScript clock) on every path")
def amr_timestamps_in_milliseconds(mp: pytest.MonkeyPatch) -> None:
    original = sessions.access_token_claims

    def claims(runtime: Any, user: Any, session: Any) -> dict[str, Any]:
        found = original(runtime, user, session)
        found["amr"] = [{**entry, "timestamp": entry["timestamp"] * MILLISECONDS} for entry in found["amr"]]
        return found

    mp.setattr(sessions, "access_token_claims", claims)


@defect("mfa-totp", source="a step-up that adds its method with the sign-in's timestamp instead of its own")
def step_up_stamped_at_sign_in(mp: pytest.MonkeyPatch) -> None:
    original = mfa.raise_to_aal2

    async def raise_to_aal2(conn: Any, session: Any, now: Any, method: str = mfa.TOTP) -> Any:
        first = min(session["amr"], key=lambda entry: entry["timestamp"])
        stale = now.fromtimestamp(first["timestamp"], now.tzinfo)
        return await original(conn, session, stale, method)

    mp.setattr(mfa, "raise_to_aal2", raise_to_aal2)


_BY_TOKEN_HASH = contextvars.ContextVar("by_token_hash", default=False)


def _reusable_by_token_hash(mp: pytest.MonkeyPatch, token_type: str) -> None:
    """POST /verify with a token_hash finds the code of `token_type` without using it up; the code form and
    the link still consume it."""
    token_hash_of, consume = verify.token_hash_of, onetime.consume

    def hash_of(body: dict[str, Any]) -> str:
        _BY_TOKEN_HASH.set(bool(body.get("token_hash")))
        return token_hash_of(body)

    async def consume_unless_by_token_hash(conn: Any, token_hash: str, token_types: Any) -> Any:
        if _BY_TOKEN_HASH.get() and token_type in token_types:
            return await _consume_without_deleting(conn, token_hash, token_types)
        return await consume(conn, token_hash, token_types)

    mp.setattr(verify, "token_hash_of", hash_of)
    mp.setattr(onetime, "consume", consume_unless_by_token_hash)


@defect("recovery", source="recovery codes redeemed by POST /verify with token_hash are never cleared")
def recovery_token_hash_reusable(mp: pytest.MonkeyPatch) -> None:
    _reusable_by_token_hash(mp, "recovery")


@defect("otp", source="magic-link codes redeemed by POST /verify with token_hash are never cleared")
def magiclink_token_hash_reusable(mp: pytest.MonkeyPatch) -> None:
    _reusable_by_token_hash(mp, "magiclink")


@defect("email-confirmation", source="signup confirmations redeemed by POST /verify with token_hash are never cleared")
def confirmation_token_hash_reusable(mp: pytest.MonkeyPatch) -> None:
    _reusable_by_token_hash(mp, "confirmation")


@defect(
    "email-change",
    "email-confirmation",
    source="the new address's email change code redeemed by POST /verify with token_hash is kept",
)
def email_change_new_token_hash_reusable(mp: pytest.MonkeyPatch) -> None:
    _reusable_by_token_hash(mp, "email_change_new")


@defect(
    "email-change",
    "email-confirmation",
    source="the current address's email change code redeemed by token_hash is kept",
)
def email_change_current_token_hash_reusable(mp: pytest.MonkeyPatch) -> None:
    _reusable_by_token_hash(mp, "email_change_current")


@defect("core", source="RFC 6749 §5.1: token answers without Cache-Control: no-store and Pragma: no-cache")
def token_answers_cacheable(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(no_store, "TOKEN_ROUTES", re.compile(r"(?!)"))
