"""A Scenario Outline is one scenario in the results: its examples make one entry, failed (or failed as
expected) when any example fails, and an unexpected pass only when every example passed."""

from __future__ import annotations

from typing import Any

from guestpass.conformance.results import ResultsRecorder

INFO = {
    "id": "REC-013",
    "capability": "recovery",
    "level": "must",
    "title": "t",
    "requirement": "It MUST.",
    "feature_file": "recovery.feature",
}
LISTED = {"reason": "a race"}


def record(kind: str, expected: dict[str, str] | None = None) -> dict[str, Any]:
    return {"info": INFO, "outcome": [kind, f"{kind} message"], "transcript": [], "expected": expected, "target": None}


def test_examples_make_one_entry_that_fails_when_one_fails() -> None:
    recorder = ResultsRecorder(None)
    for nodeid, kind in (("a[code]", "passed"), ("a[token_hash]", "failed"), ("a[link]", "passed")):
        recorder.add(nodeid, record(kind), 0.5)
    [entry] = recorder.document()["scenarios"]
    assert (entry["id"], entry["outcome"], entry["message"], entry["duration_seconds"]) == (
        "REC-013",
        "failed",
        "failed message",
        1.5,
    )


def test_a_listed_outline_is_an_expected_failure_when_any_example_fails() -> None:
    recorder = ResultsRecorder(None)
    recorder.add("a[code]", record("passed", LISTED), 0.1)
    recorder.add("a[link]", record("expected_failure", LISTED), 0.1)
    recorder.unexpected_passes()
    assert recorder.document()["scenarios"][0]["outcome"] == "expected_failure"
    assert recorder.document()["unexpected"] == 0


def test_a_listed_outline_whose_every_example_passed_is_an_unexpected_pass() -> None:
    recorder = ResultsRecorder(None)
    recorder.add("a[code]", record("passed", LISTED), 0.1)
    recorder.add("a[link]", record("passed", LISTED), 0.1)
    recorder.unexpected_passes()
    document = recorder.document()
    assert document["scenarios"][0]["outcome"] == "unexpected_pass"
    assert "remove it" in document["scenarios"][0]["message"] and document["unexpected"] == 1
