"""The pytest plugin (entry point `pytest11`): options, scenario metadata, transcripts, results.

Everything here acts only on guestpass scenarios, so installing guestpass changes no other test run."""

from __future__ import annotations

import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry

from guestpass.conformance.capabilities import CAPABILITIES, LEVELS
from guestpass.conformance.results import ResultsRecorder
from guestpass.conformance.scenario_info import ScenarioInfo
from guestpass.conformance.transcript import Transcript
from guestpass.scenarios import FEATURES_DIR, feature_files

INFO = pytest.StashKey[ScenarioInfo]()
RECORDER = pytest.StashKey[ResultsRecorder]()
TRANSCRIPT = pytest.StashKey[Transcript]()
ID_TAG_IN_TEXT = re.compile(r"@([A-Z][A-Z0-9]*-[0-9]{3})\b")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("guestpass", "guestpass conformance suite")
    group.addoption("--guestpass-base-url", help="auth root of the server under test (default: embedded server)")
    group.addoption("--guestpass-target", help="target file (TOML) describing the server under test")
    group.addoption("--guestpass-database-url", help="database for the embedded reference server")
    group.addoption("--guestpass-results", help="write JSON results to this file")
    group.addoption("--guestpass-id", action="append", default=[], help="run only this scenario ID (repeatable)")
    group.addoption(
        "--guestpass-capability", action="append", default=[], help="run only scenarios of this capability (repeatable)"
    )


def scenario_info(item: pytest.Item) -> ScenarioInfo | None:
    return item.stash.get(INFO, None)


def _info_from_item(item: pytest.Item) -> ScenarioInfo | None:
    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))  # type: ignore[arg-type]
    if template is None or not Path(template.feature.filename).parent.samefile(FEATURES_DIR):
        return None
    return ScenarioInfo.from_tags(
        set(template.tags) | set(template.feature.tags),
        title=template.name,
        description=template.description,
        feature_file=Path(template.feature.filename).name,
    )


def pytest_configure(config: pytest.Config) -> None:
    results = config.getoption("guestpass_results", None)
    config.stash[RECORDER] = ResultsRecorder(Path(results) if results else None)
    config.addinivalue_line("markers", "guestpass: a guestpass conformance scenario")
    for tag, meaning in scenario_tags().items():
        config.addinivalue_line("markers", f"{tag}: {meaning}")


def scenario_tags() -> dict[str, str]:
    """Markers for every tag the scenarios use, so `-m must` or `-m anonymous` select them."""
    tags = {level: f"scenarios at level {level.upper()}" for level in LEVELS}
    tags.update({name: f"capability: {meaning}" for name, meaning in CAPABILITIES.items()})
    for feature in feature_files():
        tags.update({tag: "scenario ID" for tag in ID_TAG_IN_TEXT.findall(feature.read_text())})
    return tags


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted_ids = set(config.getoption("guestpass_id"))
    wanted_capabilities = set(config.getoption("guestpass_capability"))
    selected, deselected = [], []
    for item in items:
        info = _info_from_item(item)
        if info is not None:
            item.stash[INFO] = info
            item.add_marker(pytest.mark.guestpass)
            if (wanted_ids and info.id not in wanted_ids) or (
                wanted_capabilities and info.capability not in wanted_capabilities
            ):
                deselected.append(item)
                continue
        selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    report = yield
    info = scenario_info(item)
    if info is None:
        return report
    transcript = item.stash.get(TRANSCRIPT, None)
    if report.failed and transcript is not None:
        report.sections.append(("guestpass transcript (secrets redacted)", transcript.render()))
    item.config.stash[RECORDER].add(info, report, transcript)
    return report


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.getoption("guestpass_target") or config.getoption("guestpass_base_url")
    return [f"guestpass target: {target or 'embedded reference server'}"]


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash.get(RECORDER, None)
    if recorder is not None:
        recorder.write(session)
