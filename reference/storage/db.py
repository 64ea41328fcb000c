"""The async engine and its transactions, for SQLite (aiosqlite, run on the loop) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from guestpass.reference.storage import sqlite_loop
from guestpass.reference.storage.hot import HotPaths
from guestpass.reference.storage.urls import ssl_mode

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Accept plain `sqlite:///file.db` / `postgresql://...` URLs and name the async driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite_connections(engine: AsyncEngine) -> None:
    """Transactions are begun by `Database.transaction` (BEGIN IMMEDIATE), not by the driver."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in sqlite_loop.PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


def dialect_insert(conn: AsyncConnection) -> Any:
    """The INSERT construct with ON CONFLICT support for the connection's database."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def create_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    if is_sqlite(url):
        engine = create_async_engine(url, pool_size=5, max_overflow=10, async_creator=sqlite_loop.connector(url))
        _configure_sqlite_connections(engine)
        return engine
    url, mode = ssl_mode(url)
    connect_args = {"ssl": mode} if mode else {}
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=connect_args)


_AFTER_COMMIT = "guestpass.after_commit"


def after_commit(conn: AsyncConnection, callback: Callable[[], None]) -> None:
    """Run `callback` when the transaction `conn` belongs to has been committed (never if it rolls back)."""
    callbacks = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


class Database:
    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        self.engine = create_engine(self.url)
        # SQLite has one writer at a time: queueing this process's transactions in order beats letting
        # them poll the file lock with growing sleeps (which made the slowest wait seconds under load).
        self._sqlite_writer = asyncio.Lock() if is_sqlite(self.url) else None
        self.hot = HotPaths.for_url(self.url, self._turn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One unit of work: committed when the block ends, rolled back if it raises. What was
        registered with `after_commit` runs once the commit has succeeded. On SQLite it takes the write
        lock up front, so that two transactions never deadlock upgrading a read lock."""
        async with self._turn():
            async with self.engine.begin() as connection:
                if self._sqlite_writer is not None:
                    await sqlite_loop.take_write_lock(connection)
                try:
                    yield connection
                finally:
                    callbacks = connection.info.pop(_AFTER_COMMIT, [])
            for callback in callbacks:
                callback()

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        if self._sqlite_writer is None:
            yield
            return
        async with self._sqlite_writer:
            yield

    async def dispose(self) -> None:
        await self.hot.close()
        await self.engine.dispose()
