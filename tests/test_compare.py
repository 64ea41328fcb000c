"""The comparison of implementations, on results from the reference server and from a deliberately
defective variant of it (logout answering 200 instead of 204), plus hand-made documents for the edges."""

from __future__ import annotations

import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import run_check

from guestpass.conformance.embedded import reference_servers
from guestpass.reports.compare import (
    DIFFERENCES_RULE,
    compare_html,
    compare_markdown,
    implementation_names,
    scenario_rows,
)

DEFECTS_DIR = Path(__file__).parent / "defects"
DEFECT = "logout-200"
BROKEN_BY_DEFECT = "CORE-023"  # "Logout answers 204 and ends the session"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def reference_run(workdir: Path) -> dict[str, Any]:
    completed, document = run_check(workdir / "results.json", "--capability", "core")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return document


def defective_run(workdir: Path) -> dict[str, Any]:
    command = [sys.executable, str(DEFECTS_DIR / "serve.py"), DEFECT]
    with reference_servers(workdir, command=command, variants=False):
        completed, document = run_check(
            workdir / "results.json", "--target", str(workdir / "target.toml"), "--capability", "core"
        )
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-3000:]
    document["target"]["name"] = f"defect {DEFECT}"
    return document


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """[reference, defective], the core scenarios of each, run concurrently once for this module."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        reference = pool.submit(reference_run, tmp_path_factory.mktemp("reference"))
        defective = pool.submit(defective_run, tmp_path_factory.mktemp("defective"))
        return [reference.result(), defective.result()]


def failed_ids(document: dict[str, Any]) -> set[str]:
    return {s["id"] for s in document["scenarios"] if s["outcome"] in ("failed", "error")}


def markdown_rows(markdown: str) -> dict[str, list[str]]:
    """The cells of each table row, by its first cell."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


def test_the_defect_breaks_what_it_should(documents: list[dict[str, Any]]) -> None:
    reference, defective = documents
    assert not failed_ids(reference)
    assert BROKEN_BY_DEFECT in failed_ids(defective)


def test_markdown_shows_the_defective_implementation_failing(documents: list[dict[str, Any]]) -> None:
    reference, defective = documents
    markdown = compare_markdown(documents)
    rows = markdown_rows(markdown)
    assert rows["implementation"][-1] == "unexpected"
    assert rows[reference["target"]["name"]][-1] == "0"
    assert rows[f"defect {DEFECT}"][-1] == str(len(failed_ids(defective)))
    core = [s for s in reference["scenarios"] if s["capability"] == "core"]
    applicable = len([s for s in core if s["outcome"] != "not_applicable"])
    broken = len(failed_ids(defective))
    assert rows["core"] == [f"{applicable}/{applicable}", f"{applicable - broken}/{applicable}"]
    for sid in failed_ids(defective):
        assert rows[sid][-2:] == ["passed", "**failed**"], sid
    ran = [{s["id"] for s in d["scenarios"] if s["outcome"] not in ("not_applicable", "skipped")} for d in documents]
    both = len(ran[0] & ran[1])
    assert f"### Scenarios ({broken} of {both} compared differ, {len(core)} in all)" in markdown


def test_the_comparison_page_in_the_browser(browser: Any, documents: list[dict[str, Any]], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    reference, defective = documents
    page = tmp_path / "compare.html"
    page.write_text(compare_html(documents))
    browser.set_window_size(1280, 1600)
    browser.get(page.as_uri())
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe

    def cell(sid: str, index: int) -> Any:
        return browser.find_element(By.CSS_SELECTOR, f'td[data-scenario="{sid}"][data-impl="{index}"]')

    for sid in failed_ids(defective):
        assert cell(sid, 0).get_attribute("data-outcome") == "passed"
        assert cell(sid, 1).get_attribute("data-outcome") == "failed"
        assert cell(sid, 1).text == "failed"
    for index, document in enumerate(documents):
        passed = sum(s["outcome"] == "passed" for s in document["scenarios"])
        assert browser.find_element(By.ID, f"impl-{index}-passed").text == str(passed)
    assert browser.find_element(By.ID, "impl-1-unexpected").get_attribute("data-unexpected") == str(
        defective["unexpected"] if "unexpected" in defective else len(failed_ids(defective))
    )
    assert browser.find_element(By.ID, "count-differing").text == str(len(failed_ids(defective)))

    untouched = next(s["id"] for s in reference["scenarios"] if s["id"] not in failed_ids(defective))
    browser.find_element(By.ID, "only-differences").click()
    assert not browser.find_element(By.ID, untouched).is_displayed()
    assert browser.find_element(By.ID, BROKEN_BY_DEFECT).is_displayed()

    shot = tmp_path / "compare.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(PNG_SIGNATURE) and shot.stat().st_size > 1000


# --- hand-made documents ----------------------------------------------------------------------------------


def document(name: str, outcomes: dict[str, str]) -> dict[str, Any]:
    """A minimal results document (schema 1 shape) with the given scenario outcomes."""
    return {
        "schema_version": 1,
        "suite": {"name": "guestpass", "version": "0.1.0"},
        "target": {"name": name, "base_url": f"http://{name}.test", "capabilities": []},
        "started_at": "2026-01-02T03:04:05+00:00",
        "duration_seconds": 1.0,
        "summary": {},
        "scenarios": [
            {
                "id": sid,
                "capability": {"CORE": "core", "ANON": "anonymous", "X": "custom | thing"}[sid.split("-")[0]],
                "level": "must",
                "title": f"{sid} | title",
                "requirement": "MUST.",
                "feature": "f.feature",
                "outcome": outcome,
                "duration_seconds": 0.1,
                "message": "",
            }
            for sid, outcome in outcomes.items()
        ],
    }


def test_scenarios_present_in_some_documents_only() -> None:
    documents = [
        document("a", {"CORE-001": "passed", "ANON-001": "failed", "X-001": "passed"}),
        document("b", {"CORE-001": "passed", "CORE-002": "not_applicable"}),
    ]
    rows = {row.id: row for row in scenario_rows(documents)}
    assert list(rows) == ["CORE-001", "CORE-002", "ANON-001", "X-001"]
    assert rows["CORE-002"].outcomes == (None, "not_applicable")
    assert not rows["CORE-002"].differs and not rows["CORE-001"].differs

    markdown = compare_markdown(documents)
    table = markdown_rows(markdown)
    assert table["CORE-002"][-2:] == ["—", "not applicable"]
    assert table["ANON-001"][-2:] == ["**failed**", "—"]
    assert table["core"] == ["1/1", "1/1"]
    assert table["anonymous"] == ["0/1", "—"]
    assert table["custom \\| thing"] == ["1/1", "—"]
    assert "X-001 \\| title" in markdown

    html = compare_html(documents)
    assert 'data-scenario="CORE-002" data-impl="0" data-outcome="missing"' in html
    assert "X-001 | title" in html and "custom | thing" in html


def test_shared_names_are_numbered() -> None:
    documents = [document("ref", {}), document("other", {}), document("ref", {})]
    assert implementation_names(documents) == ["ref #1", "other", "ref #2"]


def test_markdown_columns_line_up() -> None:
    markdown = compare_markdown([document("a", {"CORE-001": "passed"}), document("bee", {"CORE-001": "failed"})])
    for table in markdown.split("\n\n"):
        lines = [line for line in table.splitlines() if line.startswith("|")]
        assert len({len(line) for line in lines}) <= 1, table


def row_tags(html: str) -> dict[str, str]:
    """The opening tag of each scenario row, by the row's id."""
    return {match["id"]: match[0] for match in re.finditer(r'<tr class="[^"]*" id="(?P<id>[^"]+)">', html)}


def test_only_scenarios_that_both_ran_can_differ() -> None:
    documents = [
        document(
            "a",
            {
                "CORE-001": "passed",
                "CORE-002": "passed",
                "CORE-003": "passed",
                "CORE-004": "failed",
                "CORE-005": "passed",
                "ANON-001": "passed",
            },
        ),
        document(
            "b",
            {
                "CORE-001": "not_applicable",
                "CORE-002": "skipped",
                "CORE-003": "failed",
                "CORE-004": "expected_failure",
                "CORE-005": "warning",
                "ANON-001": "passed",
            },
        ),
    ]
    rows = {row.id: row for row in scenario_rows(documents)}
    assert [sid for sid, row in rows.items() if row.differs] == ["CORE-003", "CORE-005"]
    assert [sid for sid, row in rows.items() if row.comparable] == ["CORE-003", "CORE-004", "CORE-005", "ANON-001"]

    markdown = compare_markdown(documents)
    assert "### Scenarios (2 of 4 compared differ, 6 in all)" in markdown and DIFFERENCES_RULE in markdown
    assert markdown_rows(markdown)["CORE-001"][-2:] == ["passed", "not applicable"]

    html = compare_html(documents)
    assert '<span id="count-differing">2</span> of <span id="count-comparable">4</span> compared differ' in html
    assert 'id="differences-rule"' in html and "Not applicable, skipped and missing scenarios" in html
    tags = row_tags(html)
    assert {sid for sid, tag in tags.items() if 'class="differs"' in tag} == {"CORE-003", "CORE-005"}
    na_cell = re.search(r'<td class="outcome not-run"[^>]*data-scenario="CORE-001" data-impl="1"[^>]*>(.*?)</td>', html)
    assert na_cell and "not applicable" in na_cell[1]


def test_every_scenario_row_is_addressable() -> None:
    documents = [document("a", {"CORE-001": "passed", "ANON-001": "passed"}), document("b", {"ANON-001": "failed"})]
    html = compare_html(documents)
    assert list(row_tags(html)) == ["CORE-001", "ANON-001"]
    assert "body.only-differences tr.same:not(:target) { display: none; }" in html
    assert len(re.findall(r'id="CORE-001"', html)) == 1


@pytest.mark.parametrize("name", ["", "unnamed target"])
def test_a_target_without_a_name_is_shown_by_its_base_url(name: str) -> None:
    documents = [document("a", {"CORE-001": "passed"}), document("b", {"CORE-001": "failed"})]
    documents[1]["target"]["name"] = name
    del documents[0]["target"]["name"]
    assert implementation_names(documents) == ["http://a.test", "http://b.test"]
    html, markdown = compare_html(documents), compare_markdown(documents)
    assert '<th class="impl-head">http://b.test</th>' in html and "<h3>http://a.test</h3>" in html
    assert markdown_rows(markdown)["scenario"][-2:] == ["http://a.test", "http://b.test"]
    assert "unnamed" not in html + markdown
