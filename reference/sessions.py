"""Sessions, rotating refresh tokens with reuse detection, and the session response."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import RowMapping, bindparam, delete, insert, select, update
from starlette.requests import Request

from guestpass.reference import tokens
from guestpass.reference.clock import as_utc, utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.runtime import Runtime
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import refresh_tokens, sessions, users
from guestpass.reference.users import owned_rows, update_user, user_body

LogoutScope = Literal["global", "local", "others"]
MAX_GENERATIONS = 64  # how far a racing tab's token may lag behind the active one
SESSION_BY_ID = select(sessions).where(sessions.c.id == bindparam("session_id"))
SESSION_INSERT = insert(sessions).returning(*sessions.c)
REFRESH_TOKEN_INSERT = insert(refresh_tokens)


@dataclass(frozen=True)
class Grant:
    """A session that has just been started or refreshed, with the plaintext refresh token."""

    user: RowMapping
    session: RowMapping
    refresh_token: str


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue_refresh_token(
    conn: Connection, session_id: uuid.UUID, parent_id: uuid.UUID | None, parent_raw: str | None = None
) -> str:
    raw = new_refresh_token()
    await conn.execute(REFRESH_TOKEN_INSERT, refresh_token_row(raw, session_id, parent_id, parent_raw))
    return raw


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_row(
    raw: str,
    session_id: uuid.UUID | None,
    parent_id: uuid.UUID | None,
    parent_raw: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "token_hash": hash_token(raw),
        "session_id": session_id,
        "parent_id": parent_id,
        "revoked": False,
        "created_at": now or utcnow(),
        "revoked_at": None,
        "sealed": seal(raw, parent_raw) if parent_raw else None,
    }


def seal(raw: str, parent_raw: str) -> str:
    """`raw` encrypted with a key stream drawn from its parent token: the server keeps only hashes, yet the
    holder of a rotated token can be answered with its successor, and nobody else can."""
    stream = hashlib.shake_256(b"guestpass refresh seal\0" + parent_raw.encode()).digest(len(raw))
    return bytes(a ^ b for a, b in zip(raw.encode(), stream, strict=True)).hex()


def unseal(sealed: str, parent_raw: str) -> str:
    data = bytes.fromhex(sealed)
    stream = hashlib.shake_256(b"guestpass refresh seal\0" + parent_raw.encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True)).decode()


async def get_session(conn: Connection, session_id: uuid.UUID) -> RowMapping | None:
    return (await conn.execute(SESSION_BY_ID, {"session_id": session_id})).mappings().first()


async def start_session(conn: Connection, user: RowMapping, method: str, request: Request) -> Grant:
    """A new aal1 session for `user`, signed in by `method` (amr)."""
    now = utcnow()
    row = session_row(user["id"], method, request, now)
    session = (await conn.execute(SESSION_INSERT, row)).mappings().one()
    user = await update_user(conn, user["id"], last_sign_in_at=now, last_active_at=now)
    return Grant(user, session, await issue_refresh_token(conn, row["id"], None))


def session_row(user_id: uuid.UUID, method: str, request: Request, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "aal": "aal1",
        "amr": [{"method": method, "timestamp": int(now.timestamp())}],
        "user_agent": request.headers.get("user-agent", "")[:512],
        "ip": request.client.host if request.client else None,
        "created_at": now,
        "refreshed_at": None,
    }


async def refresh(conn: Connection, raw: str, reuse_interval: int) -> Grant:
    """Rotates `raw`. A token already rotated is answered with the session's active token, never a new one:
    always when it is the active token's parent (a client that lost the answer), within `reuse_interval`
    seconds otherwise (racing tabs). After that, reuse means theft: the caller must then
    `revoke_session_of_token`."""
    token = (
        (await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == hash_token(raw))))
        .mappings()
        .first()
    )
    if token is None:
        raise ApiError(ErrorCode.refresh_token_not_found)
    await refuse_banned_holder(conn, token["session_id"])
    now = utcnow()
    rotated = (
        await conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.id == token["id"], refresh_tokens.c.revoked.is_(False))
            .values(revoked=True, revoked_at=now)
        )
    ).rowcount == 1
    if rotated:
        issued = await issue_refresh_token(conn, token["session_id"], token["id"], raw)
    else:
        issued = await active_successor(conn, token, raw, now - timedelta(seconds=reuse_interval))
    await conn.execute(update(sessions).where(sessions.c.id == token["session_id"]).values(refreshed_at=now))
    session = await get_session(conn, token["session_id"])
    user = await update_user(conn, session["user_id"], last_active_at=now)  # type: ignore[index]
    return Grant(user, session, issued)  # type: ignore[arg-type]


async def refuse_banned_holder(conn: Connection, session_id: uuid.UUID) -> None:
    statement = select(users.c.banned_until).join(sessions, sessions.c.user_id == users.c.id)
    banned_until = (await conn.execute(statement.where(sessions.c.id == session_id))).scalar()
    if banned_until is not None and as_utc(banned_until) > utcnow():
        raise ApiError(ErrorCode.user_banned, "Invalid Refresh Token: User Banned")


async def active_successor(conn: Connection, token: RowMapping, raw: str, reusable_since: datetime) -> str:
    """The active token that descends from the rotated `token`, if `token` may still be answered with it."""
    revoked_at = (
        await conn.execute(select(refresh_tokens.c.revoked_at).where(refresh_tokens.c.id == token["id"]))
    ).scalar_one()
    recent = revoked_at is not None and as_utc(revoked_at) >= reusable_since
    for generation in range(MAX_GENERATIONS):
        child = (
            (await conn.execute(select(refresh_tokens).where(refresh_tokens.c.parent_id == token["id"])))
            .mappings()
            .first()
        )
        if child is None or child["sealed"] is None:
            break
        token, raw = child, unseal(child["sealed"], raw)
        if not token["revoked"] and (generation == 0 or recent):
            return raw
    raise ApiError(ErrorCode.refresh_token_already_used)


async def end_session(conn: Connection, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Ends one of `user_id`'s sessions; False if it has no such session."""
    result = await conn.execute(delete(sessions).where(sessions.c.id == session_id, sessions.c.user_id == user_id))
    return result.rowcount == 1


async def end_sessions(conn: Connection, user_id: uuid.UUID, current: uuid.UUID, scope: LogoutScope) -> None:
    statement = delete(sessions)
    if scope == "global":
        statement = statement.where(sessions.c.user_id == user_id)
    elif scope == "local":
        statement = statement.where(sessions.c.id == current)
    else:
        statement = statement.where(sessions.c.user_id == user_id, sessions.c.id != current)
    await conn.execute(statement)


async def end_sessions_of_user(conn: Connection, user_id: uuid.UUID) -> None:
    await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


async def revoke_session_of_token(conn: Connection, raw: str) -> None:
    session_id = select(refresh_tokens.c.session_id).where(refresh_tokens.c.token_hash == hash_token(raw))
    await conn.execute(delete(sessions).where(sessions.c.id.in_(session_id.scalar_subquery())))


def access_token_claims(runtime: Runtime, user: Mapping[str, Any], session: Mapping[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": runtime.config.jwt_issuer,
        "sub": str(user["id"]),
        "aud": user["aud"],
        "exp": now + runtime.config.access_token_ttl,
        "iat": now,
        "email": user["email"] or "",
        "phone": user["phone"] or "",
        "app_metadata": user["app_metadata"],
        "user_metadata": user["user_metadata"],
        "role": user["role"],
        "aal": session["aal"],
        "amr": session["amr"],
        "session_id": str(session["id"]),
        "is_anonymous": user["is_anonymous"],
    }


async def session_json(conn: Connection, runtime: Runtime, grant: Grant) -> dict[str, Any]:
    owned = await owned_rows(conn, grant.user)
    return session_body(runtime, grant.user, grant.session, grant.refresh_token, *owned)


def session_body(
    runtime: Runtime,
    user: Mapping[str, Any],
    session: Mapping[str, Any],
    refresh_token: str,
    identity_rows: Sequence[Mapping[str, Any]] = (),
    factor_rows: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The session response, from the rows it is made of."""
    claims = access_token_claims(runtime, user, session)
    return {
        "access_token": tokens.sign(runtime.key, claims),
        "token_type": "bearer",
        "expires_in": runtime.config.access_token_ttl,
        "expires_at": claims["exp"],
        "refresh_token": refresh_token,
        "user": user_body(user, identity_rows, factor_rows),
    }
