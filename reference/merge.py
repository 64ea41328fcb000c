"""The merge step: a signed-in user absorbs an anonymous user. One transaction moves every owned row
(one statement per owned table), copies the metadata keys the target lacks, and deletes the anonymous
user with its sessions and credentials. Anything that prevents it leaves everything as it was and is
reported, never raised: the sign-in goes on.

The proof that the caller may merge an anonymous user is either that user's live refresh token
(`merge_anonymous_user`, every sign-in path) or a CLI login attempt created with such a token whose
session is still live (`merge_within`, CLI hand-off)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from guestpass.reference.errors import ErrorCode
from guestpass.reference.sessions import hash_token
from guestpass.reference.storage.db import Connection, Database
from guestpass.reference.storage.schema import OWNED_TABLES, refresh_tokens, sessions, users
from guestpass.reference.users import update_user

log = logging.getLogger("guestpass.reference.merge")


class MergeRejected(Exception):
    def __init__(self, code: ErrorCode) -> None:
        self.code = code
        super().__init__(code.value)


async def merge_anonymous_user(db: Database, target_id: uuid.UUID, anonymous_refresh_token: str) -> dict[str, Any]:
    """The `anonymous_merge` object of a session response, for a merge proven by a refresh token."""
    try:
        async with db.transaction() as conn:
            return await absorb(conn, await token_owner_id(conn, anonymous_refresh_token), target_id)
    except MergeRejected as rejection:
        return rejected(rejection)
    except SQLAlchemyError:
        log.exception("merge into %s failed; nothing was moved", target_id)
        return FAILED


async def merge_within(conn: Connection, source_id: uuid.UUID, target_id: uuid.UUID) -> dict[str, Any]:
    """The same merge inside the caller's transaction, behind a savepoint: if it cannot happen, the
    caller's own work still commits and nothing of the merge does."""
    try:
        async with conn.begin_nested():
            return await absorb(conn, source_id, target_id)
    except MergeRejected as rejection:
        return rejected(rejection)
    except SQLAlchemyError:
        log.exception("merge of %s into %s failed; nothing was moved", source_id, target_id)
        return FAILED


FAILED = {"status": "failed", "code": ErrorCode.unexpected_failure.value}


def rejected(rejection: MergeRejected) -> dict[str, Any]:
    return {"status": "rejected", "code": rejection.code.value}


async def absorb(conn: Connection, source_id: uuid.UUID, target_id: uuid.UUID) -> dict[str, Any]:
    if source_id == target_id:
        raise MergeRejected(ErrorCode.merge_source_is_target)
    source, target = await _lock_users(conn, source_id, target_id)
    if target is None:
        raise MergeRejected(ErrorCode.user_not_found)
    if source is None:
        raise MergeRejected(ErrorCode.refresh_token_not_found)  # merged away by a concurrent request
    if not source["is_anonymous"]:
        raise MergeRejected(ErrorCode.merge_source_not_anonymous)
    moved = {}
    for table in OWNED_TABLES:
        result = await conn.execute(update(table).where(table.c.user_id == source_id).values(user_id=target_id))
        moved[table.name] = result.rowcount
    await update_user(conn, target_id, user_metadata={**source["user_metadata"], **target["user_metadata"]})
    await conn.execute(delete(sessions).where(sessions.c.user_id == source_id))
    await conn.execute(delete(users).where(users.c.id == source_id))
    return {"status": "merged", "from_user_id": str(source_id), "moved": moved}


async def token_owner(conn: Connection, raw_token: str) -> RowMapping:
    """The user of a live (never rotated) refresh token; a rotated one proves nothing any more."""
    row = (
        (
            await conn.execute(
                select(refresh_tokens.c.revoked, users)
                .join(sessions, sessions.c.id == refresh_tokens.c.session_id)
                .join(users, users.c.id == sessions.c.user_id)
                .where(refresh_tokens.c.token_hash == hash_token(raw_token))
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise MergeRejected(ErrorCode.refresh_token_not_found)
    if row["revoked"]:
        raise MergeRejected(ErrorCode.refresh_token_already_used)
    return row


async def token_owner_id(conn: Connection, raw_token: str) -> uuid.UUID:
    return (await token_owner(conn, raw_token))["id"]


async def _lock_users(
    conn: Connection, source_id: uuid.UUID, target_id: uuid.UUID
) -> tuple[RowMapping | None, RowMapping | None]:
    """Both users, locked until commit (SQLite's BEGIN IMMEDIATE already serializes writers), so that a
    concurrent merge of the same anonymous user waits and then finds it gone."""
    rows = (
        (
            await conn.execute(
                select(users).where(users.c.id.in_([source_id, target_id])).order_by(users.c.id).with_for_update()
            )
        )
        .mappings()
        .all()
    )
    by_id = {row["id"]: row for row in rows}
    return by_id.get(source_id), by_id.get(target_id)
