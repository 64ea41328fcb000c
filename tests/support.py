"""Helpers for the project's tests: running `guestpass check` and `guestpass serve` as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from guestpass.conformance.embedded import ServerProcess

CHECK_TIMEOUT = 600
# Algorithm confusion and key ids need tokens signed with a key pair: the embedded (HS256) servers
# report them not applicable, and test_suite_passes_with_es256_tokens runs them.
KEY_PAIR_ONLY = frozenset({"CORE-034", "CORE-035"})
REPO = Path(__file__).resolve().parents[1]


def run_check(
    results: Path, *args: str, python: str = sys.executable, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Runs `guestpass check` in its own process and returns it with the parsed results file."""
    completed = subprocess.run(
        [python, "-m", "guestpass.conformance.cli", "check", "--results", str(results), *args],
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
        cwd=cwd,
    )
    document = json.loads(results.read_text()) if results.exists() else {}
    return completed, document


def outcomes(document: dict[str, Any]) -> dict[str, str]:
    return {scenario["id"]: scenario["outcome"] for scenario in document.get("scenarios", [])}


@contextmanager
def served(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """`guestpass serve --port 0 --write-target` as a separate process; yields the target it wrote."""
    target_file, log_file = workdir / "served.target.toml", workdir / "served.log"
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "guestpass.conformance.cli",
                "serve",
                "--port",
                "0",
                "--write-target",
                str(target_file),
                *args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server = ServerProcess(process, target_file, log_file)
    try:
        yield server.wait_until_listening()
    finally:
        server.stop()


def children(pid: int) -> list[int]:
    """The processes `pid` started that still exist; reads /proc, so Linux only."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def descendants(pid: int) -> list[int]:
    found = children(pid)
    return found + [grandchild for child in found for grandchild in descendants(child)]


def running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie has ended); reads /proc, so Linux only."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def ends_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not running(pid)
