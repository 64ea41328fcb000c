"""A scratch PostgreSQL database for a benchmark run, created and dropped around it. Its URL says
`sslmode=disable`: the server is on loopback, and the Supabase Auth (GoTrue) measured beside the reference
server is configured so too (asyncpg would otherwise encrypt every round trip, as libpq's `prefer` does)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

ADMIN_URL = os.environ.get("GUESTPASS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    name = f"guestpass_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{ADMIN_URL.rpartition('/')[0]}/{name}?sslmode=disable"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
