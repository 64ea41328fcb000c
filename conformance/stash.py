"""What the suite keeps on pytest's objects, shared by the plugin and the steps: the results recorder and
the expected failures on the configuration; each scenario's declaration and transcript on its item."""

from __future__ import annotations

import pytest

from guestpass.conformance.expectations import Expectation
from guestpass.conformance.results import ResultsRecorder
from guestpass.conformance.scenario_info import ScenarioInfo
from guestpass.conformance.transcript import Transcript

INFO = pytest.StashKey[ScenarioInfo]()
RECORDER = pytest.StashKey[ResultsRecorder]()
EXPECTATIONS = pytest.StashKey[dict[str, Expectation]]()
TRANSCRIPT = pytest.StashKey[Transcript]()


def scenario_info(item: pytest.Item) -> ScenarioInfo | None:
    return item.stash.get(INFO, None)
