"""SQLite transactions run on the event loop's thread, a free write lock is taken there too, but waiting for
a write lock that another process holds never stops the loop, and a cancelled wait leaves the lock free."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from guestpass.reference.storage.db import Database

HELD_SECONDS = 0.5


def another_process(path: Path, *, writing: bool = False) -> sqlite3.Connection:
    """A connection as another process would hold one: its own, never waiting for a lock, to a WAL file
    with a table `t`; `writing`: holding the write lock, with the row 1 not yet committed."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")
    if writing:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
    return other


async def statement_thread(url: str) -> int:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            conn.sync_connection.connection.driver_connection.create_function("thread_id", 0, threading.get_ident)
            return (await conn.execute(text("SELECT thread_id()"))).scalar_one()
    finally:
        await db.dispose()


def test_statements_run_on_the_loops_thread(tmp_path: Path) -> None:
    assert asyncio.run(statement_thread(f"sqlite:///{tmp_path / 'loop.db'}")) == threading.get_ident()


async def write_once(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        await db.dispose()


def test_a_free_write_lock_is_taken_on_the_loops_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    handed_over: list[object] = []
    hand_over = asyncio.to_thread

    async def counted(work: object, *args: object) -> object:
        handed_over.append(args[:1])
        return await hand_over(work, *args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    asyncio.run(write_once(f"sqlite:///{tmp_path / 'free.db'}"))
    assert handed_over == [], f"handed to a thread: {handed_over}"


async def others_can_write_during_a_read(url: str, other: sqlite3.Connection) -> bool:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(text("SELECT x FROM t"))
            try:
                other.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return False
            other.rollback()
            return True
    finally:
        await db.dispose()


def test_a_transaction_holds_the_write_lock_from_its_start(tmp_path: Path) -> None:
    """Two transactions that each read first could otherwise both wait to upgrade to the write lock."""
    path = tmp_path / "immediate.db"
    other = another_process(path)
    assert not asyncio.run(others_can_write_during_a_read(f"sqlite:///{path}", other))


async def ticks_while_locked_out(url: str, other: sqlite3.Connection) -> tuple[int, float]:
    """How often the loop ran a 10 ms timer while a transaction waited for `other` to let go of the write
    lock, and how long that transaction waited."""
    db = Database(url)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> float:
        started = time.monotonic()
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        return time.monotonic() - started

    try:
        ticking = asyncio.create_task(ticker())
        writing = asyncio.create_task(write())
        await asyncio.sleep(HELD_SECONDS)
        other.commit()
        waited = await writing
        ticking.cancel()
        return ticks, waited
    finally:
        await db.dispose()


def test_waiting_for_another_process_lock_leaves_the_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    other = another_process(path, writing=True)
    ticks, waited = asyncio.run(ticks_while_locked_out(f"sqlite:///{path}", other))
    assert waited >= HELD_SECONDS * 0.8, f"the transaction did not wait for the lock: {waited:.3f} s"
    # a loop blocked by the wait runs the timer once at most; a free one about 50 times, fewer on a busy machine
    assert ticks >= 5, f"the loop ran its 10 ms timer {ticks} times in {HELD_SECONDS} s"
    assert [row[0] for row in other.execute("SELECT x FROM t ORDER BY x")] == [1, 2]


async def cancelled_while_locked_out(url: str, other: sqlite3.Connection) -> list[int]:
    """A transaction cancelled while it waits for `other`'s write lock: once `other` lets go, the lock must not
    stay with the cancelled transaction's connection."""
    db = Database(url)

    async def write() -> None:
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))

    try:
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.2)
        writing.cancel()
        other.commit()
        with pytest.raises(asyncio.CancelledError):
            await writing
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        async with db.transaction() as conn:
            await conn.execute(text("INSERT INTO t VALUES (3)"))
        return [row[0] for row in other.execute("SELECT x FROM t ORDER BY x")]
    finally:
        await db.dispose()


def test_a_transaction_cancelled_while_it_waits_for_the_lock_leaves_it_free(tmp_path: Path) -> None:
    path = tmp_path / "cancelled.db"
    other = another_process(path, writing=True)
    assert asyncio.run(cancelled_while_locked_out(f"sqlite:///{path}", other)) == [1, 3]
