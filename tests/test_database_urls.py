"""Database URLs as users write them: libpq's `sslmode` (and SQLAlchemy's asyncpg `ssl`) reach both the
SQLAlchemy engine and the hot paths' own pool, instead of failing as an unknown connect argument."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

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
