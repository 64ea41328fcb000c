"""Database URLs as users write them: libpq's `sslmode` (and SQLAlchemy's asyncpg `ssl`) reach both the
SQLAlchemy engine and the hot paths' own pool, instead of failing as an unknown connect argument."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from guestpass.reference.server import StartupError, migrate
from guestpass.reference.storage.db import Database
from guestpass.reference.storage.urls import ssl_mode

ENCRYPTED = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/auth", ("postgresql://u:p@db:5432/auth", None)),
        ("postgresql://u:p@db/auth?sslmode=require", ("postgresql://u:p@db/auth", "require")),
        ("postgresql+asyncpg://db/auth?ssl=disable&x=1", ("postgresql+asyncpg://db/auth?x=1", "disable")),
    ],
)
def test_the_tls_mode_is_read_from_the_url(url: str, expected: tuple[str, str | None]) -> None:
    assert ssl_mode(url) == expected


def test_two_tls_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="more than one TLS mode"):
        ssl_mode("postgresql://db/auth?sslmode=disable&sslmode=require")


async def connections_encrypted(url: str) -> tuple[bool, bool]:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            engine = (await conn.execute(text(ENCRYPTED))).scalar_one()
        pool = await db.hot._connections()  # type: ignore[attr-defined]
        return engine, await pool.fetchval(ENCRYPTED)
    finally:
        await db.dispose()


def test_sslmode_disable_reaches_both_pools(postgres_database_url: str) -> None:
    assert asyncio.run(connections_encrypted(postgres_database_url + "?sslmode=disable")) == (False, False)


def test_a_sqlite_file_that_cannot_open_stops_the_migration_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection's thread answers on the event loop; if the loop closed first, the thread died
    with a traceback printed under `guestpass serve`'s one-line reason (a race: a few runs in a hundred)."""
    thread_errors: list[type[BaseException] | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_type))
    before = set(threading.enumerate())
    for _ in range(100):
        with pytest.raises(StartupError, match="unable to open database file"):
            migrate(f"sqlite:///{tmp_path}/missing/guestpass.db")
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=5)
    assert thread_errors == []
