"""Defects of the mail flows: recovery, sign-in by mail, email change and confirmation (PROTOCOL §7)."""

from __future__ import annotations

from typing import Any

import pytest
from catalogue import AppWrapper, defect, is_request, patch_source, rewrite_responses
from sqlalchemy import select
from starlette.responses import JSONResponse

from guestpass.reference import email_change, mailer, onetime
from guestpass.reference.clock import as_utc, utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import otp, recover, signup, token, user, verify
from guestpass.reference.storage.schema import one_time_tokens
from guestpass.reference.users import find_by_email, set_email

MAIL = ("recovery", "otp", "email-change")


async def _no_op(*args: Any, **kwargs: Any) -> None:
    return None


@defect("recovery", source="account enumeration: /recover answers 404 for unknown addresses")
def recover_reveals_unknown_emails(mp: pytest.MonkeyPatch) -> None:
    original = recover.send_code_to_account_of

    async def send_code_to_account_of(conn: Any, rt: Any, token_type: str, email: str, *args: Any) -> None:
        if await find_by_email(conn, email) is None:
            raise ApiError(ErrorCode.user_not_found, "User not found", status=404)
        await original(conn, rt, token_type, email, *args)

    mp.setattr(recover, "send_code_to_account_of", send_code_to_account_of)


async def _consume_without_deleting(conn: Any, token_hash: str, token_types: Any, *, check_expiry: bool = True) -> Any:
    row = (
        (
            await conn.execute(
                select(one_time_tokens).where(
                    one_time_tokens.c.token_hash == onetime._stored(token_hash),
                    one_time_tokens.c.token_type.in_(list(token_types)),
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None or (check_expiry and as_utc(row["expires_at"]) <= utcnow()):
        raise ApiError(ErrorCode.otp_expired)
    return row


@defect(*MAIL, source="seed 004 §3.4.2: a recovery code that is never cleared works again and again")
def recovery_code_reusable(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(onetime, "consume", _consume_without_deleting)


@defect(*MAIL, source="a one-time code whose expiry is never checked")
def code_expiry_not_checked(mp: pytest.MonkeyPatch) -> None:
    async def consume(conn: Any, token_hash: str, token_types: Any) -> Any:
        row = await _consume_without_deleting(conn, token_hash, token_types, check_expiry=False)
        await conn.execute(one_time_tokens.delete().where(one_time_tokens.c.id == row["id"]))
        return row

    mp.setattr(onetime, "consume", consume)


@defect("recovery", source="seed 004 §3.2.1: the password set after recovery leaves the other sessions alive")
def password_change_keeps_other_sessions(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(user, "end_sessions", _no_op)


@defect("recovery-password-in-verify", source="seed 004 §3.2.1: the password in the recovery verify keeps sessions")
def verify_password_keeps_sessions(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(verify, "end_sessions_of_user", _no_op)


@defect("recovery-password-in-verify", source="the password sent with the recovery verify is ignored")
def verify_password_ignored(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, verify, "redeem", lambda code: code.replace("and encrypted_password is not None:", "and False:"))


@defect("email-change", "email-confirmation", source="seed 004 §3.2.2: PUT /user changes the email at once")
def email_changed_without_confirmation(mp: pytest.MonkeyPatch) -> None:
    async def request_email_change(conn: Any, runtime: Any, user_: Any, new_email: str, redirect_to: str) -> Any:
        return await set_email(conn, user_, new_email)

    mp.setattr(user, "request_email_change", request_email_change)


@defect(
    "email-change", "email-confirmation", source="GoTrue with secure email change off: only the new address confirms"
)
def email_change_single_confirmation(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        email_change,
        "request_email_change",
        lambda code: code.replace('if user["email"] and runtime.config.secure_email_change:', "if False:"),
    )
    mp.setattr(user, "request_email_change", email_change.request_email_change)


@defect("email-change", source="an email change to an address another account has")
def email_change_to_taken_address(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        email_change,
        "request_email_change",
        lambda code: code.replace("if await find_by_email(conn, new_email) is not None:", "if False:"),
    )
    mp.setattr(user, "request_email_change", email_change.request_email_change)


@defect(*MAIL, source="verify signs users in with amr password instead of otp")
def verify_amr_password(mp: pytest.MonkeyPatch) -> None:
    original = verify.signed_in

    async def signed_in(request: Any, body: Any, user_id: Any, method: str) -> Any:
        return await original(request, body, user_id, "password")

    mp.setattr(verify, "signed_in", signed_in)


@defect("otp", source="the merge step forgotten on /verify: sign-in by mail drops the anonymous rows")
def verify_skips_merge(mp: pytest.MonkeyPatch) -> None:
    original = verify.signed_in

    async def signed_in(request: Any, body: Any, user_id: Any, method: str) -> Any:
        return await original(request, {}, user_id, method)

    mp.setattr(verify, "signed_in", signed_in)


@defect("recovery", "otp", source="seed 004 §3.2.3's first draft: the mail link answers JSON, not a redirect")
def verify_link_answers_json(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(verify, "RedirectResponse", lambda url, status_code: JSONResponse({"redirect_to": url}))


@defect("recovery", source="a used mail link answers a JSON error instead of redirecting with it")
def verify_link_errors_as_json(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, verify, "verify_get", lambda code: code.replace("except ApiError as error:", "except KeyError as error:")
    )


@defect("recovery", source="POST /verify knows only token + email, not the link's token_hash")
def verify_ignores_token_hash(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, verify, "token_hash_of", lambda code: code.replace("if token_hash:", "if False:"))


@defect("otp", source="POST /verify without a type falls back to email")
def verify_type_defaults(mp: pytest.MonkeyPatch) -> None:
    original = verify.verify_type
    mp.setattr(verify, "verify_type", lambda value: original(value or "email"))


@defect(*MAIL, source="seed 004 §3.2.1: an invalid code is a 400 Bad Request without otp_expired")
def invalid_code_answers_400(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_responses(
        lambda scope, status, body: (
            (400, {"code": "bad_request", "message": "Invalid token"})
            if is_request(scope, "POST", "/verify") and status == 403
            else None
        )
    )


@defect("recovery", source="a code accepted with any email (looked up by the digits alone)")
def code_not_bound_to_email(mp: pytest.MonkeyPatch) -> None:
    issued: dict[str, str] = {}
    original_issue, original_hash_of = onetime.issue, verify.token_hash_of

    async def issue(conn: Any, user_id: Any, token_type: str, address: str, ttl: int) -> Any:
        code = await original_issue(conn, user_id, token_type, address, ttl)
        issued[code.code] = code.token_hash
        return code

    def token_hash_of(body: dict[str, Any]) -> str:
        return issued.get(str(body.get("token")), "") or original_hash_of(body)

    mp.setattr(onetime, "issue", issue)
    mp.setattr(verify, "token_hash_of", token_hash_of)


@defect("otp", source="POST /otp creates accounts even with create_user false")
def otp_ignores_create_user(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, otp, "otp", lambda code: code.replace('field(body, "create_user", bool) is not False', "True"))


@defect("otp", source="verifying a new address's code leaves it unconfirmed")
def verify_leaves_email_unconfirmed(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, verify, "redeem", lambda code: code.replace('if user["email_confirmed_at"] is None:', "if False:"))


@defect("recovery", source="no per-address send limit: anyone can flood a mailbox through /recover")
def recover_not_rate_limited(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(recover, "claim_send_slot", _no_op)


@defect("recovery", source="GoTrue-style limit counted for known addresses only, which reveals them")
def recover_rate_limit_known_only(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        recover,
        "recover",
        lambda code: code.replace("        await claim_send_slot(conn, rt, email)\n", "").replace(
            "        if user is not None:\n",
            "        if user is not None:\n            await claim_send_slot(conn, rt, email)\n",
        ),
    )


@defect(*MAIL, source="mail that carries only the link, no code to type")
def mail_without_code(mp: pytest.MonkeyPatch) -> None:
    original = mailer.Mailer.compose

    def compose(self: Any, to: str, token_type: str, code: str, link: str) -> Any:
        return original(self, to, token_type, "(open the link)", link)

    mp.setattr(mailer.Mailer, "compose", compose)


@defect("email-confirmation", source="password sign-in before the address is confirmed")
def unconfirmed_can_sign_in(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, token, "password_grant", lambda code: code.replace('if user["email_confirmed_at"] is None:', "if False:")
    )
    mp.setitem(token.GRANTS, "password", token.password_grant)


@defect("email-confirmation", source="signup answers a session although the address is unconfirmed")
def signup_skips_confirmation(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, signup, "signup", lambda code: code.replace("if not rt.config.mailer_autoconfirm:", "if False:"))
