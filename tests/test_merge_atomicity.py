"""A merge that fails half-way moves nothing: the storage itself is made to fail (a trigger refuses to
delete the anonymous user, after its rows were moved) on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from support import served

SQLITE_TRIGGER = """CREATE TRIGGER refuse_anonymous_delete BEFORE DELETE ON users WHEN OLD.is_anonymous
                    BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END"""
POSTGRES_TRIGGER = [
    """CREATE FUNCTION refuse_anonymous_delete() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN RAISE EXCEPTION 'injected storage failure'; END $$""",
    """CREATE TRIGGER refuse_anonymous_delete BEFORE DELETE ON users FOR EACH ROW WHEN (OLD.is_anonymous)
       EXECUTE FUNCTION refuse_anonymous_delete()""",
]


def sqlite_storage(path: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    def run(statement: str) -> None:
        with sqlite3.connect(path) as connection:
            connection.execute(statement)

    return (lambda: run(SQLITE_TRIGGER)), (lambda: run("DROP TRIGGER refuse_anonymous_delete"))


def postgres_storage(url: str) -> tuple[Callable[[], None], Callable[[], None]]:
    def run(*statements: str) -> None:
        async def execute() -> None:
            connection = await asyncpg.connect(url)
            try:
                for statement in statements:
                    await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(execute())

    return (lambda: run(*POSTGRES_TRIGGER)), (lambda: run("DROP TRIGGER refuse_anonymous_delete ON users"))


class Api:
    def __init__(self, target: dict[str, Any]) -> None:
        self.auth = target["base_url"]
        self.data = target["data_base_url"]
        self.service_role = target["keys"]["service_role"]
        self.http = httpx.Client(timeout=15, headers={"Sb-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}"})

    def call(self, method: str, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, url, headers=headers, **kwargs)

    def items(self, token: str) -> list[dict[str, Any]]:
        response = self.call("GET", f"{self.data}/items", token)
        assert response.status_code == 200, response.text
        return response.json()["items"]


def run_failed_merge(target: dict[str, Any], fail: Callable[[], None], heal: Callable[[], None]) -> None:
    api = Api(target)
    email, password = f"dana-{uuid.uuid4().hex[:8]}@guestpass.test", "dana-password-1"
    created = api.call(
        "POST",
        f"{api.auth}/admin/users",
        api.service_role,
        json={"email": email, "password": password, "email_confirm": True},
    )
    assert created.status_code == 200, created.text
    anonymous = api.call("POST", f"{api.auth}/signup", json={"data": {"dog": "Bentley"}}).json()
    for number in range(3):
        assert api.call(
            "POST", f"{api.data}/items", anonymous["access_token"], json={"body": f"row {number}"}
        ).is_success

    fail()
    signed_in = api.call(
        "POST",
        f"{api.auth}/token?grant_type=password",
        json={"email": email, "password": password, "anonymous_refresh_token": anonymous["refresh_token"]},
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["anonymous_merge"]["status"] == "failed"
    assert "dog" not in signed_in.json()["user"]["user_metadata"]
    assert api.items(signed_in.json()["access_token"]) == []
    assert len(api.items(anonymous["access_token"])) == 3
    assert all(item["user_id"] == anonymous["user"]["id"] for item in api.items(anonymous["access_token"]))
    assert api.call("GET", f"{api.auth}/user", anonymous["access_token"]).json()["is_anonymous"] is True

    heal()
    retried = api.call(
        "POST",
        f"{api.auth}/token?grant_type=password",
        json={"email": email, "password": password, "anonymous_refresh_token": anonymous["refresh_token"]},
    )
    assert retried.json()["anonymous_merge"] == {
        "status": "merged",
        "from_user_id": anonymous["user"]["id"],
        "moved": {"items": 3},
    }
    assert len(api.items(retried.json()["access_token"])) == 3


def test_failed_merge_moves_nothing_on_sqlite(tmp_path: Path) -> None:
    database = tmp_path / "atomic.db"
    with served(tmp_path, "--profile", "test", "--database-url", f"sqlite:///{database}") as target:
        run_failed_merge(target, *sqlite_storage(database))


def test_failed_merge_moves_nothing_on_postgres(tmp_path: Path, postgres_database_url: str) -> None:
    with served(tmp_path, "--profile", "test", "--database-url", postgres_database_url) as target:
        run_failed_merge(target, *postgres_storage(postgres_database_url))
