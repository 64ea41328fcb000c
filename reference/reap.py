"""Reaping: deleting anonymous users that own nothing and have been idle since a cutoff, in small
transactions so that sign-ins keep flowing while it runs."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, select

from guestpass.reference.storage.db import Connection, Database
from guestpass.reference.storage.schema import OWNED_TABLES, users

DURATION = re.compile(r"^(\d+)([smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `12h`, `30d`, `2w`."""
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use a number and one of s, m, h, d, w)")
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])


def _reapable(cutoff: datetime) -> ColumnElement[bool]:
    owns_nothing = [~exists().where(table.c.user_id == users.c.id) for table in OWNED_TABLES]
    return and_(users.c.is_anonymous.is_(True), users.c.last_active_at < cutoff, *owns_nothing)


async def reap_batch(conn: Connection, cutoff: datetime, batch_size: int) -> int:
    """Deletes up to `batch_size` reapable users. The conditions are checked again by the DELETE itself,
    and rows that others hold locked (a sign-in, a contribution) are skipped rather than waited for."""
    batch = select(users.c.id).where(_reapable(cutoff)).limit(batch_size).with_for_update(skip_locked=True)
    result = await conn.execute(delete(users).where(users.c.id.in_(batch.scalar_subquery()), _reapable(cutoff)))
    return result.rowcount


async def reap(db: Database, cutoff: datetime, *, batch_size: int = 1000, pause_seconds: float = 0.0) -> int:
    """Reaps batch after batch, each in its own transaction, until a batch comes back short."""
    total = 0
    while True:
        async with db.transaction() as conn:
            removed = await reap_batch(conn, cutoff, batch_size)
        total += removed
        if removed < batch_size:
            return total
        await asyncio.sleep(pause_seconds)
