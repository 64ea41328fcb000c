"""The pytest plugin (entry point `pytest11`): options, scenario metadata, transcripts, results.

Everything here acts only on guestpass scenarios, so installing guestpass changes no other test run."""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry

from guestpass.conformance.capabilities import CAPABILITIES, LEVELS
from guestpass.conformance.expectations import Expectation, ExpectationsError, load_expectations
from guestpass.conformance.results import OUTCOMES, UNEXPECTED, ResultsRecorder, outcome_of, scenario_record
from guestpass.conformance.scenario_info import ScenarioInfo
from guestpass.conformance.stash import EXPECTATIONS, INFO, RECORDER, TRANSCRIPT, scenario_info
from guestpass.conformance.timing import ANSWER_TIMES_STEP
from guestpass.scenarios import FEATURES_DIR, scenario_ids

DURATIONS = Path(__file__).parent / "durations.json"
TIMING_GROUP = "timing"
LONG_SECONDS = 1.0  # a scenario this long (an example of an outline: its share) mostly waits
LONG_SPREAD = 1.0  # the long scenarios are all handed out by the time this share of the short ones is


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("guestpass", "guestpass conformance suite")
    group.addoption("--guestpass-base-url", help="auth root of the server under test (default: embedded server)")
    group.addoption("--guestpass-target", help="target file (TOML) describing the server under test")
    group.addoption("--guestpass-mail-spool", help="read the target's mail from this spool folder")
    group.addoption("--guestpass-mail-problem", help="why the suite cannot read the target's mail")
    group.addoption(
        "--guestpass-captcha-shared",
        action="store_true",
        help="another process runs the stand-in captcha verifier on the target's siteverify port",
    )
    group.addoption("--guestpass-captcha-problem", help="why the suite cannot run the stand-in captcha verifier")
    group.addoption("--guestpass-request-lock", help="folder of the request lock shared with other processes")
    group.addoption(
        "--guestpass-instance", action="append", default=[], help="another process serving the target (repeatable)"
    )
    group.addoption("--guestpass-database-url", help="database for the embedded reference server")
    group.addoption("--guestpass-results", help="write JSON results to this file")
    group.addoption("--guestpass-id", action="append", default=[], help="run only this scenario ID (repeatable)")
    group.addoption(
        "--guestpass-capability", action="append", default=[], help="run only scenarios of this capability (repeatable)"
    )
    group.addoption("--guestpass-expected-failures", help="TOML file of scenarios the target is known to fail")
    group.addoption(
        "--guestpass-strict", action="store_true", help="SHOULD-level failures fail the run instead of warning"
    )
    group.addoption("--guestpass-replay", help="the command that reruns a scenario, less its --id")
    group.addoption(
        "--guestpass-own-processes",
        action="store_true",
        help="the run's processes are `guestpass check`'s own: they keep what they import and collect out of "
        "the garbage collector's sight, and pytest-xdist workers end without the interpreter's teardown of "
        "their heap; `guestpass check` sets it",
    )


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
    tags = scenario_tags()
    expectations_file = config.getoption("guestpass_expected_failures", None)
    recorder = ResultsRecorder(Path(results) if results else None, strict=config.getoption("guestpass_strict", False))
    config.stash[RECORDER] = recorder
    config.pluginmanager.register(ResultsCollector(recorder), "guestpass-results")
    config.stash[EXPECTATIONS] = {}
    if expectations_file:
        recorder.expectations_file = Path(expectations_file)
        try:
            config.stash[EXPECTATIONS] = load_expectations(recorder.expectations_file)
        except ExpectationsError as error:
            raise pytest.UsageError(str(error)) from None
        known_ids = {tag for tag, meaning in tags.items() if meaning == "scenario ID"}
        recorder.stale = sorted(set(config.stash[EXPECTATIONS]) - known_ids)
    config.addinivalue_line("markers", "guestpass: a guestpass conformance scenario")
    for tag, meaning in tags.items():
        config.addinivalue_line("markers", f"{tag}: {meaning}")
    if config.getoption("guestpass_own_processes", False):
        config.pluginmanager.register(OwnProcesses(), "guestpass-own-processes")
        if hasattr(config, "workerinput"):
            atexit.register(exit_at_once)


class OwnProcesses:
    """The modules, the configuration and the collected scenarios live until the process ends, and are
    over a hundred thousand objects: every later full collection leaves them out instead of walking them
    again for nothing (about 0.1 s each time, several times per process and run)."""

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self) -> None:
        gc.freeze()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self) -> None:
        gc.freeze()


def exit_at_once() -> None:
    """A worker's exit: its reports have been sent, and nothing it holds needs freeing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def scenario_tags() -> dict[str, str]:
    """Markers for every tag the scenarios use, so `-m must` or `-m anonymous` select them."""
    tags = {level: f"scenarios at level {level.upper()}" for level in LEVELS}
    tags.update({name: f"capability: {meaning}" for name, meaning in CAPABILITIES.items()})
    tags.update(dict.fromkeys(scenario_ids(), "scenario ID"))
    return tags


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted_ids = set(config.getoption("guestpass_id"))
    wanted_capabilities = set(config.getoption("guestpass_capability"))
    selected, deselected = [], []
    for item in items:
        info = _info_from_item(item)
        if info is not None:
            item.stash[INFO] = info
            item.add_marker(pytest.mark.guestpass)
            item.user_properties += [
                ("scenario_id", info.id),
                ("capability", info.capability),
                ("level", info.level),
                ("requirement", info.requirement),
            ]
            if (wanted_ids and info.id not in wanted_ids) or (
                wanted_capabilities and info.capability not in wanted_capabilities
            ):
                deselected.append(item)
                continue
        selected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the order it collects in is the order sent out
        long_ones_early(config, items)
        for item in items:
            if measures_answer_times(item) and (info := scenario_info(item)):
                item.add_marker(pytest.mark.xdist_group(f"{TIMING_GROUP}-{info.capability}"))


def measures_answer_times(item: pytest.Item) -> bool:
    """Whether the scenario compares answer times. Each of its timed requests is answered while no other
    request of the suite is in flight (`guestpass.conformance.request_lock`), and the scenarios of one
    capability that time answers run one after another in one process (pytest-xdist's group
    `timing-<capability>`), so that the setup of one (its users, their mail) does not load the server
    another one times."""
    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))  # type: ignore[arg-type]
    return template is not None and any(step.name == ANSWER_TIMES_STEP for step in template.steps)


def long_ones_early(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The order parallel workers take the scenarios in. The long ones (waiting out an expiry, mostly
    idle) go early, longest first, so that none of them is left to finish alone at the end; the short
    ones (mostly busy) go between them, so that the cores have work while the long ones wait, and
    after them. How long a scenario takes: the previous results, else the reference server's
    (`durations.json`), shared among the examples of an outline. Every worker reads the same files,
    so all agree on the order."""
    took = dict(reference_durations())
    results = config.getoption("guestpass_results", None)
    try:
        document = json.loads(Path(results).read_text()) if results else {}
    except (OSError, ValueError):
        document = {}
    for scenario in document.get("scenarios", []) if isinstance(document, dict) else []:
        took[scenario["id"]] = scenario.get("duration_seconds") or 0.0
    examples = Counter(info.id for item in items if (info := scenario_info(item)))

    def seconds(item: pytest.Item) -> float:
        info = scenario_info(item)
        return took.get(info.id, 0.0) / examples[info.id] if info else 0.0

    long = sorted((item for item in items if seconds(item) >= LONG_SECONDS), key=seconds, reverse=True)
    short = [item for item in items if seconds(item) < LONG_SECONDS]
    long_total = sum(map(seconds, long)) or 1.0
    ordered, long_done = [], 0.0
    for index, item in enumerate(short):
        while long and long_done / long_total <= index / (len(short) * LONG_SPREAD):
            long_done += seconds(long[0])
            ordered.append(long.pop(0))
        ordered.append(item)
    items[:] = [*ordered, *long]


def reference_durations() -> dict[str, float]:
    """Seconds each of the slower scenarios (half a second or more) takes against the embedded reference
    server, one after another, the examples of an outline together: from the results of
    `guestpass check --workers 0`. An ID missing here counts as a short scenario."""
    return json.loads(DURATIONS.read_text())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
    report = yield
    info = scenario_info(item)
    if info is None:
        return report
    transcript = item.stash.get(TRANSCRIPT, None)
    if report.failed and transcript is not None:
        report.sections.append(("guestpass transcript (secrets redacted)", transcript.render()))
    recorder = item.config.stash[RECORDER]
    expectation = item.config.stash[EXPECTATIONS].get(info.id)
    outcome = judged(report, info, expectation, strict=recorder.strict, example=is_example(item))
    expected = expectation.as_dict() if expectation else None
    report.guestpass = scenario_record(info, outcome, transcript, expected, recorder.target)  # type: ignore[attr-defined]
    return report


class ResultsCollector:
    """Collects the scenario records where reports arrive: in the only process, or in the controller
    of pytest-xdist (the workers run the scenarios and send their reports there)."""

    def __init__(self, recorder: ResultsRecorder) -> None:
        self.recorder = recorder

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "guestpass", None)
        if record is not None:
            self.recorder.add(report.nodeid, record, report.duration)


def is_example(item: pytest.Item) -> bool:
    """Whether the item is one example of a Scenario Outline."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "_pytest_bdd_example" in callspec.params


def judged(
    report: pytest.TestReport,
    info: ScenarioInfo,
    expectation: Expectation | None,
    *,
    strict: bool,
    example: bool = False,
) -> tuple[str, str]:
    """The scenario's outcome in the light of the expected-failures file and its level. Expected
    failures and warnings become pytest xfails, an unexpected pass a failure, so that pytest's exit
    status agrees with guestpass's. A Scenario Outline listed as an expected failure is one when any of
    its examples fails (a race may spare some): its passing examples stay passed, and the outline is an
    unexpected pass only when all of them pass (`ResultsRecorder.unexpected_passes`)."""
    outcome, message = outcome_of(report)
    if report.when != "call":
        return outcome, message
    if expectation is not None and outcome == "failed":
        report.outcome, report.wasxfail = "skipped", f"expected failure: {expectation.reason}"  # type: ignore[attr-defined]
        return "expected_failure", message
    if expectation is not None and outcome == "passed" and not example and not expectation.intermittent:
        report.outcome = "failed"
        report.longrepr = f"{info.id} passed but is listed as an expected failure ({expectation.reason}): remove it"
        return "unexpected_pass", str(report.longrepr)
    if info.level == "should" and outcome == "failed" and not strict:
        report.outcome, report.wasxfail = "skipped", "SHOULD-level failure: a warning (--strict fails the run)"  # type: ignore[attr-defined]
        return "warning", message
    return outcome, message


# pytest's own words for the outcomes, replaced by guestpass's so that its footer agrees with the summary.
TEST_STATUS = {
    "not_applicable": ("not applicable", "n", "NOT APPLICABLE"),
    "expected_failure": ("expected failure", "x", "EXPECTED FAILURE"),
    "warning": ("warning", "w", "WARNING"),
    "unexpected_pass": ("unexpected pass", "U", "UNEXPECTED PASS"),
}


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    record = getattr(report, "guestpass", None)
    return TEST_STATUS.get(record["outcome"][0]) if record else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    target = config.getoption("guestpass_target") or config.getoption("guestpass_base_url")
    return [f"guestpass target: {target or 'embedded reference server'}"]


def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash.get(RECORDER, None)
    if recorder is None or hasattr(session.config, "workerinput"):  # pytest-xdist workers leave it to the controller
        return
    recorder.unexpected_passes()
    unexpected = recorder.stale or any(entry["outcome"] in UNEXPECTED for entry in recorder.entries.values())
    if unexpected and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    recorder.write(session)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    recorder = config.stash.get(RECORDER, None)
    if recorder is None or not recorder.entries:
        return
    document = recorder.document()
    write = terminalreporter.write_line
    terminalreporter.section("guestpass summary by capability")
    shown = [kind for kind in OUTCOMES if document["summary"][kind]]
    write(f"{'capability':<30}" + "".join(f"{kind.replace('_', ' '):>18}" for kind in shown))
    for capability in CAPABILITIES:
        entries = [entry for entry in document["scenarios"] if entry["capability"] == capability]
        if entries:
            counts = [sum(entry["outcome"] == kind for entry in entries) for kind in shown]
            write(f"{capability:<30}" + "".join(f"{count:>18}" for count in counts))
    failures = [entry for entry in document["scenarios"] if entry["outcome"] in UNEXPECTED]
    for entry in failures:
        write("")
        write(
            f"{entry['outcome'].replace('_', ' ').upper()} {entry['id']} ({entry['level'].upper()}, "
            f"{entry['capability']}): {entry['title']}",
            red=True,
        )
        write(f"  requirement: {entry['requirement']}")
        write(f"  {entry['message'] or 'no message'}")
        write(f"  replay: {replay_command(config)} --id {entry['id']}")
    if failures:
        write("")
    for scenario_id in document["expectations"]["stale"]:
        write(f"stale expected-failures entry: {scenario_id} names no scenario of the suite", red=True)
    write(
        f"unexpected results: {document['unexpected']}",
        red=bool(document["unexpected"]),
        green=not document["unexpected"],
    )


def replay_command(config: pytest.Config) -> str:
    given = config.getoption("guestpass_replay", None)
    if given:
        return given
    target, base_url = config.getoption("guestpass_target"), config.getoption("guestpass_base_url")
    options = (("--target", target), ("--base-url", base_url))
    return " ".join(["guestpass check", *(f"{option} {value}" for option, value in options if value)])
