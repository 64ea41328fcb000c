"""A pytest plugin for tests/test_cli_workers.py: every step of the scenarios it runs is looked up both
by the suite's lookup (`guestpass.conformance.step_lookup`) and by pytest-bdd's own, and any step on which
they disagree is written to the file named by GUESTPASS_STEP_LOOKUP_REPORT, with a count of the steps."""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

import pytest

scenario = importlib.import_module("pytest_bdd.scenario")
PYTEST_BDD_LOOKUP = scenario.find_fixturedefs_for_step
COMPARED: dict[str, Any] = {"steps": 0, "differing": []}


def pytest_collection_finish(session: pytest.Session) -> None:
    suite_lookup = scenario.find_fixturedefs_for_step
    assert suite_lookup is not PYTEST_BDD_LOOKUP, "the suite did not install its step lookup"

    def both(step: Any, fixturemanager: Any, node: Any) -> list[Any]:
        ours = list(suite_lookup(step=step, fixturemanager=fixturemanager, node=node))
        theirs = list(PYTEST_BDD_LOOKUP(step=step, fixturemanager=fixturemanager, node=node))
        COMPARED["steps"] += 1
        if ours != theirs:
            COMPARED["differing"].append(f"{step.type} {step.name}")
        return ours

    scenario.find_fixturedefs_for_step = both


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(os.environ["GUESTPASS_STEP_LOOKUP_REPORT"], "w") as report:
        json.dump(COMPARED, report)
