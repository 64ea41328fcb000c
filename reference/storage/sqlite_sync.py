"""SQLite through SQLAlchemy's synchronous engine, run on the event loop's own thread.

A statement on a local SQLite file takes microseconds; the async engine's machinery around it (a greenlet
per call, aiosqlite's cursors, a thread and its wake-ups) costs more processor time than the statement
itself. This process's transactions take turns anyway (`Database._turn`), so they run in place, behind
`SqliteConnection`: the part of `AsyncConnection` the server uses. The one call that can wait long is
`BEGIN IMMEDIATE`, for the write lock another process holds: it is tried in place without waiting, and only
when the lock is taken does it wait, in a thread (busy_timeout), so the loop never waits on another process."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Dialect, Engine, create_engine, event
from sqlalchemy.engine import NestedTransaction, make_url

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
# every connection to the file: foreign keys enforced, readers beside the one writer, and a writer that waits
# for another process's write lock (in a thread) rather than failing at once
PRAGMAS = ("foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}", "journal_mode=WAL", "synchronous=NORMAL")


def sqlite_engine(url: str) -> Engine:
    """An engine whose connections leave transactions to `transaction` (the driver begins none itself)."""
    engine = create_engine(
        make_url(url).set(drivername="sqlite+pysqlite"),
        pool_size=5,
        max_overflow=10,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        for pragma in PRAGMAS:
            dbapi_connection.execute(f"PRAGMA {pragma}")

    return engine


@asynccontextmanager
async def transaction(engine: Engine) -> AsyncIterator[SqliteConnection]:
    """Committed when the block ends, rolled back if it raises; holds the write lock from its start, so that
    two transactions never deadlock upgrading a read lock."""
    with engine.connect() as connection:
        await take_write_lock(connection.connection.driver_connection)
        with connection.begin():
            yield SqliteConnection(connection)


async def take_write_lock(raw: sqlite3.Connection) -> None:
    try:
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
            raise
    waiting = asyncio.ensure_future(asyncio.to_thread(raw.execute, "BEGIN IMMEDIATE"))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:  # once the thread has the lock, it must not stay taken
        await asyncio.wait([waiting])
        if waiting.exception() is None:
            raw.rollback()
        raise


class SqliteConnection:
    """The part of `AsyncConnection` the server uses, over a synchronous connection."""

    def __init__(self, connection: Connection) -> None:
        self.sync_connection = connection

    @property
    def dialect(self) -> Dialect:
        return self.sync_connection.dialect

    @property
    def info(self) -> dict[Any, Any]:
        return self.sync_connection.info

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        return self.sync_connection.execute(statement, parameters)

    async def run_sync(self, work: Callable[..., T], *args: Any) -> T:
        return work(self.sync_connection, *args)

    def begin_nested(self) -> Savepoint:
        return Savepoint(self.sync_connection)


class Savepoint:
    """As `AsyncConnection.begin_nested()` answers: awaited, or used with `async with`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._transaction: NestedTransaction | None = None

    def __await__(self) -> Generator[Any, None, Savepoint]:
        return self._start().__await__()

    async def _start(self) -> Savepoint:
        self._transaction = self._connection.begin_nested()
        return self

    async def __aenter__(self) -> Savepoint:
        return await self._start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._transaction is not None
        self._transaction.__exit__(kind, error, traceback)

    async def commit(self) -> None:
        assert self._transaction is not None
        self._transaction.commit()

    async def rollback(self) -> None:
        assert self._transaction is not None
        self._transaction.rollback()
