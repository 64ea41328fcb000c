"""The published comparison with Supabase Auth: the committed results are valid results files, the
Markdown page is what `guestpass compare` makes of them, and every GoTrue failure is expected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema

from guestpass.conformance.expectations import load_expectations
from guestpass.reports import results_schema

REPO = Path(__file__).resolve().parents[1]
RESULTS = {
    "guestpass reference server": REPO / "implementations" / "reference" / "results.json",
    "Supabase Auth v2.196.0-2-gbc32168e": REPO / "implementations" / "gotrue" / "results.json",
}
PAGE = REPO / "docs" / "compatibility-results.md"


def compare(*extra: str) -> subprocess.CompletedProcess[str]:
    labels = [word for label in RESULTS for word in ("--label", label)]
    command = [sys.executable, "-m", "guestpass.conformance.cli", "compare", *map(str, RESULTS.values()), *labels]
    return subprocess.run([*command, *extra], capture_output=True, text=True, timeout=120)


def results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_the_committed_results_follow_the_schema() -> None:
    for path in RESULTS.values():
        jsonschema.validate(results(path), results_schema())


def test_the_page_is_what_compare_makes_of_the_committed_results(tmp_path: Path) -> None:
    completed = compare("--markdown", str(tmp_path / "page.md"), "--html", str(tmp_path / "page.html"))
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "page.md").read_text() == PAGE.read_text(), "regenerate docs/compatibility-results.md"
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")


def test_gotrue_fails_nothing_unexpected_and_every_expected_failure_is_a_failure() -> None:
    document = results(RESULTS["Supabase Auth v2.196.0-2-gbc32168e"])
    expected = load_expectations(REPO / "implementations" / "gotrue" / "expected-failures.toml")
    outcomes = {scenario["id"]: scenario["outcome"] for scenario in document["scenarios"]}
    assert document["unexpected"] == 0
    assert {scenario_id for scenario_id, outcome in outcomes.items() if outcome == "expected_failure"} == set(expected)
    assert not [scenario_id for scenario_id, outcome in outcomes.items() if outcome in ("failed", "error")]


def test_the_reference_server_passes_everything_that_applies() -> None:
    document = results(RESULTS["guestpass reference server"])
    assert {scenario["outcome"] for scenario in document["scenarios"]} <= {"passed", "not_applicable"}
