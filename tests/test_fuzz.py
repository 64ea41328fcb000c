"""`guestpass fuzz` as a user runs it: Schemathesis against the reference server on SQLite and PostgreSQL
with a fixed seed, against a server given by a target file, and against a defective server it must fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from guestpass.conformance.capabilities import CAPABILITIES
from guestpass.conformance.embedded import start_server
from guestpass.conformance.fuzz_plugin import shipped_document_for
from guestpass.conformance.target import Target
from guestpass.fixtures.ports import free_port

FUZZ_TIMEOUT = 900
SEED = "20240101"
DEFECTS_DIR = Path(__file__).parent / "defects"


def fuzz(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "guestpass.conformance.cli", "fuzz", "--seed", SEED, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=FUZZ_TIMEOUT)


def requests_generated(output: str) -> int:
    found = re.search(r"(\d+) requests generated for (\d+) operations", output)
    assert found, output[-3000:]
    return int(found.group(1))


def test_fuzz_finds_nothing_in_the_reference_server_on_sqlite() -> None:
    completed = fuzz()
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]
    assert "document: the target's /openapi.json" in completed.stdout
    assert requests_generated(completed.stdout) > 100


def test_fuzz_finds_nothing_in_the_reference_server_on_postgres(postgres_database_url: str) -> None:
    completed = fuzz("--database-url", postgres_database_url)
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]
    assert requests_generated(completed.stdout) > 100


def test_fuzz_reports_server_errors_of_a_defective_server(tmp_path: Path) -> None:
    command = (sys.executable, str(DEFECTS_DIR / "serve.py"), "malformed-json-500")
    server = start_server(command, tmp_path, "defective", None, ["--smtp-port", str(free_port())])
    try:
        server.wait_until_listening()
        completed = fuzz("--target", str(server.target_file), "--max-examples", "3")
    finally:
        server.stop()
    assert completed.returncode == 1, completed.stdout[-6000:]
    assert "Server error" in completed.stdout


def test_fuzz_refuses_an_unreachable_target() -> None:
    completed = fuzz("--base-url", f"http://127.0.0.1:{free_port()}/auth/v1")
    assert completed.returncode == 2
    assert "unreachable" in completed.stderr


def test_a_fuzzer_that_generated_nothing_blames_itself_not_the_server(tmp_path: Path) -> None:
    (tmp_path / "broken_fuzzer.py").write_text(
        "import pytest\n\n"
        "@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_runtest_call(item):\n"
        "    raise AttributeError(\"'Function' object has no attribute '_nodeid'\")\n"
    )
    command = [sys.executable, "-m", "guestpass.conformance.cli", "fuzz", "--", "-p", "broken_fuzzer"]
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}
    completed = subprocess.run(command, capture_output=True, text=True, timeout=FUZZ_TIMEOUT, env=environment)
    assert completed.returncode == 2, completed.stdout[-3000:]
    assert "failed inside the fuzzing tool" in completed.stderr
    assert "says nothing about the server" in completed.stdout


def test_without_a_served_document_the_shipped_one_is_cut_to_the_claimed_capabilities() -> None:
    core_only = shipped_document_for(Target(base_url="http://127.0.0.1:9/auth/v1"))["paths"]
    assert {"/signup", "/token", "/user", "/logout"} <= core_only.keys()
    assert not {"/cli", "/factors", "/admin/users", "/openapi.json"} & core_only.keys()
    everything = shipped_document_for(
        Target(base_url="http://127.0.0.1:9/auth/v1", capabilities=frozenset(CAPABILITIES))
    )
    assert {"/cli", "/factors", "/admin/users"} <= everything["paths"].keys()
