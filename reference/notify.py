"""What to mail: requests put a code mail in the outbox, at most once per send interval per address;
the courier (`courier.Courier`) composes and sends it after the request has committed."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from sqlalchemy import RowMapping, insert, update

from guestpass.reference import mail_pkce, onetime
from guestpass.reference.clock import utcnow
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.mailer import NOTICES, Mailer
from guestpass.reference.storage.db import Connection, after_commit, dialect_insert
from guestpass.reference.storage.schema import email_sends, mail_outbox
from guestpass.reference.users import create_user, find_by_email, get_user

if TYPE_CHECKING:
    from guestpass.reference.runtime import Runtime


async def claim_send_slot(conn: Connection, runtime: Runtime, address: str) -> None:
    """429 over_email_send_rate_limit if mail went to `address` within the send interval. Counted for
    unknown addresses too, so the limit cannot tell which addresses have accounts."""
    now = utcnow()
    insert_ = dialect_insert(conn)
    statement = insert_(email_sends).values(address_hash=hashlib.sha256(address.encode()).hexdigest(), sent_at=now)
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
    conn: Connection,
    runtime: Runtime,
    user_id: uuid.UUID,
    token_type: str,
    address: str,
    redirect_to: str,
    *,
    flow_state_id: uuid.UUID | None = None,
) -> None:
    """Mails `user_id` a new code of `token_type` at `address` once this transaction commits; its link
    belongs to the PKCE flow `flow_state_id` when one is given (see mail_pkce)."""
    await _enqueue(
        conn,
        runtime,
        kind=token_type,
        address=address,
        user_id=user_id,
        redirect_to=redirect_to,
        flow_state_id=flow_state_id,
    )


async def send_code_to_account_of(
    conn: Connection,
    runtime: Runtime,
    token_type: str,
    address: str,
    redirect_to: str,
    *,
    new_user_metadata: dict[str, Any] | None = None,
    flow_state_id: uuid.UUID | None = None,
) -> None:
    """Mails a code to the account that has `address` when the courier gets to it, and mails nothing
    when there is none, unless `new_user_metadata` says to create one. The request itself never looks
    the account up, so its answer takes the same time either way."""
    await _enqueue(
        conn,
        runtime,
        kind=token_type,
        address=address,
        redirect_to=redirect_to,
        new_user_metadata=new_user_metadata,
        flow_state_id=flow_state_id,
    )


async def send_notice(
    conn: Connection,
    runtime: Runtime,
    user_id: uuid.UUID,
    notice: str,
    address: str,
    details: dict[str, str] | None = None,
) -> None:
    """Mails `user_id` the notice `notice` (see `mailer.NOTICES`), filled in with `details`, once this
    transaction commits."""
    await _enqueue(conn, runtime, kind=notice, address=address, user_id=user_id, redirect_to="", notice_details=details)


async def _enqueue(conn: Connection, runtime: Runtime, **fields: Any) -> None:
    now = utcnow()
    await conn.execute(
        insert(mail_outbox).values(id=uuid.uuid4(), created_at=now, next_attempt_at=now, attempts=0, **fields)
    )
    after_commit(conn, runtime.courier.wake)


async def compose(conn: Connection, row: RowMapping, *, config: Config, mailer: Mailer) -> EmailMessage | None:
    """The message for an outbox row, with a newly issued code; None when there is nothing to send."""
    user = await _recipient(conn, row)
    if user is None:
        return None
    if row["kind"] in NOTICES:
        return mailer.compose_notice(row["address"], row["kind"], row["notice_details"])
    token_type = row["kind"]
    if token_type == "magiclink" and user["email_confirmed_at"] is None:
        token_type = "confirmation"
    elif token_type == "confirmation" and user["email_confirmed_at"] is not None:
        return None
    if await onetime.issued_since(conn, user["id"], token_type, row["code_issued_at"] or row["created_at"]):
        return None  # a newer code (a later request, or generate_link) supersedes this mail
    issued = await onetime.issue(conn, user["id"], token_type, row["address"], config.mail_token_ttl)
    await conn.execute(update(mail_outbox).where(mail_outbox.c.id == row["id"]).values(code_issued_at=issued.issued_at))
    pkce = row["flow_state_id"] is not None and await mail_pkce.bind(conn, row["flow_state_id"], user["id"], token_type)
    link = mailer.verify_link(token_type, mail_pkce.link_token(issued.token_hash, pkce), row["redirect_to"])
    return mailer.compose(row["address"], token_type, issued.code, link)


async def _recipient(conn: Connection, row: RowMapping) -> RowMapping | None:
    if row["user_id"] is not None:
        return await get_user(conn, row["user_id"])
    user = await find_by_email(conn, row["address"])
    if user is None and row["new_user_metadata"] is not None:
        user = await create_user(conn, email=row["address"], user_metadata=row["new_user_metadata"])
    return user
