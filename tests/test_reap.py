"""`guestpass reap`: only idle anonymous users that own nothing go, in batches, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from support import served

from guestpass.reference.clock import utcnow
from guestpass.reference.reap import parse_duration
from guestpass.reference.storage.db import Database
from guestpass.reference.storage.schema import users


def age(database_url: str, user_ids: list[str], days: int) -> None:
    async def run() -> None:
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                await conn.execute(
                    update(users)
                    .where(users.c.id.in_([uuid.UUID(i) for i in user_ids]))
                    .values(last_active_at=utcnow() - timedelta(days=days))
                )
        finally:
            await db.dispose()

    asyncio.run(run())


def reap_and_check(target: dict[str, Any], database_url: str) -> None:
    http = httpx.Client(timeout=15, headers={"Sb-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}"})
    auth, data, service = target["base_url"], target["data_base_url"], target["keys"]["service_role"]

    def anonymous() -> dict[str, Any]:
        return http.post(f"{auth}/signup", json={}).json()

    idle_orphans = [anonymous() for _ in range(3)]
    idle_contributor, recent_orphan = anonymous(), anonymous()
    http.post(
        f"{data}/items",
        json={"body": "keep me"},
        headers={"Authorization": f"Bearer {idle_contributor['access_token']}"},
    )
    permanent = http.post(
        f"{auth}/admin/users",
        headers={"Authorization": f"Bearer {service}"},
        json={"email": f"old-{uuid.uuid4().hex[:8]}@guestpass.test", "password": "old-password"},
    ).json()
    age(database_url, [s["user"]["id"] for s in [*idle_orphans, idle_contributor]] + [permanent["id"]], days=40)

    reaped = subprocess.run(
        [
            sys.executable,
            "-m",
            "guestpass.conformance.cli",
            "reap",
            "--older-than",
            "30d",
            "--batch-size",
            "2",
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert reaped.stdout.startswith("reaped 3 anonymous users"), reaped.stdout

    def exists(user_id: str) -> bool:
        status = http.get(f"{auth}/admin/users/{user_id}", headers={"Authorization": f"Bearer {service}"}).status_code
        assert status in (200, 404)
        return status == 200

    assert not any(exists(s["user"]["id"]) for s in idle_orphans)
    assert exists(idle_contributor["user"]["id"]) and exists(recent_orphan["user"]["id"]) and exists(permanent["id"])
    gone = http.get(f"{auth}/user", headers={"Authorization": f"Bearer {idle_orphans[0]['access_token']}"})
    assert gone.status_code == 403 and gone.json()["error_code"] == "session_not_found"


def test_reap_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reap.db'}"
    with served(tmp_path, "--profile", "test", "--database-url", url) as target:
        reap_and_check(target, url)


def test_reap_on_postgres(tmp_path: Path, postgres_database_url: str) -> None:
    with served(tmp_path, "--profile", "test", "--database-url", postgres_database_url) as target:
        reap_and_check(target, postgres_database_url)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2w", 1209600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "d", "-1d", "1y", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_reap_refuses_a_bad_duration() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "guestpass.conformance.cli", "reap", "--older-than", "soon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2 and "not a duration" in completed.stderr
