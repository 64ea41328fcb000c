"""The hot paths (reference/storage/hot.py) write exactly the rows, in exactly the stored form, that the
SQLAlchemy paths write for the same operation, and their answers are built from the same values. Each
test runs both paths on one real database and compares what is stored, raw, with the generated parts
(ids, hashes, timestamps) reduced to their form."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import insert
from starlette.requests import Request

from guestpass.reference import ratelimit
from guestpass.reference.app import AUTH_PREFIX, create_app
from guestpass.reference.config import TEST_PROFILE, Config
from guestpass.reference.flows.anonymous import BUCKET
from guestpass.reference.sessions import refresh, session_json, start_session
from guestpass.reference.storage.migrate import upgrade
from guestpass.reference.storage.schema import mfa_factors
from guestpass.reference.tokens import generate_secret
from guestpass.reference.users import create_user, get_user, user_json

AGENT, PEER = "hot-path-test/1", "192.0.2.7"
TABLES = {
    "users": "id",
    "sessions": "user_id",
    "refresh_tokens": "session_id IN (SELECT id FROM sessions WHERE user_id = {user})",
    "rate_limits": "client_key = {key}",
}
FORMS = [
    (re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"), "<uuid>"),
    (re.compile(r"^[0-9a-f]{64}$"), "<sha256>"),
    (re.compile(r"^[0-9a-f]{86}$"), "<sealed>"),
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$"), "<sqlite time>"),
    (re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"), "<rfc3339>"),
    (re.compile(r"^[\w-]{43}$"), "<refresh token>"),
    (re.compile(r"^ey[\w-]+\.[\w-]+\.[\w-]+$"), "<jwt>"),
]
EPOCH = re.compile(r'"timestamp": \d+')


def form(value: Any) -> Any:
    """`value` with what differs between two runs of one operation replaced by a name of its form."""
    if isinstance(value, dict):
        return {key: "<epoch>" if key in ("timestamp", "expires_at") else form(item) for key, item in value.items()}
    if isinstance(value, list):
        return [form(item) for item in value]
    if hasattr(value, "isoformat"):
        return f"<{type(value).__name__} {value.tzinfo}>"
    if hasattr(value, "hex") and not isinstance(value, (str, bytes, float)):
        return "<uuid>"
    if isinstance(value, str):
        value = EPOCH.sub('"timestamp": <epoch>', value)
        return next((name for pattern, name in FORMS if pattern.match(value)), value)
    return value


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hot.db'}"
    else:
        yield request.getfixturevalue("postgres_database_url")


async def stored(url: str, user_id: Any, key: str) -> dict[str, list[dict[str, Any]]]:
    """The rows of `user_id` and of the rate-limit key `key`, as the database holds them."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        connection.row_factory = sqlite3.Row
        literal = {"user": f"'{user_id.hex}'", "key": f"'{key}'"}
        try:
            return {
                table: [
                    dict(row) for row in connection.execute(f"SELECT * FROM {table} WHERE {where.format(**literal)}")
                ]
                for table, where in ((t, w if "{" in w else f"{w} = {{user}}") for t, w in TABLES.items())
            }
        finally:
            connection.close()
    connection = await asyncpg.connect(url)
    literal = {"user": f"'{user_id}'::uuid", "key": f"'{key}'"}
    try:
        found = {}
        for table, where in TABLES.items():
            condition = (where if "{" in where else f"{where} = {{user}}").format(**literal)
            found[table] = [dict(row) for row in await connection.fetch(f"SELECT * FROM {table} WHERE {condition}")]
        return found
    finally:
        await connection.close()


def app_for(url: str) -> Any:
    config = Config(database_url=url, jwt_secret=generate_secret()).replace(**TEST_PROFILE)
    return create_app(config.replace(rate_limit_header="x-test-client"))


async def full_path(app: Any, key: str) -> tuple[Any, dict[str, Any], str]:
    """An anonymous sign-in through SQLAlchemy: the counted hit, the user, its session and refresh token."""
    rt = app.state.runtime
    request = Request({"type": "http", "headers": [(b"user-agent", AGENT.encode())], "client": (PEER, 1), "app": app})
    async with rt.db.transaction() as conn:
        window = rt.config.rate_limit_window_seconds
        await ratelimit.consume(conn, BUCKET, key, limit=10, window_seconds=window)
        user = await create_user(conn, user_metadata={"plan": "é"}, anonymous=True)
        grant = await start_session(conn, user, "anonymous", request)
        return user["id"], await session_json(conn, rt, grant), grant.refresh_token


async def hot_path(client: httpx.AsyncClient, key: str) -> tuple[Any, dict[str, Any], str]:
    answer = await client.post(
        "/signup", json={"data": {"plan": "é"}}, headers={"user-agent": AGENT, "x-test-client": key}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return uuid.UUID(body["user"]["id"]), body, body["refresh_token"]


async def compare_sign_ins_and_refreshes(url: str) -> None:
    await upgrade(url)
    app = app_for(url)
    transport = httpx.ASGITransport(app=app, client=(PEER, 1))
    rt = app.state.runtime
    async with httpx.AsyncClient(transport=transport, base_url=f"http://test{AUTH_PREFIX}") as client:
        try:
            full_user, full_body, full_raw = await full_path(app, "full")
            hot_user, hot_body, hot_raw = await hot_path(client, "hot")
            assert form(hot_body) == form(full_body)
            await assert_same_rows(url, full_user, hot_user)

            before = await stored(url, full_user, "full"), await stored(url, hot_user, "hot")
            async with rt.db.transaction() as conn:
                full_refreshed = await session_json(conn, rt, await refresh(conn, full_raw, 10))
            answer = await client.post("/token?grant_type=refresh_token", json={"refresh_token": hot_raw})
            assert answer.status_code == 200, answer.text
            assert form(answer.json()) == form(full_refreshed)
            await assert_same_rows(url, full_user, hot_user)
            after = await stored(url, full_user, "full"), await stored(url, hot_user, "hot")
            assert changed(before[1], after[1]) == changed(before[0], after[0])
            await compare_callers(client, app)
        finally:
            await rt.db.dispose()


async def assert_same_rows(url: str, full_user: Any, hot_user: Any) -> None:
    full, hot = await stored(url, full_user, "full"), await stored(url, hot_user, "hot")
    for table in TABLES:
        assert len(hot[table]) == len(full[table]) >= 1, table
        hot_rows = [{k: form(v) for k, v in row.items() if k != "client_key"} for row in hot[table]]
        full_rows = [{k: form(v) for k, v in row.items() if k != "client_key"} for row in full[table]]
        assert sorted(map(repr, hot_rows)) == sorted(map(repr, full_rows)), table


async def compare_callers(client: httpx.AsyncClient, app: Any) -> None:
    """GET /user through the hot path answers what the full path makes of the same user, one with an
    identity and a factor included."""
    rt = app.state.runtime
    request = Request({"type": "http", "headers": [], "client": (PEER, 1), "app": app})
    async with rt.db.transaction() as conn:
        user = await create_user(conn, email=f"{uuid.uuid4().hex}@example.com", confirmed=True)
        await conn.execute(insert(mfa_factors).values(**factor_row(user["id"])))
        token = (await session_json(conn, rt, await start_session(conn, user, "password", request)))["access_token"]
        expected = await user_json(conn, await get_user(conn, user["id"]))
    answer = await client.get("/user", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected and expected["identities"] and expected["factors"]


def factor_row(user_id: uuid.UUID) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "friendly_name": "phone",
        "factor_type": "totp",
        "status": "verified",
        "secret": "JBSWY3DPEHPK3PXP",
        "created_at": now,
        "updated_at": now,
    }


def changed(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    """The columns a refresh changed in the user's and the session's rows."""
    return {
        table: {column for column, value in before[table][0].items() if after[table][0][column] != value}
        for table in ("users", "sessions")
    }


def test_hot_and_full_paths_write_the_same_rows(database_url: str) -> None:
    asyncio.run(compare_sign_ins_and_refreshes(database_url))
