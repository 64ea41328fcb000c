"""The Alembic migrations produce exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from guestpass.reference.storage.db import Database
from guestpass.reference.storage.migrate import upgrade
from guestpass.reference.storage.schema import metadata


def schema_drift(database_url: str) -> list:
    async def run() -> list:
        await upgrade(database_url)
        db = Database(database_url)
        try:
            async with db.transaction() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
                )
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_migrations_match_models_on_sqlite(tmp_path: Path) -> None:
    assert schema_drift(f"sqlite:///{tmp_path / 'drift.db'}") == []


def test_migrations_match_models_on_postgres(postgres_database_url: str) -> None:
    assert schema_drift(postgres_database_url) == []


def test_migrating_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    asyncio.run(upgrade(url))
    assert schema_drift(url) == []
