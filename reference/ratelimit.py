"""Fixed-window rate limits counted in the database, so every server process sees the same counts."""

from __future__ import annotations

import time

from sqlalchemy import delete, select, update
from starlette.requests import Request

from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.storage.db import Connection, dialect_insert
from guestpass.reference.storage.schema import rate_limits


def client_key(request: Request, header: str) -> str:
    """The first value of the one header the operator trusts (`header`, set by its proxy), else the TCP
    peer. No header is trusted by default: any other (X-Forwarded-For, Forwarded, ...) is the client's
    own claim, and a key the client chooses is a limit it can reset."""
    forwarded = request.headers.get(header, "") if header else ""
    first = forwarded.split(",")[0].strip()
    if first:
        return first[:255]
    return request.client.host if request.client else "unknown"


def current_window(window_seconds: int) -> int:
    return int(time.time()) // window_seconds * window_seconds


async def hits(conn: Connection, bucket: str, key: str, *, window_seconds: int) -> int:
    """The hits counted for (bucket, key) in the current window, without counting one."""
    statement = select(rate_limits.c.hits).where(
        rate_limits.c.bucket == bucket,
        rate_limits.c.client_key == key,
        rate_limits.c.window_start == current_window(window_seconds),
    )
    return (await conn.execute(statement)).scalar() or 0


async def consume(conn: Connection, bucket: str, key: str, *, limit: int, window_seconds: int) -> None:
    """Counts one hit for (bucket, key); raises 429 over_request_rate_limit past `limit` in the window."""
    window_start = current_window(window_seconds)
    insert = dialect_insert(conn)
    statement = (
        insert(rate_limits)
        .values(bucket=bucket, client_key=key, window_start=window_start, hits=1)
        .on_conflict_do_update(
            index_elements=["bucket", "client_key", "window_start"],
            set_={"hits": rate_limits.c.hits + 1},
        )
        .returning(rate_limits.c.hits)
    )
    hits = (await conn.execute(statement)).scalar_one()
    if hits == 1:  # a new window for this key: time to drop the windows that have passed
        await conn.execute(delete(rate_limits).where(rate_limits.c.window_start < window_start - window_seconds))
    if hits > limit:
        raise ApiError(ErrorCode.over_request_rate_limit)


async def give_back(conn: Connection, bucket: str, key: str, *, window_seconds: int) -> None:
    """Uncounts one hit that `consume` counted in the current window, for an attempt counted before it was
    known to be one the limit is not about (e.g. a right answer)."""
    await conn.execute(
        update(rate_limits)
        .where(
            rate_limits.c.bucket == bucket,
            rate_limits.c.client_key == key,
            rate_limits.c.window_start == current_window(window_seconds),
            rate_limits.c.hits > 0,
        )
        .values(hits=rate_limits.c.hits - 1)
    )
