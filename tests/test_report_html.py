"""The HTML report: rendered from a real run and from a hand-written schema-2 document, checked in headless
Chromium (console, displayed counts, filtering, screenshot) and by its structure."""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support import run_check

from guestpass.reports import results_schema
from guestpass.reports.html import OUTCOMES, curl_command, expected_and_actual, render_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def exchange(method: str, url: str, status: int, request_body: str = "", response_body: str = "") -> dict[str, Any]:
    return {
        "request": {
            "method": method,
            "url": url,
            "headers": ["host: 127.0.0.1:9999", "apikey: [redacted]", "content-type: application/json"],
            "body": request_body,
        },
        "response": {"status": status, "headers": ["content-type: application/json"], "body": response_body},
        "elapsed_ms": 4.2,
    }


def scenario(sid: str, capability: str, outcome: str, message: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "capability": capability,
        "level": "should" if sid == "CORE-031" else "must",
        "title": f"Title of {sid}",
        "requirement": f"{sid} MUST answer with `code` as documented.",
        "feature": f"{capability}.feature",
        "outcome": outcome,
        "duration_seconds": 0.05,
        "message": message,
        **extra,
    }


BASE = "http://127.0.0.1:9999/auth/v1"
SIGNUP = exchange("POST", f"{BASE}/signup", 200, '{\n  "email": "o\'brien@example.test"\n}', '{"user": {}}')
LOGOUT = exchange("POST", f"{BASE}/logout", 200, "", "")


@pytest.fixture
def handwritten() -> dict[str, Any]:
    """HAND-WRITTEN schema-2 document (not produced by `guestpass check`): one scenario per outcome."""
    scenarios = [
        scenario("CORE-001", "core", "passed"),
        scenario(
            "CORE-023",
            "core",
            "failed",
            "E   AssertionError: expected status 204, got 200",
            transcript=[SIGNUP, LOGOUT],
        ),
        scenario("CORE-009", "core", "error", "E   RuntimeError: the <mailbox> was unreachable", transcript=[]),
        scenario(
            "CORE-031",
            "core",
            "warning",
            "E   AssertionError: expected error code session_not_found, got None",
            transcript=[SIGNUP],
        ),
        scenario(
            "ANON-011",
            "anonymous",
            "expected_failure",
            "E   AssertionError: expected error code no_authorization or bad_jwt, got 'forbidden'",
            transcript=[LOGOUT],
            expected={"reason": "fixed in 2.0", "url": "https://tracker.example.test/412"},
        ),
        scenario("DATA-001", "owned-data", "unexpected_pass", expected={"reason": "not yet", "url": "javascript:x()"}),
        scenario("ANON-005", "anonymous", "not_applicable", "not applicable: no anonymous_disabled variant"),
        scenario("DEL-001", "self-delete", "skipped", "skipped by the runner"),
    ]
    scenarios[0]["title"] = "Settings <script>alert('x')</script> & more"
    summary = {outcome: sum(s["outcome"] == outcome for s in scenarios) for outcome in OUTCOMES}
    return {
        "schema_version": 2,
        "suite": {"name": "guestpass", "version": "0.1.0"},
        "target": {"name": "Acme <Auth>", "base_url": BASE, "capabilities": ["core", "anonymous", "owned-data"]},
        "started_at": "2026-01-02T03:04:05+00:00",
        "duration_seconds": 12.5,
        "strict": False,
        "expectations": {"file": "expected-failures.toml", "stale": ["CORE-999"]},
        "unexpected": 4,  # failed, error, unexpected pass and the stale entry
        "summary": summary,
        "scenarios": scenarios,
    }


@pytest.fixture(scope="module")
def core_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The core scenarios against the embedded reference server, run once for this module."""
    completed, document = run_check(tmp_path_factory.mktemp("core") / "results.json", "--capability", "core")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return document


def open_in_browser(driver: Any, html: str, directory: Path, name: str) -> Path:
    """Loads `html` from a file, requires a quiet console, and returns the screenshot it took."""
    page = directory / f"{name}.html"
    page.write_text(html)
    driver.set_window_size(1280, 1600)
    driver.get(page.as_uri())
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe
    shot = directory / f"{name}.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    return shot


def displayed_counts(driver: Any) -> dict[str, int]:
    from selenium.webdriver.common.by import By

    return {outcome: int(driver.find_element(By.ID, f"count-{outcome}").text) for outcome in OUTCOMES}


class Structure(HTMLParser):
    """The ids, fragment links, external references and script texts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.fragments: list[str] = []
        self.external: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(values["id"] or "")
        href = values.get("href") or ""
        if href.startswith("#"):
            self.fragments.append(href[1:])
        if values.get("src") or (tag == "link" and values.get("rel") == "stylesheet"):
            self.external.append(tag)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def structure(html: str) -> Structure:
    parser = Structure()
    parser.feed(html)
    return parser


VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


@dataclass(eq=False)
class Element:
    """One element of a parsed page, enough to ask what contains what."""

    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def ancestors(self) -> Iterator[Element]:
        parent = self.parent
        while parent is not None:
            yield parent
            parent = parent.parent

    def descendants(self) -> Iterator[Element]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.descendants()

    def all(self, css_class: str = "", *, tag: str = "") -> list[Element]:
        return [
            e for e in self.descendants() if (not css_class or css_class in e.classes) and (not tag or e.tag == tag)
        ]

    def by_id(self, element_id: str) -> list[Element]:
        return [element for element in self.descendants() if element.attrs.get("id") == element_id]


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = self.current = Element("#document", {})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID_TAGS:
            self.current = element

    def handle_endtag(self, tag: str) -> None:
        opened = next((e for e in [self.current, *self.current.ancestors()] if e.tag == tag), None)
        if opened is not None and opened.parent is not None:
            self.current = opened.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def dom(html: str) -> Element:
    parser = Tree()
    parser.feed(html)
    return parser.root


def hidden_by(element: Element) -> list[Element]:
    """The element itself or its ancestors, where they hide it without a script or a click."""
    return [
        e
        for e in [element, *element.ancestors()]
        if "hidden" in e.attrs
        or (e.tag == "details" and "open" not in e.attrs and e is not element)
        or "display:none" in e.attrs.get("style", "").replace(" ", "")
    ]


def assert_every_scenario_is_addressable(html: str, document: dict[str, Any]) -> None:
    """`report.html#ID` shows the scenario: one visible section with that id, and `:target` beats the filters."""
    root = dom(html)
    for sid in (s["id"] for s in document["scenarios"]):
        (element,) = root.by_id(sid)
        assert element.tag == "article" and "scenario" in element.classes, sid
        assert not hidden_by(element), sid
    style = "".join(e.text() for e in root.all(tag="style"))
    shown = style.index("body[data-show] main .scenario:target { display: block; }")
    assert shown > style.rindex("{ display: none; }")
    assert "body[data-show] main :is(.capability, #failures):has(:target) { display: block; }" in style
    assert "reveal();" in "".join(e.text() for e in root.all(tag="script"))


# --- the real run -----------------------------------------------------------------------------------------


def test_report_of_a_real_run_in_the_browser(browser: Any, core_run: dict[str, Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    open_in_browser(browser, render_report(core_run), tmp_path, "report")
    summary = core_run["summary"]
    assert displayed_counts(browser) == {outcome: summary.get(outcome, 0) for outcome in OUTCOMES}
    assert browser.find_element(By.ID, "target-name").text == core_run["target"]["name"]
    assert browser.find_element(By.ID, "verdict").text == "conforms: nothing unexpected"
    cells = browser.find_elements(By.CSS_SELECTOR, "#row-core .cell")
    assert [cell.text for cell in cells] == sorted(s["id"] for s in core_run["scenarios"])


def test_every_scenario_of_a_real_run_has_its_section(core_run: dict[str, Any]) -> None:
    html = render_report(core_run)
    parsed = structure(html)
    assert len(parsed.ids) == len(set(parsed.ids))
    assert set(parsed.fragments) <= set(parsed.ids)
    assert {s["id"] for s in core_run["scenarios"]} <= set(parsed.ids)
    assert not parsed.external
    assert "<script>" in html and "http://" not in "".join(parsed.scripts)
    assert_every_scenario_is_addressable(html, core_run)


# --- the hand-written document ----------------------------------------------------------------------------


def test_the_handwritten_document_follows_the_schema(handwritten: dict[str, Any]) -> None:
    jsonschema.validate(handwritten, results_schema())


def test_failures_in_the_browser(browser: Any, handwritten: dict[str, Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    open_in_browser(browser, render_report(handwritten), tmp_path, "failures")
    assert displayed_counts(browser) == handwritten["summary"]
    assert browser.find_element(By.ID, "count-unexpected").text == "4"
    assert browser.find_element(By.ID, "target-name").text == "Acme <Auth>"
    assert "<script>alert('x')</script>" in browser.find_element(By.ID, "CORE-001").text
    failed = browser.find_element(By.ID, "CORE-023")
    assert "expected status 204, got 200" in failed.text
    assert failed.find_element(By.CSS_SELECTOR, ".versus .expected").text == "204"
    assert failed.find_element(By.CSS_SELECTOR, ".versus .actual").text == "200"
    assert failed.find_element(By.CSS_SELECTOR, ".curl-command").text.startswith("curl -i -X POST")

    browser.find_element(By.CSS_SELECTOR, 'button[data-filter="failed"]').click()
    assert failed.is_displayed()
    assert not browser.find_element(By.ID, "CORE-001").is_displayed()
    assert not browser.find_element(By.ID, "cap-anonymous").is_displayed()
    browser.find_element(By.CSS_SELECTOR, 'button[data-filter="failed"]').click()
    assert browser.find_element(By.ID, "CORE-001").is_displayed()


def test_failure_details(handwritten: dict[str, Any]) -> None:
    html = render_report(handwritten)
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)" in html
    assert "Acme &lt;Auth&gt;" in html
    assert "the &lt;mailbox&gt; was unreachable" in html
    assert 'href="https://tracker.example.test/412"' in html
    assert "javascript:" not in html
    assert "<code>CORE-999</code>" in html
    assert html.count('class="exchange"') == 4
    assert "<b>HTTP 200 OK</b>" in html
    assert "<code>code</code>" in html


def test_a_schema_1_document_renders(handwritten: dict[str, Any]) -> None:
    old = copy.deepcopy(handwritten)
    for key in ("strict", "expectations", "unexpected"):
        del old[key]
    old["schema_version"] = 1
    old["scenarios"] = [s for s in old["scenarios"] if s["outcome"] in ("passed", "failed", "not_applicable")]
    old["summary"] = {"passed": 1, "failed": 1, "error": 0, "not_applicable": 1, "skipped": 0}
    for s in old["scenarios"]:
        s.pop("expected", None)
    html = render_report(old)
    assert '<span id="count-unexpected">1</span>' in html
    assert '<span class="n" id="count-warning">0</span>' in html


# --- helpers ----------------------------------------------------------------------------------------------


def test_curl_reproduces_the_request_with_its_quoting() -> None:
    request = {
        "method": "PUT",
        "url": "http://127.0.0.1:9999/auth/v1/user?select=a[0]",
        "headers": ["host: 127.0.0.1:9999", "content-length: 40", "authorization: [redacted]", "x-note: it's here"],
        "body": '{\n  "data": {"name": "O\'Brien \\"the\\" user", "note": "$HOME `id`"}\n}',
    }
    command = curl_command(request)
    assert shlex.split(command) == [
        "curl",
        "-i",
        "-X",
        "PUT",
        "--globoff",
        request["url"],
        "-H",
        "authorization: [redacted]",
        "-H",
        "x-note: it's here",
        "--data-raw",
        request["body"],
    ]
    assert curl_command({"method": "GET", "url": "http://h/settings", "headers": [], "body": ""}) == (
        "curl -i -X GET http://h/settings"
    )


@pytest.mark.parametrize(
    ("message", "rows"),
    [
        ("E   AssertionError: expected status 403, got 200", [("status", "403", "200"), ("error code", "—", "—")]),
        (
            "setup: POST /cli: expected status 200, got 429 (the target rate-limited)",
            [("status", "200", "429"), ("error code", "(none)", "—")],
        ),
        (
            "expected error code session_not_found, got None",
            [("status", "—", "—"), ("error code", "session_not_found", "(none)")],
        ),
        ("expected error code a or b, got 'c'", [("status", "—", "—"), ("error code", "a or b", "c")]),
        ("the response body is not JSON: '<html>'", []),
    ],
)
def test_expected_and_actual_are_read_from_the_message(message: str, rows: list[tuple[str, str, str]]) -> None:
    assert expected_and_actual(message) == rows


def refusal(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return exchange("POST", f"{BASE}/logout", status, "", json.dumps(body, indent=2))


@pytest.mark.parametrize(
    ("message", "transcript", "rows"),
    [
        (
            "expected status 401, got 403",
            [SIGNUP, refusal(403, {"code": 403, "error_code": "bad_jwt", "msg": "invalid JWT"})],
            [("status", "401", "403"), ("error code", "—", "bad_jwt")],
        ),
        (
            "expected status 204, got 403",
            [refusal(403, {"code": "session_not_found", "message": "gone"}), SIGNUP],
            [("status", "204", "403"), ("error code", "(none)", "session_not_found")],
        ),
        (
            "expected status 204, got 200",
            [SIGNUP, LOGOUT],
            [("status", "204", "200"), ("error code", "(none)", "(none)")],
        ),
        (
            "expected error code no_authorization or bad_jwt, got 'forbidden'",
            [refusal(403, {"code": "forbidden"})],
            [("status", "403", "403"), ("error code", "no_authorization or bad_jwt", "forbidden")],
        ),
    ],
)
def test_expected_and_actual_are_completed_from_the_transcript(
    message: str, transcript: list[dict[str, Any]], rows: list[tuple[str, str, str]]
) -> None:
    assert expected_and_actual(message, transcript) == rows


# --- what users reported ----------------------------------------------------------------------------------


def article_ids(section: Element) -> list[str]:
    return [article.attrs["id"] for article in section.all("scenario", tag="article")]


def test_failures_come_first(handwritten: dict[str, Any]) -> None:
    html = render_report(handwritten)
    root = dom(html)
    (failures,) = root.by_id("failures")
    assert html.index('id="failures"') < html.index('id="matrix"') < html.index('id="scenarios"')
    assert article_ids(failures) == ["CORE-023", "CORE-009", "DATA-001", "CORE-031", "ANON-011"]
    assert "5 scenarios, 3 unexpected" in failures.text()
    (scenarios,) = root.by_id("scenarios")
    assert sorted(article_ids(scenarios)) == ["ANON-005", "CORE-001", "DEL-001"]
    (core,) = root.by_id("cap-core")
    links = [a.attrs["href"] for moved in core.all("moved") for a in moved.all(tag="a")]
    assert links == ["#CORE-009", "#CORE-023", "#CORE-031"]
    assert "1/4 passed" in core.text()


def test_no_failures_section_when_all_is_well(handwritten: dict[str, Any]) -> None:
    handwritten["scenarios"] = [s for s in handwritten["scenarios"] if s["outcome"] in ("passed", "not_applicable")]
    html = render_report(handwritten)
    assert 'id="failures"' not in html and 'class="moved' not in html
    assert_every_scenario_is_addressable(html, handwritten)


def versus(root: Element, sid: str) -> dict[str, tuple[str, str]]:
    (article,) = root.by_id(sid)
    (table,) = article.all("versus")
    return {
        row.all(tag="th")[0].text(): (row.all("expected")[0].text(), row.all("actual")[0].text())
        for row in table.all(tag="tr")[1:]
    }


def test_the_comparison_shows_status_and_error_code(handwritten: dict[str, Any]) -> None:
    rejected = refusal(403, {"code": 403, "error_code": "bad_jwt", "msg": "invalid JWT"})
    failed = handwritten["scenarios"][1]
    failed.update(message="E   AssertionError: expected status 401, got 403", transcript=[SIGNUP, rejected])
    root = dom(render_report(handwritten))
    assert versus(root, "CORE-023") == {"status": ("401", "403"), "error code": ("—", "bad_jwt")}
    assert versus(root, "ANON-011") == {
        "status": ("200", "200"),
        "error code": ("no_authorization or bad_jwt", "forbidden"),
    }
    assert versus(root, "CORE-031")["error code"] == ("session_not_found", "(none)")
    assert not root.by_id("CORE-009")[0].all("versus")


@pytest.mark.parametrize("name", ["", "unnamed target", None])
def test_a_target_without_a_name_is_shown_by_its_base_url(handwritten: dict[str, Any], name: str | None) -> None:
    if name is None:
        del handwritten["target"]["name"]
    else:
        handwritten["target"]["name"] = name
    root = dom(render_report(handwritten))
    assert root.by_id("target-name")[0].text() == BASE
    assert root.all(tag="title")[0].text() == f"guestpass: {BASE}"
    assert "unnamed" not in root.text()


def test_every_scenario_is_addressable(handwritten: dict[str, Any]) -> None:
    html = render_report(handwritten)
    assert_every_scenario_is_addressable(html, handwritten)
    parsed = structure(html)
    assert len(parsed.ids) == len(set(parsed.ids)) and set(parsed.fragments) <= set(parsed.ids)
