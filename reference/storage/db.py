"""The database and its transactions: SQLite (synchronous, on the event loop's thread: `sqlite_sync`) or
PostgreSQL (asyncpg, through the async engine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from guestpass.reference.storage import sqlite_sync
from guestpass.reference.storage.hot import HotPaths
from guestpass.reference.storage.urls import ssl_mode

_ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Accept plain `sqlite:///file.db` / `postgresql://...` URLs and name the async driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def dialect_insert(conn: Connection) -> Any:
    """The INSERT construct with ON CONFLICT support for the connection's database."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def postgres_engine(url: str) -> AsyncEngine:
    url, mode = ssl_mode(async_url(url))
    connect_args = {"ssl": mode} if mode else {}
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=connect_args)


Connection = AsyncConnection | sqlite_sync.SqliteConnection  # a transaction's connection, on either database

_AFTER_COMMIT = "guestpass.after_commit"


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run `callback` when the transaction `conn` belongs to has been committed (never if it rolls back)."""
    callbacks = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


class Database:
    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        self.engine: Engine | AsyncEngine
        if is_sqlite(self.url):
            self.engine = sqlite_sync.sqlite_engine(self.url)
            # one writer at a time: queueing this process's transactions in order beats letting them poll
            # the file lock with growing sleeps (which made the slowest wait seconds under load)
            self._sqlite_writer: asyncio.Lock | None = asyncio.Lock()
        else:
            self.engine = postgres_engine(self.url)
            self._sqlite_writer = None
        self.hot = HotPaths.for_url(self.url, self._turn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One unit of work: committed when the block ends, rolled back if it raises. What was
        registered with `after_commit` runs once the commit has succeeded."""
        async with self._turn(), self._begin() as connection:
            try:
                yield connection
            finally:
                callbacks = connection.info.pop(_AFTER_COMMIT, [])
        for callback in callbacks:
            callback()

    def _begin(self) -> AbstractAsyncContextManager[Connection]:
        if isinstance(self.engine, AsyncEngine):
            return self.engine.begin()
        return sqlite_sync.transaction(self.engine)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        if self._sqlite_writer is None:
            yield
            return
        async with self._sqlite_writer:
            yield

    async def dispose(self) -> None:
        await self.hot.close()
        if isinstance(self.engine, AsyncEngine):
            await self.engine.dispose()
        else:
            self.engine.dispose()
