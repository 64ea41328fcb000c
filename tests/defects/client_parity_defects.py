"""Defects of what the official clients call besides sign-in: POST /resend, GET /reauthenticate and the
password-change nonce, the id_token and web3 grants, the email identity's email_verified flag, and
idle keep-alive connections."""

from __future__ import annotations

import types
from typing import Any

import jwt
import pytest
from catalogue import AppWrapper, defect, patch_source, rewrite_responses
from sqlalchemy import RowMapping, select
from starlette.types import Scope

from guestpass.reference import notify, onetime, reauthentication, server, users
from guestpass.reference.flows import reauthenticate, resend, token, user, verify
from guestpass.reference.storage.schema import one_time_tokens

# --- resend ------------------------------------------------------------------------------------------


@defect("email-confirmation", source="a resend endpoint that answers 200 and forgets to send")
def resend_sends_nothing(mp: pytest.MonkeyPatch) -> None:
    async def send_code_to_account_of(*args: Any, **kwargs: Any) -> None:
        return None

    mp.setattr(resend, "send_code_to_account_of", send_code_to_account_of)


@defect("email-confirmation", source="resend skips the per-address send interval (mail bombing, GoTrue #1236)")
def resend_ignores_send_interval(mp: pytest.MonkeyPatch) -> None:
    async def claim_send_slot(*args: Any, **kwargs: Any) -> None:
        return None

    mp.setattr(resend, "claim_send_slot", claim_send_slot)


@defect("email-confirmation", source="resend mails a confirmation to an address that is already confirmed")
def resend_mails_confirmed(mp: pytest.MonkeyPatch) -> None:
    confirmed_check = (
        '    elif token_type == "confirmation" and user["email_confirmed_at"] is not None:\n        return None\n'
    )
    patch_source(mp, notify, "compose", lambda source: source.replace(confirmed_check, ""))


@defect("email-confirmation", source="resend answers an unknown type as if it were signup")
def resend_any_type(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        resend,
        "resend_address",
        lambda source: source.replace("if kind not in EMAIL_TYPES + PHONE_TYPES:", "if kind is None:"),
    )


@defect("email-change", "email-confirmation", source="resend of an email change answers 200 and sends nothing")
def resend_email_change_not_sent(mp: pytest.MonkeyPatch) -> None:
    async def request_email_change(conn: Any, runtime: Any, user_row: Any, new_email: str, redirect_to: str) -> Any:
        return user_row

    mp.setattr(resend, "request_email_change", request_email_change)


@defect(
    "email-change",
    "email-confirmation",
    source="resend of an email change mails the current address whether or not a change waits",
)
def resend_email_change_without_pending(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(resend, "send_code", notify.send_code, raising=False)
    patch_source(
        mp,
        resend,
        "resend",
        lambda source: source.replace(
            'elif (user := await find_by_email(conn, email)) is not None and user["email_change"]:\n'
            '            await request_email_change(conn, rt, user, user["email_change"], redirect_to)',
            "elif (user := await find_by_email(conn, email)) is not None:\n"
            '            await send_code(conn, rt, user["id"], "email_change_current", email, redirect_to)',
        ),
    )


# --- email_verified ----------------------------------------------------------------------------------


@defect("email-confirmation", source="the email identity says email_verified true before the address confirms")
def identity_verified_at_signup(mp: pytest.MonkeyPatch) -> None:
    original = users.add_email_identity

    async def add_email_identity(conn: Any, user_id: Any, email: str, **options: Any) -> None:
        await original(conn, user_id, email)

    mp.setattr(users, "add_email_identity", add_email_identity)


@defect("email-confirmation", source="confirming the address leaves the identity's email_verified false")
def identity_not_verified_on_confirmation(mp: pytest.MonkeyPatch) -> None:
    async def confirm_email(conn: Any, user_id: Any) -> RowMapping:
        return await users.update_user(conn, user_id, email_confirmed_at=users.utcnow())

    mp.setattr(verify, "confirm_email", confirm_email)


# --- reauthentication --------------------------------------------------------------------------------


@defect("reauthentication", source="GET /reauthenticate answers 200 and mails nothing")
def reauthenticate_sends_nothing(mp: pytest.MonkeyPatch) -> None:
    async def send_nonce(*args: Any) -> None:
        return None

    mp.setattr(reauthenticate, "send_nonce", send_nonce)


@defect("reauthentication", source="GET /reauthenticate answers an anonymous user 200 with nothing to mail to")
def reauthenticate_anonymous_accepted(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        return (200, {}) if scope["path"].endswith("/reauthenticate") and status == 400 else None

    return rewrite_responses(rewrite)


@defect("reauthentication", source="the password change ignores the reauthentication switch")
def nonce_not_required(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(user, "nonce_required", lambda runtime, caller: False)


@defect("reauthentication", source="any nonce is accepted (only its presence is checked)")
def nonce_not_checked(mp: pytest.MonkeyPatch) -> None:
    async def redeem_nonce(conn: Any, runtime: Any, caller: Any, nonce: str | None) -> None:
        if not nonce:
            raise reauthentication.ApiError(reauthentication.ErrorCode.reauthentication_needed)

    mp.setattr(user, "redeem_nonce", redeem_nonce)


async def _read_code(conn: Any, token_hash: str, token_types: Any) -> RowMapping:
    statement = select(one_time_tokens).where(
        one_time_tokens.c.token_hash == onetime._stored(token_hash),
        one_time_tokens.c.token_type.in_(list(token_types)),
    )
    row = (await conn.execute(statement)).mappings().first()
    if row is None:
        raise reauthentication.ApiError(reauthentication.ErrorCode.otp_expired)
    return row


@defect("reauthentication", source="the nonce is read but never used up: it works again and again")
def nonce_reusable(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(reauthentication, "onetime", types.SimpleNamespace(**{**vars(onetime), "consume": _read_code}))


@defect("reauthentication", source="the nonce's expiry is not checked")
def nonce_never_expires(mp: pytest.MonkeyPatch) -> None:
    async def consume(conn: Any, token_hash: str, token_types: Any) -> RowMapping:
        row = await _read_code(conn, token_hash, token_types)
        await conn.execute(one_time_tokens.delete().where(one_time_tokens.c.id == row["id"]))
        return row

    mp.setattr(reauthentication, "onetime", types.SimpleNamespace(**{**vars(onetime), "consume": consume}))


# --- id_token and web3 grants ------------------------------------------------------------------------


@defect("id-token", "merge", source="the id_token grant is missing: unsupported_grant_type, as before")
def id_token_grant_missing(mp: pytest.MonkeyPatch) -> None:
    mp.delitem(token.GRANTS, "id_token")


@defect("id-token", source="the web3 grant is answered as an unsupported grant type")
def web3_grant_missing(mp: pytest.MonkeyPatch) -> None:
    mp.delitem(token.GRANTS, "web3")


@defect("id-token", source="a built-in provider slot that is off is answered as an unknown provider")
def disabled_provider_unknown(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(token, "KNOWN_PROVIDERS", ())


@defect("id-token", source="the id_token grant compares the raw nonce instead of its SHA-256 hash")
def id_token_nonce_not_hashed(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(token, "expected_nonce", lambda raw: raw or "")


@defect("id-token", source="the id_token grant takes the token's own nonce claim as the expected one")
def id_token_nonce_not_checked(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(token, "expected_nonce", lambda raw: "")
    original = token.OidcProvider.verified

    async def verified(self: Any, id_token: str, nonce: str) -> Any:
        claims = jwt.decode(id_token, options={"verify_signature": False})
        return await original(self, id_token, str(claims.get("nonce", "")))

    mp.setattr(token.OidcProvider, "verified", verified)


@defect("id-token", source="PyJWT called without the audience: an ID token of any client signs in")
def id_token_audience_not_checked(mp: pytest.MonkeyPatch) -> None:
    original = jwt.decode

    def decode(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "options": {**kwargs.get("options", {}), "verify_aud": False}})

    mp.setattr(jwt, "decode", decode)


@defect("id-token", source="PyJWT told not to check exp: an expired ID token signs in")
def id_token_expiry_not_checked(mp: pytest.MonkeyPatch) -> None:
    original = jwt.decode

    def decode(*args: Any, **kwargs: Any) -> Any:
        options = {**kwargs.get("options", {}), "verify_exp": False}
        options["require"] = [claim for claim in options.get("require", []) if claim != "exp"]
        return original(*args, **{**kwargs, "options": options})

    mp.setattr(jwt, "decode", decode)


@defect("merge", "id-token", source="the id_token grant starts the session itself and skips the merge step")
def id_token_skips_merge(mp: pytest.MonkeyPatch) -> None:
    original = token.complete_sign_in

    async def complete_sign_in(request: Any, body: dict[str, Any], user_id: Any, method: str) -> Any:
        if request.query_params.get("grant_type") == "id_token":
            body = {key: value for key, value in body.items() if key != "anonymous_refresh_token"}
        return await original(request, body, user_id, method)

    mp.setattr(token, "complete_sign_in", complete_sign_in)


# --- connections -------------------------------------------------------------------------------------


@defect("core", source="uvicorn's default keep-alive timeout (5 s): Node's fetch then fails with 'other side closed'")
def keep_alive_five_seconds(mp: pytest.MonkeyPatch) -> None:
    mp.setitem(server.UVICORN_OPTIONS, "timeout_keep_alive", 5)
