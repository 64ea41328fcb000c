"""Reaping 1,000,000 orphan anonymous users on PostgreSQL: total time, and the p50/p99 latency of
anonymous sign-ins running alongside it compared with the same sign-ins without it.

    python benchmarks/reap.py [USERS]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import httpx

from guestpass.conformance.embedded import ServerProcess
from guestpass.reference.storage.migrate import upgrade

sys.path.insert(0, __file__.rpartition("/")[0])
from postgres import scratch_database

BASELINE_SIGN_INS = 400
SIGN_IN_CLIENTS = 2


async def add_orphans(url: str, count: int) -> float:
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            """
            INSERT INTO users (id, aud, role, is_anonymous, app_metadata, user_metadata, created_at, updated_at,
                               last_active_at)
            SELECT gen_random_uuid(), 'authenticated', 'authenticated', true,
                   '{"provider": "anonymous", "providers": ["anonymous"]}', '{}',
                   now() - interval '90 days', now() - interval '90 days', now() - interval '60 days'
            FROM generate_series(1, $1)""",
            count,
        )
        await connection.execute("ANALYZE users")
    finally:
        await connection.close()
    return time.perf_counter() - started


def sign_ins(base_url: str, stop: threading.Event | None, count: int | None) -> list[float]:
    """Anonymous sign-ins from SIGN_IN_CLIENTS clients, until `stop` is set or `count` are done."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        with httpx.Client(timeout=30, headers={"Sb-Forwarded-For": f"2001:db8::{number}"}) as http:
            while (stop is None or not stop.is_set()) and (count is None or len(latencies) < count):
                started = time.perf_counter()
                response = http.post(f"{base_url}/signup", json={})
                assert response.status_code == 200, response.text
                with lock:
                    latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(SIGN_IN_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def describe(label: str, latencies: list[float]) -> str:
    cut = statistics.quantiles(latencies, n=100)
    return f"{label:<22} n={len(latencies):>6}  p50={cut[49] * 1000:7.2f} ms  p99={cut[98] * 1000:7.2f} ms"


async def prepare(url: str, users: int) -> float:
    await upgrade(url)
    return await add_orphans(url, users)


def main(users: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="guestpass-reap-"))

    async def run() -> None:
        async with scratch_database() as url:
            seeded = await prepare(url, users)
            print(f"seeded {users} idle orphan anonymous users in {seeded:.1f} s")
            await asyncio.to_thread(measure, url)

    def measure(url: str) -> None:
        env = {**os.environ, "GUESTPASS_ANONYMOUS_SIGN_INS_PER_WINDOW": "1000000000"}
        with (workdir / "server.log").open("w") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "guestpass.reference",
                    "--port",
                    "0",
                    "--profile",
                    "test",
                    "--database-url",
                    url,
                    "--write-target",
                    str(workdir / "t.toml"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        server = ServerProcess(process, workdir / "t.toml", workdir / "server.log")
        try:
            base_url = server.wait_until_listening()["base_url"]
            sign_ins(base_url, None, 50)  # warm-up
            baseline = sign_ins(base_url, None, BASELINE_SIGN_INS)
            stop = threading.Event()
            during: list[float] = []
            worker = threading.Thread(target=lambda: during.extend(sign_ins(base_url, stop, None)))
            worker.start()
            started = time.perf_counter()
            reaped = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "guestpass.conformance.cli",
                    "reap",
                    "--older-than",
                    "30d",
                    "--database-url",
                    url,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            reap_seconds = time.perf_counter() - started
            stop.set()
            worker.join()
        finally:
            server.stop()
        print(f"{reaped.stdout.strip()} in {reap_seconds:.1f} s ({users / reap_seconds:,.0f} users/s)")
        print(describe("sign-ins without reap", baseline))
        print(describe("sign-ins during reap", during))

    asyncio.run(run())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
