"""The fork server of `guestpass check`'s parallel workers: a forked worker takes over the streams,
environment and working directory of the gateway process pytest-xdist started, starts with the suite
already imported and parsed, and leaves pytest's assertion rewriting as it was; where no fork server
listens, the gateway runs its bootstrap line in a new interpreter."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import ends_within, running

from guestpass.conformance import forkserver

pytestmark = pytest.mark.skipif(not forkserver.available(), reason="the fork server runs on Linux")

BOOTSTRAP = """import json, os, sys
line = sys.stdin.readline().strip()
print("stderr of the worker", file=sys.stderr)
print(json.dumps({"line": line, "probe": os.environ.get("PROBE"), "cwd": os.getcwd(), "argv": sys.argv,
                  "preloaded": "guestpass.conformance.steps.core" in sys.modules, "pid": os.getpid()}))
"""


def gateway(python: str, cwd: Path, bootstrap: str = BOOTSTRAP) -> subprocess.CompletedProcess[str]:
    """The gateway process as pytest-xdist starts it: `<python> -u -c <bootstrap line>`."""
    return subprocess.run(
        [*shlex.split(python), "-u", "-c", bootstrap],
        input="the first line\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PROBE": "the gateway's environment"},
        timeout=60,
    )


def test_a_forked_worker_takes_over_the_gateways_streams_environment_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    with forkserver.fork_server(tmp_path) as python:
        assert python is not None
        ran = gateway(python, folder)
    assert ran.returncode == 0, ran.stderr
    worker = json.loads(ran.stdout)
    assert worker == {
        "line": "the first line",
        "probe": "the gateway's environment",
        "cwd": str(folder),
        "argv": ["-c"],
        "preloaded": True,
        "pid": worker["pid"],
    }
    assert ran.stderr == "stderr of the worker\n"


@pytest.mark.parametrize(("ending", "status"), [("pass", 0), ("raise SystemExit(3)", 3), ("1 / 0", 1)])
def test_the_gateway_ends_with_its_workers_exit_status(tmp_path: Path, ending: str, status: int) -> None:
    with forkserver.fork_server(tmp_path) as python:
        assert python is not None
        ran = gateway(python, tmp_path, ending)
    assert ran.returncode == status, ran.stderr
    assert ("ZeroDivisionError" in ran.stderr) is (ending == "1 / 0")


def test_where_no_fork_server_listens_the_gateway_starts_a_new_interpreter(tmp_path: Path) -> None:
    with forkserver.fork_server(tmp_path) as python:
        assert python is not None
    ran = gateway(python, tmp_path)  # the server has stopped: its socket refuses
    assert ran.returncode == 0, ran.stderr
    worker = json.loads(ran.stdout)
    assert worker["line"] == "the first line" and worker["probe"] == "the gateway's environment"
    assert worker["preloaded"] is False


PROBE_PLUGIN = """import json, os, sys

def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        with open(os.environ["PROBE_FILE"], "a") as probe:
            parent = open(f"/proc/{os.getppid()}/cmdline").read().replace(chr(0), " ")
            steps = "guestpass.conformance.steps.core" in sys.modules
            probe.write(json.dumps({"worker": worker, "parent": parent, "steps": steps}) + chr(10))
"""


def test_the_workers_of_guestpass_check_are_forked_ready_and_their_plugins_rewritten(tmp_path: Path) -> None:
    (tmp_path / "probe_plugin.py").write_text(PROBE_PLUGIN)
    probe = tmp_path / "probe.jsonl"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PROBE_FILE": str(probe)}
    check = ["check", "--capability", "core", "--workers", "2", "--results", str(tmp_path / "results.json")]
    ran = subprocess.run(
        [sys.executable, "-m", "guestpass.conformance.cli", *check, "--", "-p", "probe_plugin"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "PytestAssertRewriteWarning" not in ran.stdout + ran.stderr, ran.stdout[-3000:]
    workers = [json.loads(line) for line in probe.read_text().splitlines()]
    assert sorted(worker["worker"] for worker in workers) == ["gw0", "gw1"]
    for worker in workers:
        assert "guestpass.conformance.forkserver serve" in worker["parent"], worker
        assert worker["steps"], f"{worker['worker']} imported the steps itself"


def test_a_fork_server_whose_controller_was_killed_ends(tmp_path: Path) -> None:
    path = tmp_path / "forkserver.sock"
    serve = [sys.executable, "-m", "guestpass.conformance.forkserver", "serve", str(path)]
    start = (
        "import subprocess, sys, time\n"
        f"server = subprocess.Popen({serve!r})\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    controller = subprocess.Popen([sys.executable, "-c", start], stdout=subprocess.PIPE, text=True)
    assert controller.stdout is not None
    server = int(controller.stdout.readline())
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), "the fork server did not start"
    controller.kill()
    controller.wait()
    assert ends_within(server, 10), "the fork server outlived its controller"


def test_a_worker_ends_when_its_gateway_process_is_killed(tmp_path: Path) -> None:
    """pytest-xdist kills a gateway's process to stop a worker that did not end by itself."""
    with forkserver.fork_server(tmp_path) as python:
        assert python is not None
        gateway_process = subprocess.Popen(
            [*shlex.split(python), "-u", "-c", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(60)"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert gateway_process.stdout is not None
        worker = int(gateway_process.stdout.readline())
        assert worker != gateway_process.pid and running(worker)
        gateway_process.kill()
        gateway_process.wait()
        assert ends_within(worker, 10), "the worker outlived its gateway's process"
