"""Reauthentication nonces (GoTrue's reauthenticate.go): GET /reauthenticate mails the signed-in user a
six-digit code, and a password change sends it as `nonce` when the server requires reauthentication
(`update_password_require_reauthentication`) and the session is older than the recent sign-in window
(GoTrue: 24 h). A nonce works once, for its user, until it expires; wrong nonces count against it."""

from __future__ import annotations

from datetime import timedelta

from guestpass.reference import onetime
from guestpass.reference.auth import Caller
from guestpass.reference.clock import as_utc, utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.notify import send_code
from guestpass.reference.runtime import Runtime
from guestpass.reference.storage.db import Connection
from guestpass.reference.users import stored_form

KIND = "reauthentication"
INVALID_NONCE = "Nonce has expired or is invalid"


async def send_nonce(conn: Connection, runtime: Runtime, caller: Caller) -> None:
    await send_code(conn, runtime, caller.user["id"], KIND, caller.user["email"], redirect_to="")


def nonce_required(runtime: Runtime, caller: Caller) -> bool:
    """Whether a password change by this caller needs a nonce: only when the server asks for
    reauthentication and the session began before the recent sign-in window."""
    if not runtime.config.update_password_require_reauthentication:
        return False
    recent = timedelta(seconds=runtime.config.reauthentication_recent_sign_in)
    return utcnow() >= as_utc(caller.session["created_at"]) + recent


def nonce_hash(caller: Caller, nonce: str) -> str:
    return onetime.link_hash(stored_form(caller.user["email"] or ""), nonce)


async def count_wrong_nonce(conn: Connection, caller: Caller, nonce: str) -> None:
    """Committed before the nonce is tried, so that parallel guesses cannot all pass the limit."""
    if caller.user["email"]:
        await onetime.count_wrong_guess(conn, stored_form(caller.user["email"]), nonce_hash(caller, nonce), (KIND,))


async def redeem_nonce(conn: Connection, runtime: Runtime, caller: Caller, nonce: str | None) -> None:
    """400 reauthentication_needed without a nonce, 422 reauthentication_not_valid for a wrong, used,
    expired or another user's one; a good nonce is used up."""
    if not nonce:
        raise ApiError(ErrorCode.reauthentication_needed)
    if not caller.user["email"]:
        raise ApiError(ErrorCode.reauthentication_not_valid, "Reauthentication requires an email or a phone number")
    token_hash = nonce_hash(caller, nonce)
    try:
        await onetime.refuse_spent(conn, token_hash, (KIND,), runtime.config.code_attempts)
        row = await onetime.consume(conn, token_hash, (KIND,))
    except ApiError:
        raise ApiError(ErrorCode.reauthentication_not_valid, INVALID_NONCE) from None
    if row["user_id"] != caller.user["id"]:
        raise ApiError(ErrorCode.reauthentication_not_valid, INVALID_NONCE)
