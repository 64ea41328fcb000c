"""The JSON results file: one entry per scenario, in the structure reports/results.schema.json publishes."""

from __future__ import annotations

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
        message = report.longreprtext.strip().splitlines()
        return ("failed" if report.when == "call" else "error"), (message[-1] if message else "")
    return "passed", ""


@dataclass
class ResultsRecorder:
    path: Path | None
    target: Target | None = None
    started: float = field(default_factory=time.time)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    strict: bool = False
    expectations_file: Path | None = None
    stale: list[str] = field(default_factory=list)

    def add(
        self,
        info: ScenarioInfo,
        report: pytest.TestReport,
        transcript: Transcript | None,
        outcome: tuple[str, str] | None = None,
        expected: dict[str, str] | None = None,
    ) -> None:
        """Records one phase of a scenario; `outcome` overrides what the report says (expectations, warnings)."""
        entry = self.entries.setdefault(
            report.nodeid,
            {
                "id": info.id,
                "capability": info.capability,
                "level": info.level,
                "title": info.title,
                "requirement": info.requirement,
                "feature": info.feature_file,
                "outcome": "passed",
                "duration_seconds": 0.0,
                "message": "",
            },
        )
        entry["duration_seconds"] = round(entry["duration_seconds"] + report.duration, 4)
        if expected is not None:
            entry["expected"] = expected
        kind, message = outcome or outcome_of(report)
        if kind != "passed" and entry["outcome"] == "passed":
            entry["outcome"], entry["message"] = kind, message
            if kind in KEEPS_TRANSCRIPT and transcript is not None:
                entry["transcript"] = [exchange.as_dict() for exchange in transcript.exchanges]

    def document(self) -> dict[str, Any]:
        scenarios = sorted(self.entries.values(), key=lambda entry: entry["id"])
        summary = dict.fromkeys(OUTCOMES, 0)
        for entry in scenarios:
            summary[entry["outcome"]] += 1
        target = self.target
        return {
            "schema_version": SCHEMA_VERSION,
            "suite": {"name": "guestpass", "version": suite_version()},
            "target": {
                "name": target.name if target else "unknown",
                "base_url": target.base_url if target else "",
                "capabilities": sorted(target.capabilities) if target else [],
            },
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
