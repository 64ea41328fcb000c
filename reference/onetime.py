"""One-time codes sent by mail. A code is six digits; the link carries token_hash = sha224(email +
code), as GoTrue's does; the database keeps only sha256(token_hash). One live code per user and
type, consumed by a single DELETE, so it works once even under concurrent verifies. Every wrong code
sent with a code's address counts against that code, and a code with too many is spent: the six
digits cannot be walked from many clients within the code's lifetime."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from guestpass.reference.clock import as_utc, utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import one_time_tokens
from guestpass.reference.users import stored_form

CODE_DIGITS = 6
ISSUE_ATTEMPTS = 3


@dataclass(frozen=True)
class OneTimeCode:
    code: str
    token_hash: str
    issued_at: datetime


def link_hash(address: str, code: str) -> str:
    return hashlib.sha224((address + code).encode()).hexdigest()


def _stored(token_hash: str) -> str:
    return hashlib.sha256(token_hash.encode()).hexdigest()


async def issue(conn: Connection, user_id: uuid.UUID, token_type: str, address: str, ttl: int) -> OneTimeCode:
    """A new code for (user, type), replacing the previous one."""
    address = stored_form(address)
    await conn.execute(
        delete(one_time_tokens).where(one_time_tokens.c.user_id == user_id, one_time_tokens.c.token_type == token_type)
    )
    for _ in range(ISSUE_ATTEMPTS):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        token_hash = link_hash(address, code)
        now = utcnow()
        try:
            async with conn.begin_nested():
                await conn.execute(
                    insert(one_time_tokens).values(
                        id=uuid.uuid4(),
                        user_id=user_id,
                        token_type=token_type,
                        relates_to=address,
                        token_hash=_stored(token_hash),
                        created_at=now,
                        expires_at=now + timedelta(seconds=ttl),
                        failed_attempts=0,
                    )
                )
        except IntegrityError:
            continue  # the same address drew the same code for another type: draw again
        return OneTimeCode(code, token_hash, now)
    raise ApiError(ErrorCode.unexpected_failure, "Could not issue a one-time code")


async def issued_since(conn: Connection, user_id: uuid.UUID, token_type: str, moment: datetime) -> bool:
    """Whether the live code of (user, type) was issued after `moment`."""
    statement = select(one_time_tokens.c.created_at).where(
        one_time_tokens.c.user_id == user_id, one_time_tokens.c.token_type == token_type
    )
    issued_at = (await conn.execute(statement)).scalar()
    return issued_at is not None and as_utc(issued_at) > as_utc(moment)


async def consume(conn: Connection, token_hash: str, token_types: Iterable[str]) -> RowMapping:
    """Deletes and returns the live code with this token_hash; 403 otp_expired if there is none."""
    row = (
        (
            await conn.execute(
                delete(one_time_tokens)
                .where(
                    one_time_tokens.c.token_hash == _stored(token_hash),
                    one_time_tokens.c.token_type.in_(list(token_types)),
                )
                .returning(*one_time_tokens.c)
            )
        )
        .mappings()
        .first()
    )
    if row is None or as_utc(row["expires_at"]) <= utcnow():
        raise ApiError(ErrorCode.otp_expired)
    return row


async def count_wrong_guess(conn: Connection, address: str, token_hash: str, token_types: Iterable[str]) -> None:
    """One wrong guess more for each code of these types mailed to `address` that `token_hash` does not
    match. Committed before the guess is tried, so that parallel guesses cannot all pass the limit."""
    await conn.execute(
        update(one_time_tokens)
        .where(
            one_time_tokens.c.relates_to == address,
            one_time_tokens.c.token_type.in_(list(token_types)),
            one_time_tokens.c.token_hash != _stored(token_hash),
        )
        .values(failed_attempts=one_time_tokens.c.failed_attempts + 1)
    )


async def refuse_spent(conn: Connection, token_hash: str, token_types: Iterable[str], limit: int) -> None:
    """403 otp_expired if the code has had `limit` wrong guesses: then neither the code nor its link works."""
    found = await conn.execute(
        select(one_time_tokens.c.id).where(
            one_time_tokens.c.token_hash == _stored(token_hash),
            one_time_tokens.c.token_type.in_(list(token_types)),
            one_time_tokens.c.failed_attempts >= limit,
        )
    )
    if found.first() is not None:
        raise ApiError(ErrorCode.otp_expired)


async def pending(conn: Connection, user_id: uuid.UUID, token_types: Iterable[str]) -> bool:
    """Whether the user still has a live code of one of these types (the other half of an email change)."""
    found = await conn.execute(
        select(one_time_tokens.c.id).where(
            one_time_tokens.c.user_id == user_id,
            one_time_tokens.c.token_type.in_(list(token_types)),
            one_time_tokens.c.expires_at > utcnow(),
        )
    )
    return found.first() is not None
