"""The reporting commands as a user runs them: report, compare, spec and targets init."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import run_check

from guestpass.conformance.target import Target


def guestpass(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "guestpass.conformance.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_check_writes_the_report_and_compare_and_report_render_it(tmp_path: Path) -> None:
    completed, _ = run_check(tmp_path / "results.json", "--capability", "sessions")
    assert completed.returncode == 0 and (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert guestpass("report", str(tmp_path / "results.json"), "--html", str(tmp_path / "again.html")).returncode == 0
    assert (tmp_path / "again.html").stat().st_size > 0
    compared = guestpass("compare", str(tmp_path / "results.json"), str(tmp_path / "results.json"), "--label", "ours")
    assert compared.returncode == 0
    assert "ours" in compared.stdout and "SESS-001" in compared.stdout


def test_spec_renders_markdown_and_html(tmp_path: Path) -> None:
    completed = guestpass("spec", "--html", str(tmp_path / "spec.html"), "--markdown", str(tmp_path / "spec.md"))
    assert completed.returncode == 0
    assert "MFA-001" in (tmp_path / "spec.md").read_text() and "MFA-001" in (tmp_path / "spec.html").read_text()


def test_targets_init_writes_a_loadable_file_once(tmp_path: Path) -> None:
    path = tmp_path / "target.toml"
    assert guestpass("targets", "init", str(path), "--base-url", "http://127.0.0.1:9/auth/v1").returncode == 0
    assert Target.load(path).base_url == "http://127.0.0.1:9/auth/v1"
    assert guestpass("targets", "init", str(path)).returncode == 2


def test_summary_by_capability_is_printed(tmp_path: Path) -> None:
    completed, document = run_check(tmp_path / "results.json", "--capability", "sessions")
    assert document["unexpected"] == 0
    assert "guestpass summary by capability" in completed.stdout


def test_parallel_workers_report_every_scenario(tmp_path: Path) -> None:
    completed, document = run_check(tmp_path / "results.json", "--capability", "sessions", "--workers", "2")
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert sorted(entry["id"] for entry in document["scenarios"]) == ["SESS-001", "SESS-002", "SESS-003", "SESS-004"]
    assert document["target"]["name"] == "guestpass reference server"
    assert "guestpass summary by capability" in completed.stdout
