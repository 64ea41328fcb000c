"""Load from wrk, a separate process on loopback: one flow (a Lua script in lua/), N keep-alive connections
on one wrk thread, for a bounded time. wrk comes from Debian's package `wrk`."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("lua")
INSTALL_HINT = "apt-get install wrk"


@dataclass(frozen=True)
class Measurement:
    succeeded: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_seconds: float = 0.0
    machine_busy: float = 0.0  # share of all the machine's cores busy (server, wrk, database, anything else)

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU time per successful request: steadier than throughput on a busy machine."""
        return 1000 * self.server_cpu_seconds / max(self.succeeded, 1)


def available() -> bool:
    return shutil.which("wrk") is not None


def script_for(flow: str) -> Path:
    """The flow's script after the shared reporting function, in a temporary file."""
    text = (LUA / "report.lua").read_text() + (LUA / f"{flow}.lua").read_text()
    with tempfile.NamedTemporaryFile("w", prefix=f"guestpass-{flow}-", suffix=".lua", delete=False) as file:
        file.write(text)
    return Path(file.name)


def run(url: str, flow: str, *, connections: int, seconds: int, script_args: Sequence[str] = ()) -> Measurement:
    """`flow` against `url` for `seconds`; a response other than 2xx/3xx, or a socket error, is a failure."""
    script = script_for(flow)
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "30s",
        "--script",
        str(script),
        url,
        "--",
        *script_args,
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    finally:
        script.unlink()
    totals = json.loads(completed.stdout.strip().splitlines()[-1])
    failed = totals["status_errors"] + totals["socket_errors"]
    return Measurement(
        succeeded=totals["requests"] - totals["status_errors"],
        failed=failed,
        seconds=totals["duration_us"] / 1e6,
        p50_ms=totals["p50_us"] / 1000,
        p99_ms=totals["p99_us"] / 1000,
    )
