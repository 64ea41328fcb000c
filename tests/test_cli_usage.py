"""What a newcomer meets on the terminal, with the real `guestpass` command: target files checked before
anything runs, clear one-line usage errors (exit 2, no files left behind), failures named by scenario ID
with what was expected and what came, and one vocabulary from the summary to pytest's footer."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from support import REPO, outcomes, run_check, served

from guestpass.conformance.embedded import start_server
from guestpass.fixtures.ports import free_port


def guestpass(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "guestpass.conformance.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)


def one_line_error(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 2, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    return lines[0]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("served")
    with served(
        workdir, "--profile", "test", "--smtp-port", str(free_port()), "--database-url", f"sqlite:///{workdir}/s.db"
    ) as target:
        yield target


def variant(reference: dict[str, Any], path: Path, change: Any) -> Path:
    document = tomllib.loads(tomli_w.dumps(reference))
    change(document)
    path.write_text(tomli_w.dumps(document))
    return path


def test_a_target_without_the_service_role_key_makes_nothing_fail(reference: dict[str, Any], tmp_path: Path) -> None:
    target = variant(reference, tmp_path / "t.toml", lambda document: document["keys"].pop("service_role"))
    completed, document = run_check(tmp_path / "r.json", "--target", str(target), "--capability", "sessions")
    assert completed.returncode == 0, completed.stdout[-4000:]
    assert set(outcomes(document).values()) <= {"passed", "not_applicable"}
    assert outcomes(document)["SESS-001"] == "passed"


def test_wrong_types_and_unknown_keys_are_usage_errors_naming_the_key(
    reference: dict[str, Any], tmp_path: Path
) -> None:
    def mistakes(document: dict[str, Any]) -> None:
        document["rate_limits"]["anonymous_sign_ins"] = "thirty"
        document["kyes"] = document.pop("keys")

    target = variant(reference, tmp_path / "t.toml", mistakes)
    line = one_line_error(guestpass("check", "--target", str(target), "--results", str(tmp_path / "r.json")))
    assert "rate_limits.anonymous_sign_ins: 'thirty' is not of type 'integer'" in line
    assert "unknown key kyes (did you mean keys?)" in line
    assert not (tmp_path / "r.json").exists()


def test_a_base_url_without_the_auth_root_is_refused_with_the_right_one(reference: dict[str, Any]) -> None:
    root = reference["base_url"].removesuffix("/auth/v1")
    line = one_line_error(guestpass("check", "--base-url", root))
    assert f"use {reference['base_url']}" in line


def test_reap_without_a_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    line = one_line_error(guestpass("reap", "--older-than", "1d", cwd=tmp_path))
    assert "no database at guestpass.db" in line
    assert list(tmp_path.iterdir()) == []


def test_reap_on_a_database_without_tables_asks_for_migrate(tmp_path: Path) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    line = one_line_error(guestpass("reap", "--older-than", "1d", "--database-url", f"sqlite:///{tmp_path}/empty.db"))
    assert "guestpass migrate" in line


def test_report_refuses_a_missing_file_and_a_file_that_is_not_results(tmp_path: Path) -> None:
    assert "cannot read missing.json" in one_line_error(guestpass("report", "missing.json", cwd=tmp_path))
    (tmp_path / "empty.json").write_text("{}")
    assert "is not a guestpass results file" in one_line_error(guestpass("report", "empty.json", cwd=tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty.json"]


@pytest.mark.parametrize("workers", ["0", "2"])
def test_embedded_servers_that_cannot_start_are_a_usage_error_saying_why(tmp_path: Path, workers: str) -> None:
    database = f"sqlite:///{tmp_path}/missing/guestpass.db"
    completed = guestpass("check", "--workers", workers, "--database-url", database, cwd=tmp_path)
    assert completed.returncode == 2, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "the reference server did not start" in completed.stderr
    assert f"cannot open the database {database}: unable to open database file" in completed.stderr


def test_login_at_a_closed_port_is_one_line() -> None:
    line = one_line_error(guestpass("login", "--server", f"http://127.0.0.1:{free_port()}/auth/v1"))
    assert "cannot reach" in line


def test_spec_into_a_closed_pipe_is_quiet() -> None:
    command = [sys.executable, "-m", "guestpass.conformance.cli", "spec"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""


@pytest.mark.parametrize(
    ("option", "given", "suggestion"),
    [("--id", "CORE-9999", "CORE-0"), ("--capability", "merg", "did you mean merge?")],
)
def test_an_unknown_selection_is_named_with_the_nearest(
    tmp_path: Path, option: str, given: str, suggestion: str
) -> None:
    line = one_line_error(guestpass("check", option, given, "--results", str(tmp_path / "r.json")))
    assert given in line and suggestion in line
    assert not (tmp_path / "r.json").exists()


def test_a_failure_is_named_by_id_with_expected_and_actual_code_and_a_replay(tmp_path: Path) -> None:
    command = (sys.executable, str(REPO / "tests" / "defects" / "serve.py"), "refusal-without-code")
    server = start_server(command, tmp_path, "defective", None, ["--smtp-port", str(free_port())])
    try:
        server.wait_until_listening()
        completed, _ = run_check(tmp_path / "r.json", "--target", str(server.target_file), "--id", "CORE-023")
    finally:
        server.stop()
    assert completed.returncode == 1
    out = completed.stdout
    assert "FAILED CORE-023 (MUST, core): Logout answers 204 and ends the session" in out
    assert "requirement: POST /logout MUST answer 204" in out
    assert "status 403 as expected; expected error code session_not_found, got None" in out
    assert f"replay: guestpass check --target {server.target_file} --id CORE-023" in out
    assert "test_scenarios.py::" not in out


def test_serve_says_where_it_listens(tmp_path: Path) -> None:
    with served(tmp_path, "--profile", "test", "--database-url", f"sqlite:///{tmp_path}/s.db") as target:
        log = (tmp_path / "served.log").read_text()
    assert f"listening on {target['base_url']}" in log
    assert f"database sqlite:///{tmp_path}/s.db" in log
    assert "profile test" in log and f"target file {tmp_path / 'served.target.toml'}" in log


def test_the_pytest_footer_speaks_the_summary_vocabulary(reference: dict[str, Any], tmp_path: Path) -> None:
    completed, document = run_check(tmp_path / "r.json", "--base-url", reference["base_url"], "--capability", "core")
    assert "not_applicable" in outcomes(document).values()
    footer = completed.stdout.strip().splitlines()[-2]
    assert "not applicable" in footer and "skipped" not in footer and "xfailed" not in footer
