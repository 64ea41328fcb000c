"""Merge of an anonymous user owning 1, 1,000 and 100,000 rows on PostgreSQL: wall time and the number
of SQL statements the merge issues (it must not grow with the row count).

    python benchmarks/merge.py [ROWS ...]
"""

from __future__ import annotations

import asyncio
import sys
import time
import types
import uuid

from sqlalchemy import event, text

from guestpass.reference.merge import merge_anonymous_user
from guestpass.reference.sessions import start_session
from guestpass.reference.storage.db import Database
from guestpass.reference.storage.migrate import upgrade
from guestpass.reference.users import create_user

sys.path.insert(0, __file__.rpartition("/")[0])
from postgres import scratch_database

NO_REQUEST = types.SimpleNamespace(headers={}, client=None)


async def prepare(db: Database, rows: int) -> tuple[uuid.UUID, str]:
    async with db.transaction() as conn:
        target = await create_user(conn, email=f"target-{uuid.uuid4().hex[:8]}@guestpass.test", confirmed=True)
        anonymous = await create_user(conn, anonymous=True, user_metadata={"dog": "Bentley"})
        grant = await start_session(conn, anonymous, "anonymous", NO_REQUEST)  # type: ignore[arg-type]
        await conn.execute(
            text(
                "INSERT INTO items (id, user_id, body, created_at) "
                "SELECT gen_random_uuid(), :owner, 'row ' || n, now() FROM generate_series(1, :rows) AS n"
            ),
            {"owner": anonymous["id"], "rows": rows},
        )
    return target["id"], grant.refresh_token


async def measure(database_url: str, rows: int) -> tuple[float, int, dict]:
    db = Database(database_url)
    target_id, token = await prepare(db, rows)
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(getattr(db.engine, "sync_engine", db.engine), "before_cursor_execute", count)
    started = time.perf_counter()
    outcome = await merge_anonymous_user(db, target_id, token)
    elapsed = time.perf_counter() - started
    await db.dispose()
    return elapsed, statements, outcome


async def main(sizes: list[int]) -> None:
    print(f"{'rows':>9} {'wall ms':>10} {'statements':>11}  outcome")
    for rows in sizes:
        async with scratch_database() as url:
            await upgrade(url)
            elapsed, statements, outcome = await measure(url, rows)
        print(f"{rows:>9} {elapsed * 1000:>10.1f} {statements:>11}  {outcome['status']} {outcome.get('moved')}")


if __name__ == "__main__":
    asyncio.run(main([int(arg) for arg in sys.argv[1:]] or [1, 1_000, 100_000]))
