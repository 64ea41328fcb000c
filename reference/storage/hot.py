"""The SQL of the hot paths, each transaction in one trip to the driver: one prepared statement on
PostgreSQL (asyncpg, a pool of its own), one hop to a dedicated connection thread on SQLite. Everything
else goes through SQLAlchemy; these write exactly the rows that its paths write (tests/test_hot_paths.py).

A hot path answers None when its case is not the plain one (a refresh token already rotated, a banned
holder): the caller then takes the full path, which knows every case."""

from __future__ import annotations

import asyncio
import functools
import json
import operator
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import JSON, Boolean, DateTime, Table, Uuid
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from guestpass.reference.storage.schema import identities, mfa_factors, refresh_tokens, sessions, users
from guestpass.reference.storage.sqlite_sync import PRAGMAS
from guestpass.reference.storage.urls import ssl_mode

Row = Mapping[str, Any]
POOL_SIZE = 10


@dataclass(frozen=True)
class AnonymousSignIn:
    """A new anonymous user with its first session and refresh token, if the client's rate-limit
    bucket has room (one hit counted in the window that starts at `window_start`)."""

    bucket: str
    client_key: str
    window_start: int
    window_seconds: int
    limit: int
    user: dict[str, Any]
    session: dict[str, Any]
    refresh_token: dict[str, Any]


@dataclass(frozen=True)
class Rotation:
    """The refresh token whose hash is `token_hash` is revoked and `successor` (a refresh_tokens row
    without its session and parent, which come from the rotated token) is issued in its place."""

    token_hash: str
    now: datetime
    successor: dict[str, Any]


@dataclass(frozen=True)
class SessionRows:
    """A session, its user, and (unless the user is anonymous) the user's identities and factors."""

    user: Row
    session: Row
    identities: Sequence[Row]
    factors: Sequence[Row]


class HotPaths(ABC):
    @staticmethod
    def for_url(url: str, writer_turn: Callable[[], Any]) -> HotPaths:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return SqliteHotPaths(parsed.database or ":memory:", writer_turn)
        dsn, mode = ssl_mode(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        return PostgresHotPaths(dsn, mode)

    @abstractmethod
    async def sign_in_anonymously(self, sign_in: AnonymousSignIn) -> int | None:
        """The bucket's hits with this one, or None (and nothing written) when it is over the limit."""

    @abstractmethod
    async def rotate(self, rotation: Rotation) -> SessionRows | None:
        """The session refreshed and its user, or None (and nothing written) unless the token is active
        and its user not banned."""

    @abstractmethod
    async def caller(self, session_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> SessionRows | None:
        """The rows behind an access token, or None unless its session is `user_id`'s and the user is not
        banned at `now`."""

    @abstractmethod
    async def close(self) -> None: ...


# --- PostgreSQL --------------------------------------------------------------------------------------------


def _columns(table: Table, *, skip: Sequence[str] = ()) -> list[str]:
    return [column.name for column in table.c if column.name not in skip]


def _placeholders(table: Table, names: Sequence[str], first: int) -> str:
    """Typed parameters for `names` (in an INSERT … SELECT, PostgreSQL infers no type from the column)."""
    kinds = {column.name: column.type.compile(dialect=postgresql.dialect()) for column in table.c}
    return ", ".join(f"${first + i}::{kinds[name]}" for i, name in enumerate(names))


USER_COLUMNS = _columns(users)
SESSION_COLUMNS = _columns(sessions)
TOKEN_COLUMNS = _columns(refresh_tokens)
SUCCESSOR_COLUMNS = _columns(refresh_tokens, skip=("session_id", "parent_id"))
_USER_AT, _SESSION_AT = 6, 6 + len(USER_COLUMNS)
_TOKEN_AT = _SESSION_AT + len(SESSION_COLUMNS)

# The hit is counted only while the bucket has room; the rest follows from that one row or not at all.
ANONYMOUS_SIGN_IN = f"""
WITH hit AS (
    INSERT INTO rate_limits (bucket, client_key, window_start, hits)
    SELECT $1::varchar, $2::varchar, $3::bigint, 1 WHERE $4::integer >= 1
    ON CONFLICT (bucket, client_key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
    WHERE rate_limits.hits < $4
    RETURNING hits
), new_user AS (
    INSERT INTO users ({", ".join(USER_COLUMNS)})
    SELECT {_placeholders(users, USER_COLUMNS, _USER_AT)} FROM hit
), new_session AS (
    INSERT INTO sessions ({", ".join(SESSION_COLUMNS)})
    SELECT {_placeholders(sessions, SESSION_COLUMNS, _SESSION_AT)} FROM hit
), new_token AS (
    INSERT INTO refresh_tokens ({", ".join(TOKEN_COLUMNS)})
    SELECT {_placeholders(refresh_tokens, TOKEN_COLUMNS, _TOKEN_AT)} FROM hit
), expired AS (
    DELETE FROM rate_limits WHERE window_start < $3::bigint - $5::bigint AND EXISTS (SELECT 1 FROM hit WHERE hits = 1)
)
SELECT hits FROM hit
"""

OWNED = """
    (SELECT array_agg(i ORDER BY i.created_at) FROM identities i WHERE i.user_id = {user}.id
        AND NOT {user}.is_anonymous) AS identities,
    (SELECT array_agg(f ORDER BY f.created_at) FROM mfa_factors f WHERE f.user_id = {user}.id
        AND NOT {user}.is_anonymous) AS factors"""

ROTATE = f"""
WITH rotated AS (
    UPDATE refresh_tokens AS t SET revoked = true, revoked_at = $2
    WHERE t.token_hash = $1 AND NOT t.revoked AND NOT EXISTS (
        SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = t.session_id AND u.banned_until > $2
    )
    RETURNING t.id, t.session_id
), successor AS (
    INSERT INTO refresh_tokens ({", ".join(SUCCESSOR_COLUMNS)}, session_id, parent_id)
    SELECT {_placeholders(refresh_tokens, SUCCESSOR_COLUMNS, 3)}, session_id, id FROM rotated
), touched AS (
    UPDATE sessions AS s SET refreshed_at = $2 FROM rotated WHERE s.id = rotated.session_id RETURNING s
), active AS (
    UPDATE users AS u SET last_active_at = $2, updated_at = $2 FROM touched
    WHERE u.id = (touched.s).user_id RETURNING u
)
SELECT touched.s AS session, active.u AS user, {OWNED.format(user="(active.u)")}
FROM touched, active
"""

CALLER = f"""
SELECT s AS session, u AS user, {OWNED.format(user="u")}
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = $1 AND s.user_id = $2 AND (u.banned_until IS NULL OR u.banned_until <= $3)
"""


JSON_COLUMNS = frozenset(
    column.name for table in (users, sessions, identities) for column in table.c if isinstance(column.type, JSON)
)


def _values(row: Mapping[str, Any], names: Sequence[str]) -> list[Any]:
    """asyncpg takes and gives JSON as text (a text codec would rule out decoding rows as composites)."""
    return [json.dumps(row[name]) if name in JSON_COLUMNS else row[name] for name in names]


def _session_rows(found: Mapping[str, Any] | None) -> SessionRows | None:
    if found is None:
        return None
    owned = [[_decoded(row) for row in found[kind] or ()] for kind in ("identities", "factors")]
    return SessionRows(_decoded(found["user"]), _decoded(found["session"]), *owned)


def _decoded(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: json.loads(value) if name in JSON_COLUMNS else value for name, value in record.items()}


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """The hot statements leave no session state (no SET, LISTEN, lock or cursor), so a connection goes
    back to the pool without asyncpg's reset query, which would be a second round trip each time."""


class PostgresHotPaths(HotPaths):
    def __init__(self, dsn: str, ssl_mode: str | None) -> None:
        self._dsn, self._ssl = dsn, {"ssl": ssl_mode} if ssl_mode else {}
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def _connections(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=POOL_SIZE, reset=_nothing_to_reset, **self._ssl
                )
        return self._pool

    async def sign_in_anonymously(self, sign_in: AnonymousSignIn) -> int | None:
        arguments = [sign_in.bucket, sign_in.client_key, sign_in.window_start, sign_in.limit, sign_in.window_seconds]
        arguments += _values(sign_in.user, USER_COLUMNS)
        arguments += _values(sign_in.session, SESSION_COLUMNS)
        arguments += _values(sign_in.refresh_token, TOKEN_COLUMNS)
        pool = self._pool or await self._connections()
        return await pool.fetchval(ANONYMOUS_SIGN_IN, *arguments)

    async def rotate(self, rotation: Rotation) -> SessionRows | None:
        arguments = [rotation.token_hash, rotation.now, *_values(rotation.successor, SUCCESSOR_COLUMNS)]
        pool = self._pool or await self._connections()
        return _session_rows(await pool.fetchrow(ROTATE, *arguments))

    async def caller(self, session_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> SessionRows | None:
        pool = self._pool or await self._connections()
        return _session_rows(await pool.fetchrow(CALLER, session_id, user_id, now))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


# --- SQLite ------------------------------------------------------------------------------------------------
# Values are stored as SQLAlchemy stores them there: UUIDs as 32 hex digits, timestamps as UTC text,
# JSON as json.dumps text, booleans as 0/1.


@functools.lru_cache(maxsize=256)  # the timestamps a request writes are mostly one instant
def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _to_sqlite(table: Table) -> dict[str, Callable[[Any], Any] | None]:
    """Each column's encoder of a value that is not None; None where the value is stored as it is. None is
    stored as NULL: the JSON columns these paths write are NOT NULL (SQLAlchemy would write JSON null)."""

    def encoder(kind: Any) -> Callable[[Any], Any] | None:
        if isinstance(kind, Uuid):
            return operator.attrgetter("hex")
        if isinstance(kind, DateTime):
            return _sqlite_time
        if isinstance(kind, JSON):
            return json.dumps
        if isinstance(kind, Boolean):
            return int
        return None

    return {column.name: encoder(column.type) for column in table.c}


def _from_sqlite(table: Table) -> dict[str, Callable[[Any], Any]]:
    def decoder(kind: Any) -> Callable[[Any], Any]:
        if isinstance(kind, Uuid):
            return uuid.UUID
        if isinstance(kind, DateTime):
            return datetime.fromisoformat
        if isinstance(kind, JSON):
            return json.loads
        if isinstance(kind, Boolean):
            return bool
        return lambda value: value

    return {column.name: decoder(column.type) for column in table.c}


class _Codec:
    def __init__(self, table: Table) -> None:
        self.table = table.name
        self.columns = [column.name for column in table.c]
        self._encoders = list(_to_sqlite(table).items())
        self._decode = _from_sqlite(table)
        marks = ", ".join("?" * len(self.columns))
        self.insert = f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})"

    def encode(self, row: Mapping[str, Any]) -> list[Any]:
        return [
            value if encode is None or value is None else encode(value)
            for name, encode in self._encoders
            for value in (row[name],)
        ]

    def decode(self, row: sqlite3.Row) -> dict[str, Any]:
        return {name: None if row[name] is None else self._decode[name](row[name]) for name in self.columns}


USERS, SESSIONS, TOKENS = _Codec(users), _Codec(sessions), _Codec(refresh_tokens)
IDENTITIES, FACTORS = _Codec(identities), _Codec(mfa_factors)

SQLITE_HIT = """
INSERT INTO rate_limits (bucket, client_key, window_start, hits) SELECT ?, ?, ?, 1 WHERE ? >= 1
ON CONFLICT (bucket, client_key, window_start) DO UPDATE SET hits = hits + 1 WHERE hits < ?
RETURNING hits
"""
SQLITE_ACTIVE_TOKEN = """
SELECT t.id, t.session_id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
JOIN users u ON u.id = s.user_id
WHERE t.token_hash = ? AND NOT t.revoked AND (u.banned_until IS NULL OR u.banned_until <= ?)
"""


Work = Callable[[sqlite3.Connection], Any]


SQLITE_CALLER = """
SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = ? AND s.user_id = ? AND (u.banned_until IS NULL OR u.banned_until <= ?)
"""


def _sqlite_session_rows(connection: sqlite3.Connection, user: sqlite3.Row, session: sqlite3.Row) -> SessionRows:
    owned: list[list[dict[str, Any]]] = [[], []]
    if not user["is_anonymous"]:
        owned = [
            [codec.decode(row) for row in connection.execute(query, (user["id"],))]
            for codec, query in (
                (IDENTITIES, "SELECT * FROM identities WHERE user_id = ? ORDER BY created_at"),
                (FACTORS, "SELECT * FROM mfa_factors WHERE user_id = ? ORDER BY created_at"),
            )
        ]
    return SessionRows(USERS.decode(user), SESSIONS.decode(session), *owned)


class SqliteHotPaths(HotPaths):
    """One connection, owned by one thread. The transactions waiting when the thread is free go there
    together, each in a savepoint of one database transaction (group commit: SQLite has one writer at a
    time, and a commit costs more than the statements), taken in turn with the process's other writers
    (`writer_turn`). A transaction whose work answers None, or raises, is rolled back alone."""

    def __init__(self, path: str, writer_turn: Callable[[], Any]) -> None:
        self._path = path
        self._writer_turn = writer_turn
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guestpass-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._waiting: list[tuple[Work, asyncio.Future[Any]]] = []
        self._draining: asyncio.Task[None] | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            for pragma in PRAGMAS:
                connection.execute(f"PRAGMA {pragma}")
            self._connection = connection
        return self._connection

    async def _transaction(self, work: Work) -> Any:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((work, done))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                async with self._writer_turn():
                    outcomes = await asyncio.get_running_loop().run_in_executor(
                        self._thread, self._run_batch, [work for work, _ in batch]
                    )
                for (_, done), (value, error) in zip(batch, outcomes, strict=True):
                    if done.cancelled():  # its client went away; the transaction stands
                        continue
                    if error is None:
                        done.set_result(value)
                    else:
                        done.set_exception(error)
        except BaseException as error:
            for _, done in self._waiting:
                if not done.cancelled():
                    done.set_exception(error)
            self._waiting = []
            raise
        finally:
            self._draining = None

    def _run_batch(self, batch: list[Work]) -> list[tuple[Any, BaseException | None]]:
        connection = self._connect()
        outcomes: list[tuple[Any, BaseException | None]] = []
        connection.execute("BEGIN IMMEDIATE")
        try:
            for work in batch:
                connection.execute("SAVEPOINT hot")
                try:
                    value = work(connection)
                except Exception as error:  # the caller's to raise
                    outcomes.append((None, error))
                    value = None
                else:
                    outcomes.append((value, None))
                if value is None:
                    connection.execute("ROLLBACK TO hot")
                connection.execute("RELEASE hot")
            connection.execute("COMMIT")
        except BaseException as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            return [(None, error)] * len(batch)
        return outcomes

    async def sign_in_anonymously(self, sign_in: AnonymousSignIn) -> int | None:
        def work(connection: sqlite3.Connection) -> int | None:
            key = (sign_in.bucket, sign_in.client_key, sign_in.window_start, sign_in.limit, sign_in.limit)
            hit = connection.execute(SQLITE_HIT, key).fetchone()
            if hit is None:
                return None
            connection.execute(USERS.insert, USERS.encode(sign_in.user))
            connection.execute(SESSIONS.insert, SESSIONS.encode(sign_in.session))
            connection.execute(TOKENS.insert, TOKENS.encode(sign_in.refresh_token))
            if hit["hits"] == 1:
                expired = sign_in.window_start - sign_in.window_seconds
                connection.execute("DELETE FROM rate_limits WHERE window_start < ?", (expired,))
            return int(hit["hits"])

        return await self._transaction(work)

    async def rotate(self, rotation: Rotation) -> SessionRows | None:
        now = _sqlite_time(rotation.now)

        def work(connection: sqlite3.Connection) -> SessionRows | None:
            token = connection.execute(SQLITE_ACTIVE_TOKEN, (rotation.token_hash, now)).fetchone()
            if token is None:
                return None
            connection.execute("UPDATE refresh_tokens SET revoked = 1, revoked_at = ? WHERE id = ?", (now, token["id"]))
            links = {"session_id": uuid.UUID(token["session_id"]), "parent_id": uuid.UUID(token["id"])}
            connection.execute(TOKENS.insert, TOKENS.encode({**rotation.successor, **links}))
            session = connection.execute(
                "UPDATE sessions SET refreshed_at = ? WHERE id = ? RETURNING *", (now, token["session_id"])
            ).fetchone()
            user = connection.execute(
                "UPDATE users SET last_active_at = ?, updated_at = ? WHERE id = ? RETURNING *",
                (now, now, session["user_id"]),
            ).fetchone()
            return _sqlite_session_rows(connection, user, session)

        return await self._transaction(work)

    async def caller(self, session_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> SessionRows | None:
        def work(connection: sqlite3.Connection) -> SessionRows | None:
            found = connection.execute(SQLITE_CALLER, (session_id.hex, user_id.hex, _sqlite_time(now))).fetchone()
            if found is None:
                return None
            session = connection.execute("SELECT * FROM sessions WHERE id = ?", (session_id.hex,)).fetchone()
            return _sqlite_session_rows(connection, found, session)

        return await self._transaction(work)

    async def close(self) -> None:
        def shut() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown()
