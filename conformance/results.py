"""The JSON results file: one entry per scenario, in the structure reports/results.schema.json publishes."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

from guestpass.conformance.scenario_info import ScenarioInfo
from guestpass.conformance.target import Target
from guestpass.conformance.transcript import Transcript

SCHEMA_VERSION = 2
OUTCOMES = (
    "passed",
    "failed",
    "error",
    "not_applicable",
    "skipped",
    "expected_failure",
    "unexpected_pass",
    "warning",
)
UNEXPECTED = ("failed", "error", "unexpected_pass")
KEEPS_TRANSCRIPT = ("failed", "error", "expected_failure", "warning")
NOT_APPLICABLE = "not applicable"


def suite_version() -> str:
    try:
        return version("guestpass")
    except PackageNotFoundError:
        return "0+unknown"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def outcome_of(report: pytest.TestReport) -> tuple[str, str]:
    """(outcome, message) for one phase's report."""
    if report.skipped:
        reason = _skip_reason(report)
        return ("not_applicable" if reason.startswith(NOT_APPLICABLE) else "skipped"), reason
    if report.failed:
        return ("failed" if report.when == "call" else "error"), failure_message(report)
    return "passed", ""


def failure_message(report: pytest.TestReport) -> str:
    """The exception's own first line (an assertion's message), else the report's last line."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message.strip():
        return crash.message.strip().splitlines()[0].removeprefix("AssertionError: ")
    lines = report.longreprtext.strip().splitlines()
    return lines[-1] if lines else ""


def target_summary(target: Target) -> dict[str, Any]:
    return {"name": target.name, "base_url": target.base_url, "capabilities": sorted(target.capabilities)}


def scenario_record(
    info: ScenarioInfo,
    outcome: tuple[str, str],
    transcript: Transcript | None,
    expected: dict[str, str] | None,
    target: dict[str, Any] | None,
) -> dict[str, Any]:
    """What one phase of a scenario contributes to the results. Plain data: pytest-xdist carries it
    from the worker that ran the scenario to the process that writes the results. The transcript only
    where the results keep it: a passed phase would carry every exchange for nothing."""
    kept = transcript is not None and outcome[0] in KEEPS_TRANSCRIPT
    return {
        "info": dataclasses.asdict(info),
        "outcome": list(outcome),
        "transcript": [exchange.as_dict() for exchange in transcript.exchanges] if kept else None,
        "expected": expected,
        "target": target,
    }


@dataclass
class ResultsRecorder:
    path: Path | None
    target: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    strict: bool = False
    expectations_file: Path | None = None
    stale: list[str] = field(default_factory=list)

    def add(self, nodeid: str, record: dict[str, Any], duration: float) -> None:
        """One phase of one test: a scenario's phases, and those of each example of a Scenario Outline,
        make one entry, failed if any of them failed (the first failure's message and transcript)."""
        info = record["info"]
        entry = self.entries.setdefault(
            info["id"],
            {
                "id": info["id"],
                "capability": info["capability"],
                "level": info["level"],
                "title": info["title"],
                "requirement": info["requirement"],
                "feature": info["feature_file"],
                "outcome": "passed",
                "duration_seconds": 0.0,
                "message": "",
            },
        )
        entry["duration_seconds"] = round(entry["duration_seconds"] + duration, 4)
        if record["expected"] is not None:
            entry["expected"] = record["expected"]
        kind, message = record["outcome"]
        if kind != "passed" and entry["outcome"] == "passed":
            entry["outcome"], entry["message"] = kind, message
            if kind in KEEPS_TRANSCRIPT and record["transcript"] is not None:
                entry["transcript"] = record["transcript"]
        self.target = self.target or record["target"]

    def unexpected_passes(self) -> None:
        """A listed scenario whose every example passed (an outline's examples pass one by one)."""
        for entry in self.entries.values():
            expected = entry.get("expected")
            if expected is not None and entry["outcome"] == "passed" and not expected.get("intermittent"):
                reason = expected.get("reason", "")
                entry["outcome"] = "unexpected_pass"
                entry["message"] = f"{entry['id']} passed but is listed as an expected failure ({reason}): remove it"

    def document(self) -> dict[str, Any]:
        scenarios = sorted(self.entries.values(), key=lambda entry: entry["id"])
        summary = dict.fromkeys(OUTCOMES, 0)
        for entry in scenarios:
            summary[entry["outcome"]] += 1
        target = self.target or {"name": "unknown", "base_url": "", "capabilities": []}
        return {
            "schema_version": SCHEMA_VERSION,
            "suite": {"name": "guestpass", "version": suite_version()},
            "target": target,
            "started_at": datetime.fromtimestamp(self.started, UTC).isoformat(),
            "duration_seconds": round(time.time() - self.started, 3),
            "strict": self.strict,
            "expectations": {
                "file": str(self.expectations_file) if self.expectations_file else None,
                "stale": sorted(self.stale),
            },
            "unexpected": sum(summary[kind] for kind in UNEXPECTED) + len(self.stale),
            "summary": summary,
            "scenarios": scenarios,
        }

    def write(self, session: pytest.Session) -> None:
        if self.path is not None and self.entries:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.document(), indent=2) + "\n")
