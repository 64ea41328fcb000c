"""The courier: delivers the mail requests write to the outbox, after their transaction commits.

A request only writes a row (`notify`), so its answer never waits on SMTP and never depends on
whether the address has an account. The courier claims due rows with a lease (several processes
may run one each), turns each into a message in a transaction of its own, sends it, and deletes
the row; a failed send is tried again later, with the wait doubling, until the give-up time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import RowMapping, delete, or_, select, update

from guestpass.reference.clock import as_utc, utcnow
from guestpass.reference.config import Config
from guestpass.reference.mailer import MailNotDelivered
from guestpass.reference.storage.db import Connection, Database
from guestpass.reference.storage.schema import mail_outbox

log = logging.getLogger("guestpass.reference.courier")

Compose = Callable[[Connection, RowMapping], Awaitable[EmailMessage | None]]
Send = Callable[[EmailMessage], Awaitable[None]]

BATCH = 8
LEASE = timedelta(seconds=60)
MAX_RETRY_WAIT = 300.0
POLL_SECONDS = 1.0  # for rows other processes wrote, and leases of processes that went away


class Courier:
    def __init__(self, db: Database, config: Config, compose: Compose, send: Send) -> None:
        self.db, self.config, self.compose, self.send = db, config, compose, send
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._due.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="guestpass-courier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), timeout=POLL_SECONDS)
            self._due.clear()
            try:
                while await self.deliver_due() == BATCH:
                    pass
            except Exception:
                log.exception("the courier could not read the outbox")

    async def deliver_due(self) -> int:
        """Delivers (or reschedules) up to BATCH due rows; how many it claimed."""
        claimed = await self._claim()
        await asyncio.gather(*(self._deliver(row) for row in claimed))
        return len(claimed)

    async def _claim(self) -> list[RowMapping]:
        now = utcnow()
        free = or_(mail_outbox.c.locked_until.is_(None), mail_outbox.c.locked_until < now)
        due = select(mail_outbox.c.id).where(mail_outbox.c.next_attempt_at <= now, free)
        due = due.order_by(mail_outbox.c.next_attempt_at).limit(BATCH)
        lease = update(mail_outbox).where(mail_outbox.c.id.in_(due), free)
        lease = lease.values(locked_until=now + LEASE, attempts=mail_outbox.c.attempts + 1)
        async with self.db.transaction() as conn:
            return list((await conn.execute(lease.returning(*mail_outbox.c))).mappings().all())

    async def _deliver(self, row: RowMapping) -> None:
        try:
            async with self.db.transaction() as conn:
                message = await self.compose(conn, row)
            if message is not None:
                await self.send(message)
        except MailNotDelivered as error:
            await self._retry_later(row, str(error))
            return
        except Exception as error:
            log.exception("mail %s could not be composed", row["id"])
            await self._retry_later(row, repr(error))
            return
        await self._forget(row["id"])

    async def _retry_later(self, row: RowMapping, error: str) -> None:
        now = utcnow()
        if now - as_utc(row["created_at"]) >= timedelta(seconds=self.config.mail_give_up_seconds):
            log.error("giving up on mail %s after %d attempts: %s", row["id"], row["attempts"], error)
            await self._forget(row["id"])
            return
        wait = min(self.config.mail_retry_seconds * 2 ** (row["attempts"] - 1), MAX_RETRY_WAIT)
        log.warning("mail %s not delivered (attempt %d), next in %.1f s: %s", row["id"], row["attempts"], wait, error)
        async with self.db.transaction() as conn:
            await conn.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id == row["id"])
                .values(next_attempt_at=now + timedelta(seconds=wait), locked_until=None, last_error=error)
            )
        asyncio.get_running_loop().call_later(wait + 0.05, self.wake)  # a moment after it is due

    async def _forget(self, row_id: uuid.UUID) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(delete(mail_outbox).where(mail_outbox.c.id == row_id))
