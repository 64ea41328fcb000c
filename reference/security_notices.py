"""Security notices: a mail without a code or link telling the user that their password or email
changed, that an identity was linked or unlinked, or that an MFA factor was added or removed (GoTrue's
account-change notifications, `internal/api/mail.go`). Each has its own switch; each is written to
the outbox in the transaction of the change, so a change that fails mails nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import RowMapping

from guestpass.reference.notify import send_notice
from guestpass.reference.runtime import Runtime
from guestpass.reference.storage.db import Connection


async def _send(
    conn: Connection, runtime: Runtime, user_id: uuid.UUID, notice: str, address: str | None, **details: str
) -> None:
    if address and getattr(runtime.config, f"notify_{notice}"):
        await send_notice(conn, runtime, user_id, notice, address, {"email": address, **details})


async def password_changed(conn: Connection, runtime: Runtime, user: RowMapping) -> None:
    await _send(conn, runtime, user["id"], "password_changed", user["email"])


async def email_changed(conn: Connection, runtime: Runtime, user: RowMapping, old_email: str | None) -> None:
    """To the address the account had before (GoTrue's verify.go: the old address is the one to warn)."""
    if old_email and user["email"] and old_email != user["email"]:
        await _send(conn, runtime, user["id"], "email_changed", old_email, email=user["email"], old_email=old_email)


async def identity_linked(conn: Connection, runtime: Runtime, user: RowMapping, provider: str) -> None:
    """To the user's address after the link, which an anonymous user may have just got from the identity."""
    await _send(conn, runtime, user["id"], "identity_linked", user["email"], provider=provider)


async def identity_unlinked(conn: Connection, runtime: Runtime, user: RowMapping, provider: str) -> None:
    """To the address the user had before the identity went."""
    await _send(conn, runtime, user["id"], "identity_unlinked", user["email"], provider=provider)


async def factor_enrolled(conn: Connection, runtime: Runtime, user: RowMapping, factor_type: str) -> None:
    await _send(conn, runtime, user["id"], "mfa_factor_enrolled", user["email"], factor_type=factor_type)


async def factor_unenrolled(conn: Connection, runtime: Runtime, user: RowMapping, factor_type: str) -> None:
    await _send(conn, runtime, user["id"], "mfa_factor_unenrolled", user["email"], factor_type=factor_type)
