"""Better Auth (benchmarks/better_auth/server.mjs) as a Node process on a free port and a fresh SQLite file."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).with_name("better_auth")
SIGN_IN_PATH = "/api/auth/sign-in/anonymous"
SIGN_UP_PATH = "/api/auth/sign-up/email"
PASSWORD_PATH = "/api/auth/sign-in/email"
STARTUP_TIMEOUT = 30


def unavailable() -> str | None:
    """Why Better Auth cannot run here, or None; installs its packages (npm ci) the first time."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed"
    if not (PROJECT / "node_modules").is_dir():
        print("installing Better Auth: npm ci in benchmarks/better_auth", flush=True)
        completed = subprocess.run(["npm", "ci"], cwd=PROJECT, capture_output=True, text=True)
        if completed.returncode != 0:
            return f"npm ci failed: {completed.stderr.strip()[-500:]}"
    return None


@contextmanager
def better_auth_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """Yields the server's root URL and pid."""
    log_file = workdir / "better-auth.log"
    command = ["node", "server.mjs", "--database", str(workdir / "better-auth.db")]
    with log_file.open("w") as log:
        process = subprocess.Popen(command, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield wait_for_line(process, log_file, "listening on ").strip(), process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for_line(process: subprocess.Popen[bytes], log_file: Path, prefix: str) -> str:
    """The rest of the first line of `log_file` that starts with `prefix`, once the process writes it."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        for line in log_file.read_text().splitlines():
            if line.startswith(prefix):
                return line.removeprefix(prefix)
        time.sleep(0.1)
    raise RuntimeError(f"Better Auth did not start:\n{log_file.read_text()[-2000:]}")
