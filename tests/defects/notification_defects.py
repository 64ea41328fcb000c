"""Defects of the security notices: mail that never goes out, goes to the wrong address, goes out before
the change or for a change that was refused, or carries a link that signs in."""

from __future__ import annotations

from typing import Any

import pytest
from catalogue import defect

from guestpass.reference import email_change, notify, onetime, security_notices
from guestpass.reference.flows import external, mfa, user, verify
from guestpass.reference.runtime import runtime
from guestpass.reference.users import get_user

NOTICES = frozenset(
    {
        "password_changed",
        "email_changed",
        "identity_linked",
        "identity_unlinked",
        "mfa_factor_enrolled",
        "mfa_factor_unenrolled",
    }
)


async def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


@defect("security-notifications", source="GoTrue: MAILER_NOTIFICATIONS_PASSWORD_CHANGED_ENABLED left off")
def password_notice_never_sent(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(security_notices, "password_changed", _nothing)


@defect(
    "security-notifications",
    source="the notice is written in its own transaction as the request arrives, so a refused change warns too",
)
def password_notice_before_checks(mp: pytest.MonkeyPatch) -> None:
    original = user.json_object

    async def json_object(request: Any) -> dict[str, Any]:
        body = await original(request)
        if "password" in body:
            rt = runtime(request)
            async with rt.db.transaction() as conn:
                caller = await user.authenticate(request, conn)
                await security_notices.password_changed(conn, rt, caller.user)
        return body

    mp.setattr(user, "json_object", json_object)


@defect("security-notifications", source="the email-changed notice goes to the new address, which the taker controls")
def email_notice_to_new_address(mp: pytest.MonkeyPatch) -> None:
    async def to_new(conn: Any, rt: Any, changed: Any, old_email: str | None) -> None:
        if old_email and changed["email"] != old_email:
            details = {"email": changed["email"], "old_email": old_email}
            await notify.send_notice(conn, rt, changed["id"], "email_changed", changed["email"], details)

    mp.setattr(security_notices, "email_changed", to_new)


@defect(
    "security-notifications", source="the email-changed notice goes out on the first confirmation, before the change"
)
def email_notice_on_first_confirmation(mp: pytest.MonkeyPatch) -> None:
    original = email_change.confirm_email_change

    async def early(conn: Any, rt: Any, changing: Any) -> Any:
        pending = await onetime.pending(conn, changing["id"], (email_change.CURRENT, email_change.NEW))
        if pending and changing["email_change"]:
            details = {"email": changing["email_change"], "old_email": changing["email"]}
            await notify.send_notice(conn, rt, changing["id"], "email_changed", changing["email"], details)
        return await original(conn, rt, changing)

    mp.setattr(verify, "confirm_email_change", early)


@defect("security-notifications", "oauth", source="GoTrue: MAILER_NOTIFICATIONS_IDENTITY_LINKED_ENABLED left off")
def identity_linked_notice_never_sent(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(security_notices, "identity_linked", _nothing)


@defect(
    "security-notifications",
    "oauth",
    source="the link notice goes to the address the user had before the link: an anonymous user's takeover is silent",
)
def identity_linked_notice_to_address_before(mp: pytest.MonkeyPatch) -> None:
    async def linked_user(conn: Any, rt: Any, provider: str, user_id: Any, claims: dict) -> Any:
        before = await get_user(conn, user_id)
        user_id = await external.oauth.linked_user(conn, user_id, provider, claims)
        if before is not None:
            await security_notices.identity_linked(conn, rt, before, provider)
        return user_id

    mp.setattr(external, "linked_user", linked_user)


@defect("security-notifications", "oauth", source="GoTrue: MAILER_NOTIFICATIONS_IDENTITY_UNLINKED_ENABLED left off")
def identity_unlinked_notice_never_sent(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(security_notices, "identity_unlinked", _nothing)


@defect("security-notifications", source="GoTrue: MAILER_NOTIFICATIONS_MFA_FACTOR_ENROLLED_ENABLED left off")
def factor_enrolled_notice_never_sent(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(security_notices, "factor_enrolled", _nothing)


@defect(
    "security-notifications",
    source="the factor notice goes out when its challenge is answered, right or wrong (before the code is checked)",
)
def factor_notice_on_any_answer(mp: pytest.MonkeyPatch) -> None:
    original = mfa.challenged_factor

    async def challenged_factor(request: Any, conn: Any, factor_type: str, challenge_id: Any) -> Any:
        caller, factor = await original(request, conn, factor_type, challenge_id)
        if factor["status"] == mfa.UNVERIFIED:
            await security_notices.factor_enrolled(conn, runtime(request), caller.user, factor["factor_type"])
        return caller, factor

    mp.setattr(mfa, "challenged_factor", challenged_factor)


@defect("security-notifications", source="GoTrue: MAILER_NOTIFICATIONS_MFA_FACTOR_UNENROLLED_ENABLED left off")
def factor_unenrolled_notice_never_sent(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(security_notices, "factor_unenrolled", _nothing)


@defect(
    "security-notifications",
    source="a 'not you? secure your account' link in the notice that is a sign-in link: whoever reads it gets in",
)
def notice_carries_sign_in_link(mp: pytest.MonkeyPatch) -> None:
    original = notify.compose

    async def compose(conn: Any, row: Any, *, config: Any, mailer: Any) -> Any:
        message = await original(conn, row, config=config, mailer=mailer)
        if message is not None and row["kind"] in NOTICES:
            issued = await onetime.issue(conn, row["user_id"], "recovery", row["address"], config.mail_token_ttl)
            link = mailer.verify_link("recovery", issued.token_hash, config.site_url)
            message.set_content(f"{message.get_content()}\nNot you? Secure your account: {link}\n")
        return message

    mp.setattr(notify, "compose", compose)
