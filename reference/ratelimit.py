"""Fixed-window rate limits counted in the database, so every server process sees the same counts."""

from __future__ import annotations

import time

from sqlalchemy import Insert, and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from starlette.requests import Request

from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import rate_limits

# Bound as `this_<column>`: in an UPDATE, parameters named after columns would be SET.
WINDOW_COLUMNS = ("bucket", "client_key", "window_start")
THIS_WINDOW = and_(*(rate_limits.c[name] == bindparam(f"this_{name}") for name in WINDOW_COLUMNS))
HITS = select(rate_limits.c.hits).where(THIS_WINDOW)
GIVE_BACK = update(rate_limits).where(THIS_WINDOW, rate_limits.c.hits > 0).values(hits=rate_limits.c.hits - 1)
DROP_PASSED = delete(rate_limits).where(rate_limits.c.window_start < bindparam("passed_before"))


def count_hit(insert: type[Insert]) -> Insert:
    """One more hit in the window, the first one making its row."""
    window = {name: bindparam(f"this_{name}") for name in WINDOW_COLUMNS}
    return (
        insert(rate_limits)
        .values({**window, "hits": 1})
        .on_conflict_do_update(index_elements=list(WINDOW_COLUMNS), set_={"hits": rate_limits.c.hits + 1})
        .returning(rate_limits.c.hits)
    )


COUNT_HIT = {"postgresql": count_hit(postgresql.insert), "sqlite": count_hit(sqlite.insert)}


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


def window_of(bucket: str, key: str, window_start: int) -> dict[str, object]:
    """The parameters of `THIS_WINDOW`."""
    return {f"this_{name}": value for name, value in zip(WINDOW_COLUMNS, (bucket, key, window_start), strict=True)}


async def hits(conn: Connection, bucket: str, key: str, *, window_seconds: int) -> int:
    """The hits counted for (bucket, key) in the current window, without counting one."""
    return (await conn.execute(HITS, window_of(bucket, key, current_window(window_seconds)))).scalar() or 0


async def consume(conn: Connection, bucket: str, key: str, *, limit: int, window_seconds: int) -> None:
    """Counts one hit for (bucket, key); raises 429 over_request_rate_limit past `limit` in the window."""
    window_start = current_window(window_seconds)
    hits = (await conn.execute(COUNT_HIT[conn.dialect.name], window_of(bucket, key, window_start))).scalar_one()
    if hits == 1:  # a new window for this key: time to drop the windows that have passed
        await conn.execute(DROP_PASSED, {"passed_before": window_start - window_seconds})
    if hits > limit:
        raise ApiError(ErrorCode.over_request_rate_limit)


async def give_back(conn: Connection, bucket: str, key: str, *, window_seconds: int) -> None:
    """Uncounts one hit that `consume` counted in the current window, for an attempt counted before it was
    known to be one the limit is not about (e.g. a right answer)."""
    await conn.execute(GIVE_BACK, window_of(bucket, key, current_window(window_seconds)))
