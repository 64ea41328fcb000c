"""Passkey sign-ins per second against one reference server (uvicorn, one worker, its own process) on
SQLite and on PostgreSQL. A sign-in is authentication/options, the virtual authenticator's assertion
and authentication/verify; clients are threads of this process, each signing in its own users in turn
(so no two requests race for one passkey's counter). Prints throughput, p50/p99 latency and CPU use.

    python benchmarks/passkeys.py [--seconds 10] [--clients 8] [--users-per-client 4] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from guestpass.conformance.embedded import ServerProcess
from guestpass.fixtures.webauthn import VirtualAuthenticator

sys.path.insert(0, __file__.rpartition("/")[0])
from postgres import scratch_database

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DATABASES = ("sqlite", "postgres")


@dataclass
class Account:
    user_id: str
    authenticator: VirtualAuthenticator


@dataclass
class Run:
    latencies: list[float]
    failures: dict[str, int]
    wall: float
    server_cpu: float
    client_cpu: float


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


@contextmanager
def reference_server(workdir: Path, database_url: str) -> Iterator[tuple[dict[str, Any], int]]:
    """The server on a free port with its default profile; yields its target description and pid."""
    target_file, log_file = workdir / "server.target.toml", workdir / "server.log"
    env = {**os.environ, "GUESTPASS_ANONYMOUS_SIGN_INS_PER_WINDOW": "1000000000"}
    command = [sys.executable, "-m", "guestpass.reference", "--port", "0", "--database-url", database_url]
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [*command, "--write-target", str(target_file)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    server = ServerProcess(process, target_file, log_file)
    try:
        yield server.wait_until_listening(), process.pid
    finally:
        server.stop()


def checked(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} {response.text}")
    return response.json()


def register(http: httpx.Client, origin: str) -> Account:
    """A guest who registers a passkey (and so becomes a permanent user with the same id)."""
    session = checked(http.post("/signup", json={}))
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    authenticator = VirtualAuthenticator()
    offered = checked(http.post("/passkeys/registration/options", json={}, headers=bearer))
    credential = authenticator.create(offered["options"], origin)
    checked(
        http.post(
            "/passkeys/registration/verify",
            json={"challenge_id": offered["challenge_id"], "credential": credential},
            headers=bearer,
        )
    )
    return Account(session["user"]["id"], authenticator)


def sign_in(http: httpx.Client, account: Account, origin: str) -> httpx.Response:
    offered = checked(http.post("/passkeys/authentication/options", json={}))
    credential = account.authenticator.get(offered["options"], origin)
    return http.post(
        "/passkeys/authentication/verify", json={"challenge_id": offered["challenge_id"], "credential": credential}
    )


def client(
    base_url: str, origin: str, accounts: list[Account], deadline: float, latencies: list[float], failures: dict
) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        turn = 0
        while time.monotonic() < deadline:
            account = accounts[turn % len(accounts)]
            turn += 1
            started = time.perf_counter()
            answer = sign_in(http, account, origin)
            elapsed = time.perf_counter() - started
            if answer.status_code == 200 and answer.json()["user"]["id"] == account.user_id:
                latencies.append(elapsed)  # list.append is atomic under the GIL
            else:
                key = answer.json().get("error_code", str(answer.status_code))
                failures[key] = failures.get(key, 0) + 1


def prepare(base_url: str, origin: str, clients: int, users_per_client: int) -> list[list[Account]]:
    """Registers every user and signs each in once (which also warms the server up)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        groups = [[register(http, origin) for _ in range(users_per_client)] for _ in range(clients)]
        for account in (account for group in groups for account in group):
            checked(sign_in(http, account, origin))
    return groups


def measure(base_url: str, origin: str, server_pid: int, groups: list[list[Account]], seconds: float) -> Run:
    latencies: list[float] = []
    failures: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client, args=(base_url, origin, group, deadline, latencies, failures))
        for group in groups
    ]
    server_before, client_before, started = cpu_seconds(server_pid), time.process_time(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    return Run(
        latencies,
        failures,
        wall,
        cpu_seconds(server_pid) - server_before,
        time.process_time() - client_before,
    )


def benchmark(database_url: str, args: argparse.Namespace) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix="guestpass-passkeys-"))
    with reference_server(workdir, database_url) as (target, pid):
        origin = target["passkeys"]["origin"]
        groups = prepare(target["base_url"], origin, args.clients, args.users_per_client)
        return measure(target["base_url"], origin, pid, groups, args.seconds)


def report(label: str, run: Run) -> None:
    cut = statistics.quantiles(run.latencies, n=100)
    print(
        f"{label:<10} {len(run.latencies) / run.wall:8.1f} sign-ins/s  n={len(run.latencies):>6}"
        f"  p50={cut[49] * 1000:7.2f} ms  p99={cut[98] * 1000:7.2f} ms"
        f"  server CPU {100 * run.server_cpu / run.wall:5.1f}%  clients CPU {100 * run.client_cpu / run.wall:5.1f}%"
        f"  failures {run.failures or 0}"
    )


def on_sqlite(args: argparse.Namespace) -> Run:
    directory = Path(tempfile.mkdtemp(prefix="guestpass-passkeys-db-"))
    return benchmark(f"sqlite:///{directory / 'bench.db'}", args)


def on_postgres(args: argparse.Namespace) -> Run:
    async def run() -> Run:
        async with scratch_database() as url:
            return await asyncio.to_thread(benchmark, url, args)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--users-per-client", type=int, default=4)
    parser.add_argument("--database", choices=DATABASES, action="append", help="repeatable; default: both")
    args = parser.parse_args()
    print(
        f"{args.clients} clients x {args.users_per_client} users, {args.seconds:g} s per database, "
        f"{os.cpu_count()} cores shared by the server and the clients; CPU shares are of one core"
    )
    for database in args.database or DATABASES:
        report(database, on_sqlite(args) if database == "sqlite" else on_postgres(args))


if __name__ == "__main__":
    main()
