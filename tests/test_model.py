"""`guestpass model`: the reference server agrees with the model on SQLite and PostgreSQL, and a real
defect applied from outside is caught with a short, shrunk failing program."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from guestpass.conformance.embedded import reference_servers

DEFECTS_DIR = Path(__file__).parent / "defects"
BUDGET = ("--seed", "1", "--steps", "20")
TIMEOUT = 300


def guestpass_model(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestpass.conformance.cli", "model", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def failing_program(output: str) -> list[str]:
    _, _, rest = output.partition("the failing program, shrunk:\n")
    program, _, _ = rest.partition("\n\n")
    return [line.strip() for line in program.splitlines()]


def test_the_reference_server_agrees_with_the_model_on_sqlite() -> None:
    completed = guestpass_model(*BUDGET, "--max-examples", "15")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "15 programs of up to 20 steps agree with the model (seed 1" in completed.stdout


def test_the_reference_server_agrees_with_the_model_on_postgresql(postgres_database_url: str) -> None:
    completed = guestpass_model(*BUDGET, "--max-examples", "12", "--database-url", postgres_database_url)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_model_catches_a_rotated_refresh_token_still_accepted(tmp_path: Path) -> None:
    command = [sys.executable, str(DEFECTS_DIR / "serve.py"), "rotated-token-accepted"]
    with reference_servers(tmp_path, command=command, variants=False):
        completed = guestpass_model("--target", str(tmp_path / "target.toml"), "--max-examples", "20", "--steps", "8")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "expected 400 refresh_token_already_used, got 200" in completed.stdout
    program = failing_program(completed.stdout)
    assert program[0] == "state = AuthModel()" and program[-1] == "state.teardown()", completed.stdout
    assert program[-2].startswith("state.replay_rotated_token("), completed.stdout
    assert len(program) <= 5, completed.stdout  # a session, maybe its account, the replay
    assert "[redacted]" in completed.stdout and "eyJ" not in completed.stdout  # the transcript keeps no token
