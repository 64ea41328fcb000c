"""The HTML report of one results document: a single self-contained file, readable offline."""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from html import escape
from http import HTTPStatus
from typing import Any

from guestpass.conformance.capabilities import CAPABILITIES

OUTCOMES = (
    "passed",
    "failed",
    "error",
    "warning",
    "expected_failure",
    "unexpected_pass",
    "not_applicable",
    "skipped",
)
LABELS = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "warning": "warning",
    "expected_failure": "expected failure",
    "unexpected_pass": "unexpected pass",
    "not_applicable": "not applicable",
    "skipped": "skipped",
}
# outcomes whose entry carries a failure message and a transcript
FAILURE_LIKE = frozenset({"failed", "error", "expected_failure", "warning"})
UNEXPECTED = frozenset({"failed", "error", "unexpected_pass"})
NOT_RUN = frozenset({"not_applicable", "skipped"})
# outcomes listed first, in the Failures section, most serious first
FAILURES = ("failed", "error", "unexpected_pass", "warning", "expected_failure")
PASSING = frozenset({"passed", "unexpected_pass"})
# headers curl computes itself, or that would change what it prints
CURL_SKIPPED_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection"})

STATUS_MESSAGE = re.compile(r"expected status (?P<expected>\d{3}), got (?P<actual>\d{3})")
CODE_MESSAGE = re.compile(r"expected error code (?P<expected>.+?), got (?P<actual>None|'[^']*'|\"[^\"]*\"|\S+)")
PYTEST_PREFIX = re.compile(r"^E\s+")
UNKNOWN = "—"
NO_CODE = "(none)"
# what a target without a name of its own is called in the results file
PLACEHOLDER_NAMES = frozenset({"", "unnamed target"})

BASE_STYLE = """
:root {
  --bg: #f6f7f9; --card: #fff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --code: #f2f4f7;
  --passed: #1a7f37; --failed: #cf222e; --error: #8250df; --warning: #bf8700; --expected_failure: #9a6700;
  --unexpected_pass: #bf3989; --not_applicable: #8c959f; --skipped: #6e7781; --missing: #d8dee4;
  --accent: #0969da;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --card: #161b22; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --code: #1f2630;
          --missing: #3d444d; --accent: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45;
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 32px 0 12px; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
                   font-size: 0.86em; }
code { background: var(--code); padding: 1px 4px; border-radius: 4px; }
pre { background: var(--code); padding: 10px 12px; border-radius: 6px; overflow-x: auto; margin: 6px 0;
      white-space: pre-wrap; word-break: break-word; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 16px 18px; }
.muted { color: var(--muted); }
.meta { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 8px 0 0; padding: 0; list-style: none; }
.meta dt { display: inline; color: var(--muted); }
.meta dd { display: inline; margin: 0 0 0 4px; }
.verdict { display: inline-block; font-weight: 700; padding: 4px 12px; border-radius: 999px; color: #fff; }
.verdict.ok { background: var(--passed); }
.verdict.bad { background: var(--failed); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 0.8rem; font-weight: 600;
         color: #fff; background: var(--muted); white-space: nowrap; }
.level { border: 1px solid var(--muted); background: transparent; color: var(--muted); }
.level.must { border-color: var(--fg); color: var(--fg); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--border); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 0.85rem; }
"""


def outcome_style() -> str:
    """The colour classes `o-<outcome>` for badges and cells."""
    rules = [f".o-{name} {{ --o: var(--{name}); }}" for name in (*OUTCOMES, "missing")]
    return "\n".join(rules) + "\n.badge[class*='o-'], .cell[class*='o-'] { background: var(--o); }\n"


def page(title: str, body: str, *, style: str = "", script: str = "") -> str:
    """A complete HTML document that loads nothing from anywhere."""
    policy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    script_tag = f"<script>\n{script}\n</script>\n" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{escape(title)}</title>\n<style>{BASE_STYLE}{outcome_style()}{style}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n{script_tag}</body>\n</html>\n"
    )


def inline_code(text: str) -> str:
    """Escapes `text`, rendering its `backticked` spans as code."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return escape(text)
    return "".join(f"<code>{escape(part)}</code>" if i % 2 else escape(part) for i, part in enumerate(parts))


def format_date(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value or "unknown"
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def badge(outcome: str) -> str:
    return f'<span class="badge o-{escape(outcome)}">{escape(LABELS.get(outcome, outcome))}</span>'


def level_badge(level: str) -> str:
    return f'<span class="badge level {escape(level)}">{escape(level.upper())}</span>'


def summary_counts(document: dict[str, Any]) -> dict[str, int]:
    """The document's summary, completed by counting its scenarios for outcomes it does not list."""
    counted = Counter(scenario.get("outcome") for scenario in document.get("scenarios", []))
    return {**{outcome: counted[outcome] for outcome in OUTCOMES}, **document.get("summary", {})}


def unexpected_count(document: dict[str, Any]) -> int:
    if "unexpected" in document:
        return int(document["unexpected"])
    stale = document.get("expectations", {}).get("stale", [])
    return sum(1 for s in document.get("scenarios", []) if s.get("outcome") in UNEXPECTED) + len(stale)


def capability_order(scenarios: Iterable[dict[str, Any]]) -> list[str]:
    """Known capabilities in their canonical order, then any others the scenarios name."""
    named = {scenario.get("capability", "") for scenario in scenarios}
    return [*CAPABILITIES, *sorted(named - set(CAPABILITIES))]


def by_capability(scenarios: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for scenario in sorted(scenarios, key=lambda s: s.get("id", "")):
        grouped.setdefault(scenario.get("capability", ""), []).append(scenario)
    return grouped


def tally(scenarios: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(passed, applicable): scenarios that passed, among those that ran."""
    outcomes = [scenario.get("outcome") for scenario in scenarios]
    return sum(o in PASSING for o in outcomes), sum(o not in NOT_RUN for o in outcomes)


def target_name(target: dict[str, Any]) -> str:
    """The target's name, or its base URL when it was given none."""
    name = str(target.get("name") or "").strip()
    if name.lower() not in PLACEHOLDER_NAMES:
        return name
    return target.get("base_url") or name or "unknown target"


def is_failure(scenario: dict[str, Any]) -> bool:
    return scenario.get("outcome") in FAILURES


def safe_url(url: str) -> str | None:
    return url if url.lower().startswith(("https://", "http://")) else None


# --- failure details ------------------------------------------------------------------------------------


def clean_message(message: str) -> str:
    return PYTEST_PREFIX.sub("", message.strip())


def response_code(response: dict[str, Any]) -> str:
    """The error code of a recorded response, in either wire format (`code` or `error_code`)."""
    try:
        body = json.loads(response.get("body") or "null")
    except ValueError:
        return NO_CODE
    if not isinstance(body, dict):
        return NO_CODE
    code = body["code"] if isinstance(body.get("code"), str) else body.get("error_code")
    return str(code) if code else NO_CODE


def failing_response(transcript: Iterable[dict[str, Any]], status: str | None) -> dict[str, Any] | None:
    """The response a failure is about: the last one, or the last with the status the message names."""
    responses = [exchange.get("response", {}) for exchange in transcript]
    if status is not None:
        responses = [response for response in responses if str(response.get("status")) == status]
    return responses[-1] if responses else None


def expected_and_actual(message: str, transcript: Iterable[dict[str, Any]] = ()) -> list[tuple[str, str, str]]:
    """(what, expected, actual) for the status and the error code, read from a failure message such as
    `expected status 403, got 200` and completed from the transcript's response; none if the message states
    no expected status or code."""
    status, code = STATUS_MESSAGE.search(message), CODE_MESSAGE.search(message)
    if not (status or code):
        return []
    response = failing_response(transcript, status["actual"] if status else None)
    actual_status, actual_code = UNKNOWN, UNKNOWN
    if response:
        actual_status, actual_code = str(response.get("status", UNKNOWN)), response_code(response)
    if status:
        actual_status = status["actual"]
    if code:
        actual_code = NO_CODE if code["actual"] == "None" else code["actual"].strip("'\"")
    # the suite checks the error code only once the status matched
    expected_status = status["expected"] if status else actual_status
    expected = expected_code(code, expected_status)
    return [("status", expected_status, actual_status), ("error code", expected, actual_code)]


def expected_code(code: re.Match[str] | None, expected_status: str) -> str:
    if code:
        return code["expected"]
    success = expected_status.isdigit() and int(expected_status) < 400
    return NO_CODE if success else UNKNOWN


def curl_command(request: dict[str, Any]) -> str:
    """A shell command line that sends `request` (one transcript entry's request) again with curl."""
    words = ["curl", "-i", "-X", request.get("method", "GET")]
    url = request.get("url", "")
    if any(char in url for char in "[]{}"):
        words.append("--globoff")
    words.append(url)
    for header in request.get("headers", []):
        if header.partition(":")[0].strip().lower() not in CURL_SKIPPED_HEADERS:
            words += ["-H", header]
    if body := request.get("body", ""):
        words += ["--data-raw", body]
    return " ".join(shlex.quote(word) for word in words)


def http_status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def status_class(status: int) -> str:
    return f"s{status // 100}xx" if 100 <= status < 600 else "sxxx"


def message_lines(headers: Iterable[str], body: str) -> str:
    lines = [
        f'<span class="hn">{escape(name)}</span>:{escape(value)}'
        for name, _, value in (header.partition(":") for header in headers)
    ]
    text = "\n".join(lines)
    return text + ("\n\n" + escape(body) if body else "")


def exchange_html(exchange: dict[str, Any], number: int, *, open_: bool) -> str:
    request, response = exchange.get("request", {}), exchange.get("response", {})
    status = int(response.get("status", 0))
    method, url = request.get("method", ""), request.get("url", "")
    summary = (
        f'<span class="num">{number}</span> <span class="method">{escape(method)}</span> '
        f'<span class="url mono">{escape(url)}</span> → '
        f'<span class="status {status_class(status)}">{status}</span> '
        f'<span class="muted">{exchange.get("elapsed_ms", 0):.0f} ms</span>'
    )
    request_text = f"<b>{escape(method)} {escape(url)}</b>\n" + message_lines(
        request.get("headers", []), request.get("body", "")
    )
    response_text = f"<b>HTTP {escape(http_status_line(status))}</b>\n" + message_lines(
        response.get("headers", []), response.get("body", "")
    )
    return (
        f'<details class="exchange"{" open" if open_ else ""}>\n<summary>{summary}</summary>\n'
        f'<div class="pair"><div><div class="side">request</div><pre class="request">{request_text}</pre></div>\n'
        f'<div><div class="side">response</div><pre class="response">{response_text}</pre></div></div>\n'
        "</details>"
    )


def transcript_html(transcript: list[dict[str, Any]]) -> str:
    if not transcript:
        return '<p class="muted">No HTTP exchange was recorded.</p>'
    last = len(transcript)
    exchanges = "\n".join(exchange_html(x, i, open_=i == last) for i, x in enumerate(transcript, 1))
    return f'<div class="transcript"><h4>Transcript ({last} exchange{"s" if last != 1 else ""})</h4>\n{exchanges}</div>'


def versus_cell(kind: str, value: str) -> str:
    if value == UNKNOWN:
        return f'<td class="{kind} unknown muted" title="not stated in the failure or the transcript">{UNKNOWN}</td>'
    return f'<td class="{kind} mono">{escape(value)}</td>'


def comparison_html(message: str, transcript: list[dict[str, Any]]) -> str:
    rows = expected_and_actual(message, transcript)
    if not rows:
        return ""
    body = "".join(
        f'<tr class="{what.replace(" ", "-")}"><th scope="row">{what}</th>'
        f"{versus_cell('expected', expected)}{versus_cell('actual', actual)}</tr>"
        for what, expected, actual in rows
    )
    return f'<table class="versus"><tr><th></th><th>expected</th><th>actual</th></tr>{body}</table>'


def expectation_html(scenario: dict[str, Any]) -> str:
    expected = scenario.get("expected")
    if not expected:
        return ""
    url = safe_url(expected.get("url", ""))
    link = f' <a href="{escape(url)}">{escape(url)}</a>' if url else ""
    intro = "Listed as an expected failure, but passed" if scenario.get("outcome") == "unexpected_pass" else "Expected"
    return f'<p class="expectation"><b>{intro}:</b> {escape(expected.get("reason", ""))}{link}</p>'


def curl_html(transcript: list[dict[str, Any]]) -> str:
    if not transcript:
        return ""
    command = curl_command(transcript[0].get("request", {}))
    return (
        '<div class="curl"><h4>Reproduce the first request</h4>'
        f'<pre class="curl-command">{escape(command)}</pre>'
        '<p class="muted small">Redacted secrets appear as <code>[redacted]</code>: put your own in.</p></div>'
    )


def details_html(scenario: dict[str, Any]) -> str:
    outcome, message = scenario.get("outcome", ""), clean_message(scenario.get("message", ""))
    parts = [expectation_html(scenario)]
    if outcome in FAILURE_LIKE:
        transcript = scenario.get("transcript", [])
        parts += [
            f'<pre class="message">{escape(message)}</pre>' if message else "",
            comparison_html(message, transcript),
            curl_html(transcript),
            transcript_html(transcript),
        ]
    elif message:
        parts.append(f'<p class="reason muted">{escape(message)}</p>')
    inner = "\n".join(part for part in parts if part)
    return f'<div class="details">\n{inner}\n</div>' if inner else ""


# --- page sections --------------------------------------------------------------------------------------


def scenario_html(scenario: dict[str, Any]) -> str:
    sid, outcome = scenario.get("id", ""), scenario.get("outcome", "")
    return (
        f'<article class="scenario o-{escape(outcome)}" id="{escape(sid)}" data-outcome="{escape(outcome)}">\n'
        f'<header><a class="sid mono" href="#{escape(sid)}">{escape(sid)}</a> {level_badge(scenario.get("level", ""))}'
        f' <span class="title">{escape(scenario.get("title", ""))}</span>'
        f' <span class="right">{badge(outcome)}'
        f' <span class="muted small">{scenario.get("duration_seconds", 0):.2f} s</span></span></header>\n'
        f'<p class="requirement">{inline_code(scenario.get("requirement", ""))}'
        f' <span class="muted small">— {escape(scenario.get("feature", ""))}</span></p>\n'
        f"{details_html(scenario)}</article>"
    )


def moved_html(scenario: dict[str, Any]) -> str:
    """Where a failing scenario would be: a link to its section under Failures."""
    sid, outcome = escape(scenario.get("id", "")), escape(scenario.get("outcome", ""))
    return (
        f'<p class="moved o-{outcome}">{badge(outcome)} <a class="mono" href="#{sid}">{sid}</a>'
        f' {escape(scenario.get("title", ""))} <span class="muted small">— under Failures, above</span></p>'
    )


def capability_section(capability: str, scenarios: list[dict[str, Any]]) -> str:
    passed, applicable = tally(scenarios)
    articles = "\n".join(moved_html(s) if is_failure(s) else scenario_html(s) for s in scenarios)
    return (
        f'<section class="capability" id="cap-{escape(capability)}">\n'
        f'<h2>{escape(capability)} <span class="muted small">{passed}/{applicable} passed</span></h2>\n'
        f'<p class="muted">{escape(CAPABILITIES.get(capability, ""))}</p>\n{articles}\n</section>'
    )


def failures_html(scenarios: Iterable[dict[str, Any]]) -> str:
    """Every scenario that did not pass, most serious first, ahead of the capabilities."""
    failing = sorted(filter(is_failure, scenarios), key=lambda s: (FAILURES.index(s["outcome"]), s.get("id", "")))
    if not failing:
        return ""
    unexpected = sum(s["outcome"] in UNEXPECTED for s in failing)
    articles = "\n".join(scenario_html(scenario) for scenario in failing)
    return (
        f'<section class="failures" id="failures">\n<h2>Failures <span class="muted small">{len(failing)}'
        f" scenario{'s' if len(failing) != 1 else ''}, {unexpected} unexpected</span></h2>\n"
        '<p class="muted small">Failed, errors, unexpected passes, warnings and expected failures, in that order;'
        " every other scenario follows by capability.</p>\n"
        f"{articles}\n</section>"
    )


def matrix_cell(scenario: dict[str, Any]) -> str:
    sid, outcome = escape(scenario.get("id", "")), escape(scenario.get("outcome", ""))
    hint = escape(f"{scenario.get('id', '')} · {LABELS.get(outcome, outcome)} · {scenario.get('title', '')}")
    return f'<a class="cell o-{outcome}" href="#{sid}" title="{hint}">{sid}</a>'


def matrix_row(capability: str, scenarios: list[dict[str, Any]], claimed: bool) -> str:
    passed, applicable = tally(scenarios)
    if scenarios:
        cells, score = "".join(matrix_cell(s) for s in scenarios), f"{passed}/{applicable}"
    else:
        cells, score = f'<span class="muted small">{"not run" if claimed else "not claimed"}</span>', ""
    name = f'<a href="#cap-{escape(capability)}">{escape(capability)}</a>' if scenarios else escape(capability)
    return (
        f'<tr id="row-{escape(capability)}"><th scope="row" title="{escape(CAPABILITIES.get(capability, ""))}">'
        f'{name}</th><td class="score mono">{score}</td><td class="cells">{cells}</td></tr>'
    )


def matrix_html(document: dict[str, Any], grouped: dict[str, list[dict[str, Any]]]) -> str:
    claimed = set(document.get("target", {}).get("capabilities", []))
    rows = "\n".join(
        matrix_row(capability, grouped.get(capability, []), capability in claimed)
        for capability in capability_order(document.get("scenarios", []))
    )
    legend = " ".join(badge(outcome) for outcome in OUTCOMES)
    return (
        '<section id="matrix"><h2>Capabilities</h2><div class="card">'
        f'<table class="matrix"><tr><th>capability</th><th>passed</th><th>scenarios</th></tr>\n{rows}\n</table>'
        f'<p class="legend">{legend}</p></div></section>'
    )


def counts_html(counts: dict[str, int]) -> str:
    buttons = "".join(
        f'<button type="button" class="count o-{outcome}{" zero" if not counts.get(outcome) else ""}"'
        f' data-filter="{outcome}" aria-pressed="false"><span class="n" id="count-{outcome}">'
        f'{counts.get(outcome, 0)}</span> <span class="label">{LABELS[outcome]}</span></button>'
        for outcome in OUTCOMES
    )
    return f'<div class="counts" id="counts">{buttons}</div>'


def stale_html(document: dict[str, Any]) -> str:
    expectations = document.get("expectations") or {}
    stale, file = expectations.get("stale", []), expectations.get("file")
    parts = []
    if file:
        parts.append(f'<p class="small">Expected failures from <code>{escape(file)}</code>.</p>')
    if stale:
        names = ", ".join(f"<code>{escape(entry)}</code>" for entry in stale)
        parts.append(f'<p class="stale" id="stale">Entries naming no scenario of the suite: {names}</p>')
    return "\n".join(parts)


def header_html(document: dict[str, Any]) -> str:
    target, suite = document.get("target", {}), document.get("suite", {})
    unexpected = unexpected_count(document)
    verdict = (
        '<span class="verdict ok" id="verdict">conforms: nothing unexpected</span>'
        if unexpected == 0
        else f'<span class="verdict bad" id="verdict"><span id="count-unexpected">{unexpected}</span>'
        f" unexpected result{'s' if unexpected != 1 else ''}</span>"
    )
    meta = {
        "base URL": f'<span class="mono" id="base-url">{escape(target.get("base_url", ""))}</span>',
        "suite": escape(f"{suite.get('name', 'guestpass')} {suite.get('version', '')}".strip()),
        "run at": escape(format_date(document.get("started_at", ""))),
        "duration": escape(format_duration(float(document.get("duration_seconds", 0)))),
        "mode": "strict (SHOULD failures are unexpected)" if document.get("strict") else "SHOULD failures warn",
    }
    items = "".join(f"<div><dt>{key}</dt><dd>{value}</dd></div>" for key, value in meta.items())
    return (
        '<header class="card" id="summary">\n<p class="muted small">guestpass conformance report</p>\n'
        f'<h1 id="target-name">{escape(target_name(target))}</h1>\n'
        f'<dl class="meta">{items}</dl>\n<div class="verdict-line">{verdict}</div>\n'
        f"{counts_html(summary_counts(document))}\n"
        '<p class="muted small">Select a count to show only those scenarios.</p>\n'
        f"{stale_html(document)}</header>"
    )


REPORT_STYLE = """
.small { font-size: 0.82rem; }
.verdict-line { margin: 14px 0 10px; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; }
.count { border: 1px solid var(--border); border-left: 6px solid var(--o); background: var(--card); color: var(--fg);
         border-radius: 8px; padding: 6px 12px; font: inherit; cursor: pointer; }
.count .n { font-weight: 700; font-size: 1.15rem; }
.count.zero { opacity: 0.55; }
.count[aria-pressed="true"] { outline: 2px solid var(--o); }
.matrix th[scope="row"] { white-space: nowrap; }
.matrix .score { white-space: nowrap; }
.cells { display: flex; flex-wrap: wrap; gap: 3px; }
.cell { color: #fff; text-decoration: none; font: 600 0.72rem/1 ui-monospace, Menlo, Consolas, monospace;
        padding: 4px 5px; border-radius: 4px; }
.cell:hover, .cell:focus { outline: 2px solid var(--fg); }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin: 12px 0 0; }
.capability > h2 { border-bottom: 1px solid var(--border); padding-bottom: 4px; }
.scenario { background: var(--card); border: 1px solid var(--border); border-left: 5px solid var(--o);
            border-radius: 8px; padding: 10px 14px; margin: 8px 0; scroll-margin-top: 12px; }
.scenario:target { box-shadow: 0 0 0 3px var(--accent); }
.failures > h2 { border-bottom: 1px solid var(--border); padding-bottom: 4px; }
.moved { margin: 6px 0; padding: 4px 14px; border-left: 5px solid var(--o); }
.scenario header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px; }
.scenario .sid { font-weight: 700; text-decoration: none; color: var(--fg); }
.scenario .title { font-weight: 600; }
.scenario .right { margin-left: auto; display: flex; gap: 8px; align-items: baseline; }
.requirement { margin: 6px 0 0; }
.details { margin-top: 10px; }
.message { border-left: 4px solid var(--o); }
.versus { width: auto; margin: 8px 0; }
.versus .expected { color: var(--passed); font-weight: 600; }
.versus .actual { color: var(--failed); font-weight: 600; }
.versus .unknown { color: var(--muted); font-weight: 400; }
.expectation { background: var(--code); border-radius: 6px; padding: 6px 10px; }
h4 { margin: 12px 0 4px; font-size: 0.9rem; }
.exchange { border: 1px solid var(--border); border-radius: 6px; margin: 6px 0; }
.exchange > summary { cursor: pointer; padding: 6px 10px; }
.exchange .num { color: var(--muted); }
.exchange .method { font-weight: 700; }
.status { font-weight: 700; }
.s2xx { color: var(--passed); } .s4xx { color: var(--warning); } .s5xx, .sxxx { color: var(--failed); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; padding: 0 10px 8px; }
.pair > div { min-width: 0; }
.side { font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); }
.hn { color: var(--muted); }
@media (max-width: 800px) { .pair { grid-template-columns: 1fr; } }
"""


# the scenario a link or the address names stays visible whatever the filter: `main` makes these rules win
TARGET_STYLE = """
body[data-show] main .scenario:target { display: block; }
body[data-show] main :is(.capability, #failures):has(:target) { display: block; }
"""


def filter_style() -> str:
    """With `body[data-show=X]`, only scenarios with outcome X and their sections stay visible."""
    hidden = "".join(
        f'body[data-show="{o}"] :is(.scenario, .moved):not(.o-{o}), '
        f'body[data-show="{o}"] :is(.capability, #failures):not(:has(.o-{o})) {{ display: none; }}\n'
        for o in OUTCOMES
    )
    return hidden + TARGET_STYLE


REPORT_SCRIPT = """
const buttons = document.querySelectorAll("button[data-filter]");
function setFilter(value) {
  document.body.dataset.show = value;
  buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.filter === value)));
}
buttons.forEach((b) => b.addEventListener("click", () => {
  setFilter(document.body.dataset.show === b.dataset.filter ? "" : b.dataset.filter);
}));
function reveal() {
  const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target && target.offsetParent === null) { setFilter(""); target.scrollIntoView(); }
}
window.addEventListener("hashchange", reveal);
reveal();
"""


def render_report(document: dict[str, Any]) -> str:
    """The whole report of one results document (schema 1 or 2) as one HTML page."""
    grouped = by_capability(document.get("scenarios", []))
    sections = "\n".join(
        capability_section(capability, grouped[capability])
        for capability in capability_order(document.get("scenarios", []))
        if capability in grouped
    )
    failures = failures_html(document.get("scenarios", []))
    body = (
        f"{header_html(document)}\n{failures}\n{matrix_html(document, grouped)}\n"
        f'<div id="scenarios">\n{sections}\n</div>'
    )
    title = f"guestpass: {target_name(document.get('target', {}))}"
    return page(title, body, style=REPORT_STYLE + filter_style(), script=REPORT_SCRIPT)
