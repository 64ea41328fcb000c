"""Expected failures, warnings and exit codes, against a reference server with one known defect: its
password change leaves the other sessions alive, which fails CORE-031 (a SHOULD) and nothing else."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support import run_check

from guestpass.conformance.embedded import reference_servers
from guestpass.conformance.expectations import ExpectationsError, load_expectations
from guestpass.reports import results_schema

DEFECTS_DIR = Path(__file__).parent / "defects"
SELECTION = ("--id", "CORE-031", "--id", "CORE-001")


@pytest.fixture(scope="module")
def defective_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workdir = tmp_path_factory.mktemp("defective")
    command = [sys.executable, str(DEFECTS_DIR / "serve.py"), "password-change-keeps-sessions"]
    with reference_servers(workdir, command=command, variants=False):
        yield workdir / "target.toml"


def check(tmp_path: Path, target: Path, *args: str, expected: str | None = None) -> tuple[int, dict[str, Any]]:
    options = list(args)
    if expected is not None:
        (tmp_path / "expected.toml").write_text(expected)
        options += ["--expected-failures", str(tmp_path / "expected.toml")]
    completed, document = run_check(tmp_path / "results.json", "--target", str(target), *SELECTION, *options)
    if document:
        jsonschema.validate(document, results_schema())
    return completed.returncode, document


def outcome(document: dict[str, Any], scenario_id: str) -> str:
    return next(entry["outcome"] for entry in document["scenarios"] if entry["id"] == scenario_id)


def test_a_should_failure_is_a_warning_unless_strict(tmp_path: Path, defective_target: Path) -> None:
    code, document = check(tmp_path, defective_target)
    assert (code, outcome(document, "CORE-031"), document["unexpected"]) == (0, "warning", 0)
    assert document["scenarios"][1]["transcript"], "a warning keeps its transcript"
    code, document = check(tmp_path, defective_target, "--strict")
    assert (code, outcome(document, "CORE-031"), document["unexpected"]) == (1, "failed", 1)


def test_a_listed_failure_is_expected(tmp_path: Path, defective_target: Path) -> None:
    code, document = check(tmp_path, defective_target, "--strict", expected='[CORE-031]\nreason = "known"\n')
    assert (code, outcome(document, "CORE-031"), outcome(document, "CORE-001")) == (0, "expected_failure", "passed")
    assert next(e for e in document["scenarios"] if e["id"] == "CORE-031")["expected"] == {"reason": "known"}


def test_a_listed_scenario_that_passes_fails_the_run(tmp_path: Path, defective_target: Path) -> None:
    code, document = check(tmp_path, defective_target, expected='[CORE-001]\nreason = "was broken"\n')
    assert (code, outcome(document, "CORE-001"), document["unexpected"]) == (1, "unexpected_pass", 1)


def test_an_intermittent_race_may_pass_or_fail(tmp_path: Path, defective_target: Path) -> None:
    listed = '[{}]\nreason = "a race it loses most of the time"\nintermittent = true\n'
    code, document = check(tmp_path, defective_target, expected=listed.format("CORE-001"))
    assert (code, outcome(document, "CORE-001"), document["unexpected"]) == (0, "passed", 0)
    code, document = check(tmp_path, defective_target, "--strict", expected=listed.format("CORE-031"))
    assert (code, outcome(document, "CORE-031"), document["unexpected"]) == (0, "expected_failure", 0)


def test_an_entry_naming_no_scenario_fails_the_run(tmp_path: Path, defective_target: Path) -> None:
    code, document = check(tmp_path, defective_target, expected='[NOPE-999]\nreason = "gone"\n')
    assert (code, document["expectations"]["stale"], document["unexpected"]) == (1, ["NOPE-999"], 1)


def test_an_unusable_expected_failures_file_is_a_usage_error(tmp_path: Path, defective_target: Path) -> None:
    code, _ = check(tmp_path, defective_target, expected="[CORE-031]\n")
    assert code == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[CORE-031]\n", "needs a reason"),
        ('[core]\nreason = "x"\n', "not a scenario ID"),
        ("[", "cannot read"),
        ('[CORE-031]\nreason = "x"\nintermittent = "yes"\n', "intermittent must be true or false"),
    ],
)
def test_expectations_file_errors_say_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "e.toml").write_text(text)
    with pytest.raises(ExpectationsError, match=problem):
        load_expectations(tmp_path / "e.toml")


def test_junit_cases_carry_id_capability_and_level(tmp_path: Path, defective_target: Path) -> None:
    check(tmp_path, defective_target, "--junit", str(tmp_path / "junit.xml"))
    cases = ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    properties = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in cases]
    assert {(p["scenario_id"], p["capability"], p["level"]) for p in properties} == {
        ("CORE-001", "core", "must"),
        ("CORE-031", "core", "should"),
    }
    assert all(p["requirement"] for p in properties)
