"""Concurrent CLI pollers against one reference server on PostgreSQL: 200 pending attempts polled at
their interval. Prints throughput, latency and the server process's CPU share.

    python benchmarks/cli_polling.py [--attempts 200] [--interval 1] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from guestpass.conformance.embedded import ServerProcess
from guestpass.reference.storage.migrate import upgrade

sys.path.insert(0, __file__.rpartition("/")[0])
from postgres import scratch_database

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


async def poller(
    http: httpx.AsyncClient,
    polling_code: str,
    interval: float,
    deadline: float,
    latencies: list[float],
    statuses: dict[str, int],
) -> None:
    await asyncio.sleep(random.uniform(0, interval))
    while time.monotonic() < deadline:
        started = time.perf_counter()
        answer = await http.post("/cli/poll", json={"polling_code": polling_code})
        latencies.append(time.perf_counter() - started)
        status = answer.json().get("status", str(answer.status_code))
        statuses[status] = statuses.get(status, 0) + 1
        await asyncio.sleep(interval)


async def load(base_url: str, attempts: int, seconds: float) -> tuple[list[float], dict[str, int], int]:
    limits = httpx.Limits(max_connections=attempts, max_keepalive_connections=attempts)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        created = [(await http.post("/cli", json={})).json() for _ in range(attempts)]
        interval = created[0]["interval"]
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(poller(http, c["polling_code"], interval, deadline, latencies, statuses) for c in created)
        )
    return latencies, statuses, interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--interval", type=int, default=1, help="the server's poll interval in seconds")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="guestpass-polling-"))

    async def run() -> None:
        async with scratch_database() as url:
            await upgrade(url)
            env = {**os.environ, "GUESTPASS_CLI_POLL_INTERVAL": str(args.interval)}
            with (workdir / "server.log").open("w") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "guestpass.reference",
                        "--port",
                        "0",
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
                cpu_before, started = cpu_seconds(process.pid), time.monotonic()
                latencies, statuses, interval = await load(base_url, args.attempts, args.seconds)
                wall, cpu = time.monotonic() - started, cpu_seconds(process.pid) - cpu_before
            finally:
                server.stop()
        cut = statistics.quantiles(latencies, n=100)
        print(f"{args.attempts} pending attempts polled every {interval} s for {wall:.1f} s")
        print(
            f"polls: {len(latencies)} ({len(latencies) / wall:.1f}/s, expected {args.attempts / interval:.1f}/s)"
            f"  answers: {statuses}"
        )
        print(f"latency: p50 {cut[49] * 1000:.2f} ms  p99 {cut[98] * 1000:.2f} ms")
        print(
            f"server CPU: {cpu:.1f} s over {wall:.1f} s = {100 * cpu / wall:.1f}% of one core "
            f"({os.cpu_count()} cores on this machine)"
        )

    asyncio.run(run())


if __name__ == "__main__":
    main()
