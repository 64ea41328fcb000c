"""Mailing a one-time code to an address, at most once per send interval per address."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from guestpass.reference import onetime
from guestpass.reference.clock import utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.runtime import Runtime
from guestpass.reference.storage.db import dialect_insert
from guestpass.reference.storage.schema import email_sends


async def claim_send_slot(conn: AsyncConnection, runtime: Runtime, address: str) -> None:
    """429 over_email_send_rate_limit if mail went to `address` within the send interval. Counted for
    unknown addresses too, so the limit cannot tell which addresses have accounts."""
    now = utcnow()
    insert = dialect_insert(conn)
    statement = insert(email_sends).values(address_hash=hashlib.sha256(address.encode()).hexdigest(), sent_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["address_hash"],
        set_={"sent_at": now},
        where=email_sends.c.sent_at <= now - timedelta(seconds=runtime.config.mail_send_interval),
    ).returning(email_sends.c.address_hash)
    if (await conn.execute(statement)).first() is None:
        interval = runtime.config.mail_send_interval
        raise ApiError(
            ErrorCode.over_email_send_rate_limit,
            f"For security purposes, you can only request this after {interval} seconds.",
        )


async def send_code(
    conn: AsyncConnection, runtime: Runtime, user_id: uuid.UUID, token_type: str, address: str, redirect_to: str
) -> None:
    """Issues a code of `token_type` and mails it with its link; a failed send rolls the code back."""
    issued = await onetime.issue(conn, user_id, token_type, address, runtime.config.mail_token_ttl)
    link = runtime.mailer.verify_link(token_type, issued.token_hash, redirect_to)
    await runtime.mailer.send(runtime.mailer.compose(address, token_type, issued.code, link))
