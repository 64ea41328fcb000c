"""SQLite connections for the async engine whose statements run on the event loop's own thread.

aiosqlite hands every call (each statement, each fetch, the commit) to a thread of its own and back:
two thread switches and a loop wake-up per call, which cost more processor time than the statements
themselves. A statement on a local SQLite file takes microseconds, and this process's transactions
take turns anyway (`Database._turn`), so they run in place. The one call that can wait long is
`BEGIN IMMEDIATE`, for the write lock another process holds: it is tried in place without waiting, and
only when the lock is taken does it go to the connection's thread to wait there (busy_timeout), so the
loop never waits on another process."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

BUSY_TIMEOUT_MS = 10_000
# every connection to the file: foreign keys enforced, readers beside the one writer, and a writer that waits
# for another process's write lock (in the connection's thread) rather than failing at once
PRAGMAS = ("foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}", "journal_mode=WAL", "synchronous=NORMAL")


class LoopConnection(aiosqlite.Connection):
    _stopping: asyncio.Future[Any] | None = None

    def stop(self) -> asyncio.Future[Any] | None:
        self._stopping = super().stop()
        return self._stopping

    async def _connect(self) -> LoopConnection:
        """As aiosqlite connects, but a connection that cannot open waits for its thread to stop: the
        thread answers on the loop, which must still be open then (`asyncio.run` of a failing migration
        would otherwise close it first, and the thread dies with a traceback)."""
        try:
            await super()._connect()
        except Exception:
            if self._stopping is not None:
                await self._stopping
            raise
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if not waits_for_lock(args):
            return fn(*args, **kwargs)
        try:
            return self._without_waiting(self._connection, fn, *args, **kwargs)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        return await super()._execute(fn, *args, **kwargs)

    @staticmethod
    def _without_waiting(connection: sqlite3.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn` with no busy timeout: SQLITE_BUSY at once when another process holds the lock."""
        connection.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        finally:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


async def take_write_lock(connection: AsyncConnection) -> None:
    """BEGIN IMMEDIATE on the SQLite connection itself (SQLAlchemy's `begin` event would take it through the
    execution machinery of a statement, and have every statement look for event listeners)."""
    raw = await connection.get_raw_connection()
    await raw.driver_connection.execute("BEGIN IMMEDIATE")


def waits_for_lock(args: tuple[Any, ...]) -> bool:
    return bool(args) and isinstance(args[0], str) and args[0].lstrip()[:5].upper() == "BEGIN"


def connector(url: str) -> Callable[[], LoopConnection]:
    """The engine's `async_creator` for a SQLite URL: connections made as SQLAlchemy's aiosqlite
    dialect would make them, usable from the loop's thread as well as their own."""
    cargs, cparams = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    cparams = {**cparams, "check_same_thread": False}

    def connect() -> LoopConnection:
        connection = LoopConnection(lambda: sqlite3.connect(*cargs, **cparams), iter_chunk_size=64)
        connection._thread.daemon = True
        return connection

    return connect
