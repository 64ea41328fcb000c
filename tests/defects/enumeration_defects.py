"""Defects that reveal whether an address has an account: by how long an answer takes, by what a
signup answers, and by what a request answers while the mail server refuses mail."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from catalogue import defect

from guestpass.reference import courier, onetime, passwords
from guestpass.reference import runtime as runtime_module
from guestpass.reference.config import PasswordCost
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import otp, recover, resend, signup
from guestpass.reference.mailer import MailNotDelivered
from guestpass.reference.users import find_by_email


async def mail_inline(conn: Any, rt: Any, user_id: uuid.UUID, token_type: str, address: str, redirect_to: str) -> None:
    """Mailing before answering, as GoTrue does and the reference server once did: the answer waits on
    SMTP, and a refusal there is a 500 that names the mail server."""
    issued = await onetime.issue(conn, user_id, token_type, address, rt.config.mail_token_ttl)
    link = rt.mailer.verify_link(token_type, issued.token_hash, redirect_to)
    try:
        await rt.mailer.send(rt.mailer.compose(address, token_type, issued.code, link))
    except MailNotDelivered as error:
        where = f"{rt.config.smtp_host}:{rt.config.smtp_port}"
        raise ApiError(ErrorCode.unexpected_failure, f"Error sending the email via {where}: {error}") from None


@defect("recovery", source="GoTrue internal/api/recover.go: the recovery mail is sent inside the request")
def recovery_mailed_inside_the_request(mp: pytest.MonkeyPatch) -> None:
    async def send(conn: Any, rt: Any, token_type: str, address: str, redirect_to: str, **_: Any) -> None:
        user = await find_by_email(conn, address)
        if user is not None:
            await mail_inline(conn, rt, user["id"], token_type, address, redirect_to)

    mp.setattr(recover, "send_code_to_account_of", send)


@defect("recovery", source="an outbox that drops a message the SMTP server refused instead of trying again")
def mail_dropped_when_refused(mp: pytest.MonkeyPatch) -> None:
    async def drop(self: courier.Courier, row: Any, error: str) -> None:
        await self._forget(row["id"])

    mp.setattr(courier.Courier, "_retry_later", drop)


@defect("otp", source="GoTrue internal/api/magic_link.go: sign-in mail to a known address is sent inside the request")
def sign_in_code_mailed_inside_the_request(mp: pytest.MonkeyPatch) -> None:
    queue = otp.send_code_to_account_of

    async def send(conn: Any, rt: Any, token_type: str, address: str, redirect_to: str, **options: Any) -> None:
        user = await find_by_email(conn, address)
        if user is None or user["email_confirmed_at"] is None:
            await queue(conn, rt, token_type, address, redirect_to, **options)
        else:
            await mail_inline(conn, rt, user["id"], token_type, address, redirect_to)

    mp.setattr(otp, "send_code_to_account_of", send)


@defect("core", source="GoTrue internal/api/token.go:110: no password hash is checked for an unknown address")
def password_grant_skips_the_hash_for_unknown_addresses(mp: pytest.MonkeyPatch) -> None:
    class HasherWithoutDecoy(passwords.PasswordHasher):
        def __init__(self, cost: PasswordCost) -> None:  # a production-like cost, where the leak shows
            super().__init__(PasswordCost(time_cost=2, memory_cost_kib=16 << 10, parallelism=1))

        async def verify(self, hashed: str | None, password: str) -> bool:
            return hashed is not None and await super().verify(hashed, password)

    mp.setattr(runtime_module, "PasswordHasher", HasherWithoutDecoy)


@defect("email-confirmation", source="signup answers 422 user_already_exists for a registered address")
def signup_reveals_registered_addresses(mp: pytest.MonkeyPatch) -> None:
    async def tentative_user(conn: Any, email: str, encrypted: str, user_metadata: Any, *, keep: bool) -> Any:
        if not keep:
            raise ApiError(ErrorCode.user_already_exists)
        return await original(conn, email, encrypted, user_metadata, keep=keep)

    original = signup.tentative_user
    mp.setattr(signup, "tentative_user", tentative_user)


@defect("email-confirmation", source="GoTrue internal/api/signup.go sanitizeUser: the stand-in has no identities")
def signup_stand_in_without_identities(mp: pytest.MonkeyPatch) -> None:
    async def tentative_user(conn: Any, email: str, encrypted: str, user_metadata: Any, *, keep: bool) -> Any:
        user, answer = await original(conn, email, encrypted, user_metadata, keep=keep)
        return user, answer if keep else {**answer, "identities": []}

    original = signup.tentative_user
    mp.setattr(signup, "tentative_user", tentative_user)


@defect("email-confirmation", source="GoTrue internal/api/signup.go: the confirmation is mailed inside the request")
def signup_confirmation_mailed_inside_the_request(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(signup, "send_code", mail_inline)


@defect("email-confirmation", source="GoTrue internal/api/resend.go: the confirmation is mailed inside the request")
def resend_mailed_inside_the_request(mp: pytest.MonkeyPatch) -> None:
    async def send(conn: Any, rt: Any, token_type: str, address: str, redirect_to: str, **_: Any) -> None:
        user = await find_by_email(conn, address)
        if user is not None and user["email_confirmed_at"] is None:
            await mail_inline(conn, rt, user["id"], token_type, address, redirect_to)

    mp.setattr(resend, "send_code_to_account_of", send)
