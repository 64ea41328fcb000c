"""Anonymous sign-ins, refreshes and password sign-ins per second against the reference server under uvicorn (1
and 2 workers, SQLite and PostgreSQL), each as a share of the ceiling (a bare Starlette route served by the
same worker processes), with the workers' peak RSS; anonymous and email sign-ins against Better Auth
(anonymous plugin, better-sqlite3, one Node process, its default password hashing: scrypt); and the same three
flows against a Supabase Auth (GoTrue) server that is already running, given by --gotrue-url (its ceiling: GET
/health). The load generator is wrk, a separate process on loopback (`apt-get install wrk`); each measurement
lasts --seconds on --connections keep-alive connections. Password sign-ins hash as the reference server's test
profile does (Argon2id, 64 KiB, one pass; --password-cost default for production's 64 MiB), and GoTrue with
its own bcrypt cost 10. Run GoTrue with GOTRUE_DB_MAX_IDLE_POOL_SIZE at least 10: Go's database/sql keeps
two idle connections by default, and under 32 connections GoTrue then opens a PostgreSQL connection for most
requests (84 anonymous sign-ins/s here, against 362/s with ten idle connections).

    python benchmarks/sign_in_throughput.py [--seconds 10] [--connections 32] [--database sqlite|postgres]
        [--workers 1 --workers 2] [--no-better-auth] [--gotrue-url http://127.0.0.1:9999] [--flame-graphs DIR]
        [--password-cost test|default]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from guestpass.conformance.embedded import ServerProcess
from guestpass.reference.app import AUTH_PREFIX
from guestpass.reference.storage.db import Database
from guestpass.reference.storage.schema import users

sys.path.insert(0, __file__.rpartition("/")[0])
import loadgen
import procfs
from better_auth_process import PASSWORD_PATH as BETTER_AUTH_PASSWORD_PATH
from better_auth_process import SIGN_IN_PATH, better_auth_server, unavailable
from better_auth_process import SIGN_UP_PATH as BETTER_AUTH_SIGN_UP_PATH
from ceiling_server import HELLO_PATH
from loadgen import Measurement
from postgres import scratch_database

HERE = Path(__file__).parent
DATABASES = ("sqlite", "postgres")
STARTUP_TIMEOUT = 30
RSS_TARGET_MIB = 100
CEILING_SHARE_TARGET = 0.10
BETTER_AUTH_RATIO_TARGET = 3.0
BETTER_AUTH_PASSWORD_RATIO_TARGET = 2.0
WORKERS_SCALING_TARGET = 1.6


@dataclass(frozen=True)
class Figures:
    label: str
    ceiling: Measurement
    sign_ins: Measurement
    refreshes: Measurement | None
    passwords: Measurement | None
    peak_rss_mib: list[float]  # per worker, during the sign-ins
    startup_peak_rss_mib: list[float]  # per worker, from its start to the sign-ins
    notes: list[str]


@dataclass(frozen=True)
class Load:
    connections: int
    seconds: int
    flame_graphs: Path | None
    password_cost: str = "test"

    def run(self, url: str, flow: str, *script_args: str) -> Measurement:
        return loadgen.run(url, flow, connections=self.connections, seconds=self.seconds, script_args=script_args)


@contextmanager
def scratch_directory(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as directory:
        yield Path(directory)


# --- measuring server processes ----------------------------------------------------------------------------


def with_server_cpu(pids: list[int], measure: Callable[[], Measurement]) -> Measurement:
    before, (busy_before, total_before) = sum(procfs.cpu_seconds(pid) for pid in pids), procfs.machine_cpu_seconds()
    measurement = measure()
    busy, total = procfs.machine_cpu_seconds()
    return replace(
        measurement,
        server_cpu_seconds=sum(procfs.cpu_seconds(pid) for pid in pids) - before,
        machine_busy=(busy - busy_before) / max(total - total_before, 1e-9),
    )


@contextmanager
def flame_graph(pid: int, load: Load, name: str) -> Iterator[None]:
    """A py-spy flame graph of the Python process `pid` (where it holds the GIL) while the block runs, if asked."""
    if load.flame_graphs is None:
        yield
        return
    svg = load.flame_graphs / f"{name}.svg"
    command = ["py-spy", "record", "--pid", str(pid), "--duration", str(load.seconds), "--rate", "250"]
    recorder = subprocess.Popen(
        [*command, "--gil", "--nonblocking", "--output", str(svg)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        yield
    finally:
        recorder.wait(timeout=load.seconds + 30)
        print(f"  flame graph: {svg}", flush=True)


def measure_sign_ins(url: str, pids: list[int], load: Load) -> tuple[Measurement, list[float], list[float]]:
    """The sign-ins, with each process's peak RSS during them and before them."""
    startup_peaks = [procfs.peak_rss_mib(pid) for pid in pids]
    for pid in pids:
        procfs.reset_peak_rss(pid)
    sign_ins = with_server_cpu(pids, lambda: load.run(url, "anonymous_sign_in"))
    return sign_ins, [procfs.peak_rss_mib(pid) for pid in pids], startup_peaks


# --- the guestpass reference server ------------------------------------------------------------------------


def worker_pids(pid: int, workers: int) -> list[int]:
    """The processes serving requests: the server itself, or the workers uvicorn's supervisor spawned."""
    if workers == 1:
        return [pid]
    spawned = [child for child in procfs.children(pid) if "spawn_main" in procfs.command_line(child)]
    if len(spawned) != workers:
        raise RuntimeError(f"expected {workers} workers under process {pid}, found {spawned}")
    return spawned


@dataclass(frozen=True)
class Served:
    root: str
    pids: list[int]  # the workers
    log: Path


@contextmanager
def reference_server(workdir: Path, database_url: str, workers: int, password_cost: str) -> Iterator[Served]:
    """benchmarks/ceiling_server.py on a free port."""
    target_file, log_file = workdir / "server.target.toml", workdir / "server.log"
    command = [sys.executable, str(HERE / "ceiling_server.py"), "--database-url", database_url]
    command += ["--workers", str(workers), "--write-target", str(target_file), "--password-cost", password_cost]
    with log_file.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, target_file, log_file)
    try:
        root = server.wait_until_listening()["base_url"].removesuffix(AUTH_PREFIX)
        yield Served(root, wait_for_workers(root, process.pid, workers), log_file)
    finally:
        server.stop()


def wait_for_workers(root: str, pid: int, workers: int) -> list[int]:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            httpx.get(root + HELLO_PATH).raise_for_status()
            return worker_pids(pid, workers)
        except (httpx.HTTPError, RuntimeError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def refresh_token_pool(auth_url: str, count: int) -> list[str]:
    """Anonymous sign-ins made one by one (which also warm the server up); their refresh tokens."""
    with httpx.Client(base_url=auth_url, timeout=30) as http:
        sessions = [http.post("/signup", json={}, headers=client_address(n)) for n in range(count)]
    for session in sessions:
        session.raise_for_status()
    return [session.json()["refresh_token"] for session in sessions]


def client_address(number: int) -> dict[str, str]:
    """A client of its own, in both forwarding headers that servers of this dialect may trust."""
    address = f"2001:db8:ffff::{number:x}"
    return {"Sb-Forwarded-For": address, "X-Forwarded-For": address}


async def count_users(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.transaction() as conn:
            return (await conn.execute(select(func.count()).select_from(users))).scalar_one()
    finally:
        await db.dispose()


def consistency_notes(database_url: str, users_before: int, sign_ins: Measurement, load: Load, log: Path) -> list[str]:
    """Every sign-in answered 200 made one user (give or take the requests in flight when wrk stopped), and
    the server logged no failure."""
    notes = []
    created = asyncio.run(count_users(database_url)) - users_before
    if not sign_ins.succeeded <= created <= sign_ins.succeeded + load.connections:
        notes.append(f"{created} users created for {sign_ins.succeeded} sign-ins answered 200")
    failures = [line for line in log.read_text().splitlines() if line.startswith(("ERROR", "Traceback"))]
    if failures:
        notes.append(f"{len(failures)} failures logged, first: {failures[0]}")
    return notes


def measure_reference(database: str, database_url: str, *, workers: int, load: Load) -> Figures:
    label = f"guestpass {database}, {workers} worker{'s' * (workers > 1)}"
    with (
        scratch_directory("guestpass-sign-ins-") as workdir,
        reference_server(workdir, database_url, workers, load.password_cost) as server,
    ):
        root, pids = server.root, server.pids
        auth_url = root + AUTH_PREFIX
        tokens_file = workdir / "refresh_tokens.txt"
        # twice the connections: wrk asks its script for one request it never sends, which loses a token
        tokens_file.write_text("\n".join(refresh_token_pool(auth_url, 2 * load.connections)) + "\n")
        users_before = asyncio.run(count_users(database_url))
        ceiling = with_server_cpu(pids, lambda: load.run(root + HELLO_PATH, "hello"))
        with flame_graph(pids[0], load, f"guestpass-{database}-{workers}w"):
            sign_ins, peak_rss, startup_peak_rss = measure_sign_ins(auth_url + "/signup", pids, load)
        notes = consistency_notes(database_url, users_before, sign_ins, load, server.log)
        refreshes, passwords = measure_token_grants(auth_url, pids, load, tokens_file)
    if over := [f"{mib:.0f}" for mib in peak_rss if mib > RSS_TARGET_MIB]:
        notes.append(f"peak RSS {', '.join(over)} MiB during the sign-ins, over the {RSS_TARGET_MIB} MiB target")
    return Figures(label, ceiling, sign_ins, refreshes, passwords, peak_rss, startup_peak_rss, notes)


def measure_token_grants(auth_url: str, pids: list[int], load: Load, tokens_file: Path) -> tuple[Measurement, ...]:
    """Refreshes rotating the pooled tokens, then password sign-ins of one user signed up for them."""
    refresh_url = auth_url + "/token?grant_type=refresh_token"
    refreshes = with_server_cpu(pids, lambda: load.run(refresh_url, "refresh", str(tokens_file)))
    passwords = measure_password_sign_ins(auth_url + "/signup", auth_url + "/token?grant_type=password", pids, load)
    return refreshes, passwords


def measure_password_sign_ins(
    sign_up_url: str, sign_in_url: str, pids: list[int], load: Load, **account: str
) -> Measurement:
    """Password sign-ins of one user, signed up first with `account`'s further fields."""
    email, password = f"bench-{time.time_ns()}@example.com", "benchmark-password-1"
    body = {"email": email, "password": password, **account}
    httpx.post(sign_up_url, json=body, timeout=30).raise_for_status()
    return with_server_cpu(pids, lambda: load.run(sign_in_url, "password_sign_in", email, password))


def on_database(database: str, measure: Callable[[str], Figures]) -> Figures:
    if database == "sqlite":
        with scratch_directory("guestpass-sign-ins-db-") as directory:
            return measure(f"sqlite:///{directory / 'bench.db'}")

    async def run() -> Figures:
        async with scratch_database() as url:
            return await asyncio.to_thread(measure, url)

    return asyncio.run(run())


# --- Better Auth -------------------------------------------------------------------------------------------


def measure_better_auth(load: Load) -> Figures:
    with scratch_directory("guestpass-better-auth-") as workdir, better_auth_server(workdir) as (root, pid):
        sign_in_url = root + SIGN_IN_PATH
        with httpx.Client(timeout=30) as http:  # warm-up, as many sign-ins as the reference server gets
            for _ in range(2 * load.connections):
                http.post(sign_in_url, json={}).raise_for_status()
                http.cookies.clear()  # a signed-in visitor may not sign in anonymously again
        ceiling = with_server_cpu([pid], lambda: load.run(root + HELLO_PATH, "hello"))
        sign_ins, peak_rss, startup_peak_rss = measure_sign_ins(sign_in_url, [pid], load)
        passwords = measure_password_sign_ins(  # its email sign-ins, with its own hashing (scrypt)
            root + BETTER_AUTH_SIGN_UP_PATH, root + BETTER_AUTH_PASSWORD_PATH, [pid], load, name="Benchmark"
        )
    label = "Better Auth, SQLite, 1 process"
    return Figures(label, ceiling, sign_ins, None, passwords, peak_rss, startup_peak_rss, [])


# --- Supabase Auth (GoTrue), already running --------------------------------------------------------------


def measure_gotrue(root: str, load: Load) -> Figures:
    """The server at `root` (its auth root, where /signup and /health answer), found by its listening port."""
    pids = [procfs.listening_pid(urlsplit(root).port or 80)]
    version = httpx.get(root + "/health", timeout=10).json().get("version", "unknown version")
    with scratch_directory("guestpass-gotrue-") as workdir:
        tokens_file = workdir / "refresh_tokens.txt"
        tokens_file.write_text("\n".join(refresh_token_pool(root, 2 * load.connections)) + "\n")
        ceiling = with_server_cpu(pids, lambda: load.run(root + "/health", "hello"))
        sign_ins, peak_rss, startup_peak_rss = measure_sign_ins(root + "/signup", pids, load)
        refreshes, passwords = measure_token_grants(root, pids, load, tokens_file)
    label = f"GoTrue {version}"[:31]
    return Figures(label, ceiling, sign_ins, refreshes, passwords, peak_rss, startup_peak_rss, [])


def gotrue_unavailable(root: str) -> str | None:
    try:
        httpx.get(root + "/health", timeout=5).raise_for_status()
    except httpx.HTTPError as error:
        return f"{root}/health does not answer ({error})"
    return None


# --- report ------------------------------------------------------------------------------------------------

HEADER = " │ ".join(
    [
        f"{'server':<31} {'ceiling/s':>9} {'CPU ms':>6}",
        f"{'anon sign-ins/s':>15} {'p50 ms':>7} {'p99 ms':>7} {'of ceil':>7} {'CPU ms':>6} {'busy':>5}",
        f"{'refresh/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'of ceil':>7} {'CPU ms':>6} {'busy':>5}",
        f"{'password/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'of ceil':>7} {'CPU ms':>6} {'busy':>5}",
        "peak RSS MiB",
    ]
)


def flow_columns(flow: Measurement | None, ceiling: Measurement, width: int) -> str:
    if flow is None:
        return f"{'—':>{width}} {'':>7} {'':>7} {'':>7} {'':>6} {'':>5}"
    return (
        f"{flow.per_second:>{width}.1f} {flow.p50_ms:>7.1f} {flow.p99_ms:>7.1f} "
        f"{100 * flow.per_second / ceiling.per_second:>6.1f}% {flow.server_cpu_ms:>6.2f} "
        f"{100 * flow.machine_busy:>4.0f}%"
    )


def row(figures: Figures) -> str:
    rss = "  ".join(
        f"{now:.0f} ({start:.0f})"
        for now, start in zip(figures.peak_rss_mib, figures.startup_peak_rss_mib, strict=True)
    )
    return (
        f"{figures.label:<31} {figures.ceiling.per_second:>9.0f} {figures.ceiling.server_cpu_ms:>6.2f} │ "
        f"{flow_columns(figures.sign_ins, figures.ceiling, 15)} │ "
        f"{flow_columns(figures.refreshes, figures.ceiling, 9)} │ "
        f"{flow_columns(figures.passwords, figures.ceiling, 10)} │ {rss}"
    )


def problems(figures: Figures) -> list[str]:
    failed = {"sign-ins": figures.sign_ins, "refreshes": figures.refreshes, "password sign-ins": figures.passwords}
    return [f"{flow.failed} {name} failed" for name, flow in failed.items() if flow and flow.failed] + figures.notes


def report(results: list[Figures], better_auth: Figures | None, others: list[Figures]) -> None:
    everything = [*results, *([better_auth] if better_auth else []), *others]
    print()
    print(HEADER)
    for figures in everything:
        print(row(figures))
    print(
        "CPU ms: the server processes' CPU time per request answered. Busy: the share of all cores busy meanwhile "
        "(server, wrk, PostgreSQL and anything else). Peak RSS: of each worker during the sign-ins (in brackets: "
        "from its start to the sign-ins)."
    )
    for figures in everything:
        if found := problems(figures):
            print(f"{figures.label}: " + "; ".join(found))
    print()
    for figures in results:
        for line in verdicts(figures, better_auth):
            print(f"{figures.label:<32} {line}")
    for line in scaling(results):
        print(line)


def scaling(results: list[Figures]) -> list[str]:
    """Two workers against one, per database: a second worker can only add what the cores have left."""
    lines = []
    for one in results:
        two = next((f for f in results if f.label == one.label.replace(", 1 worker", ", 2 workers")), None)
        if one.label.endswith(", 1 worker") and two is not None:
            lines.append(
                f"{two.label:<32} anonymous sign-ins: {two.sign_ins.per_second / one.sign_ins.per_second:.2f}x one "
                f"worker's (target {WORKERS_SCALING_TARGET}x); with one worker the cores were "
                f"{100 * one.sign_ins.machine_busy:.0f}% busy, with two {100 * two.sign_ins.machine_busy:.0f}%"
            )
    return lines


def verdicts(figures: Figures, better_auth: Figures | None) -> list[str]:
    """Each flow against its targets, by throughput and (steadier on a busy machine) by CPU time. Better Auth
    has no refresh grant (its sessions are cookies): refreshes are held against its anonymous sign-ins. Password
    sign-ins, which hash, have no share of the ceiling to reach."""
    anonymous = better_auth.sign_ins if better_auth else None
    passwords = better_auth.passwords if better_auth else None
    flows = [
        ("anonymous sign-ins", figures.sign_ins, CEILING_SHARE_TARGET, anonymous, "anonymous sign-ins"),
        ("refreshes", figures.refreshes, CEILING_SHARE_TARGET, anonymous, "anonymous sign-ins"),
        ("password sign-ins", figures.passwords, None, passwords, "email sign-ins"),
    ]
    targets = {"anonymous sign-ins": BETTER_AUTH_RATIO_TARGET, "email sign-ins": BETTER_AUTH_PASSWORD_RATIO_TARGET}
    return [
        f"{name}: {share(flow, figures.ceiling, ceiling_target)}"
        + (comparison(flow, other, what, targets[what]) if other else "")
        for name, flow, ceiling_target, other, what in flows
        if flow is not None
    ]


def share(flow: Measurement, ceiling: Measurement, target: float | None) -> str:
    return (
        f"{100 * flow.per_second / ceiling.per_second:.1f}% of the ceiling "
        f"(by CPU per request {100 * ceiling.server_cpu_ms / flow.server_cpu_ms:.1f}%"
        + (f"; target {100 * target:.0f}%)" if target else ")")
    )


def comparison(flow: Measurement, other: Measurement, what: str, target: float) -> str:
    return (
        f", {flow.per_second / other.per_second:.2f}x Better Auth's {what} "
        f"(by CPU per request {other.server_cpu_ms / flow.server_cpu_ms:.2f}x; target {target:.0f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", choices=DATABASES, action="append", help="repeatable; default: both")
    parser.add_argument("--workers", type=int, action="append", help="repeatable; default: 1 and 2")
    parser.add_argument("--no-better-auth", action="store_true")
    parser.add_argument(
        "--gotrue-url",
        help="root of a running Supabase Auth (GoTrue) server to measure beside, e.g. http://127.0.0.1:9999",
    )
    parser.add_argument("--flame-graphs", type=Path, metavar="DIR", help="py-spy flame graphs of the sign-ins")
    parser.add_argument("--password-cost", choices=("test", "default"), default="test", help="the reference's hashing")
    args = parser.parse_args()
    if not loadgen.available():
        sys.exit(f"wrk is not installed ({loadgen.INSTALL_HINT})")
    if args.flame_graphs:
        if shutil.which("py-spy") is None:
            sys.exit("py-spy is not installed (pip install py-spy)")
        args.flame_graphs.mkdir(parents=True, exist_ok=True)
    load = Load(args.connections, args.seconds, args.flame_graphs, args.password_cost)
    one, five, _ = os.getloadavg()
    print(
        f"wrk, 1 thread, {load.connections} connections, {load.seconds} s per measurement; {os.cpu_count()} cores "
        f"shared by the server, wrk and anything else running (load average {one:.2f}, 5 min {five:.2f})"
    )
    results = []
    for database in args.database or DATABASES:
        for workers in args.workers or (1, 2):
            print(f"measuring guestpass on {database} with {workers} worker(s)", flush=True)
            results.append(on_database(database, partial(measure_reference, database, workers=workers, load=load)))
    better_auth = None
    if not args.no_better_auth:
        if why_not := unavailable():
            print(f"skipping Better Auth: {why_not}")
        else:
            print("measuring Better Auth", flush=True)
            better_auth = measure_better_auth(load)
    others = []
    if args.gotrue_url:
        root = args.gotrue_url.rstrip("/")
        if why_not := gotrue_unavailable(root):
            print(f"skipping Supabase Auth: {why_not}")
        else:
            print(f"measuring Supabase Auth at {root}", flush=True)
            others.append(measure_gotrue(root, load))
    report(results, better_auth, others)


if __name__ == "__main__":
    main()
