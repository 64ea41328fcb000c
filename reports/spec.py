"""The scenarios as a readable specification: Markdown or one self-contained HTML page, both ending
with an index of the error codes the scenarios name."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from pytest_bdd.parser import Examples, Feature, FeatureParser, ScenarioTemplate, Step

from guestpass.conformance.capabilities import CAPABILITIES
from guestpass.conformance.scenario_info import ScenarioInfo
from guestpass.reference.errors import ERRORS, ErrorCode
from guestpass.scenarios import FEATURES_DIR, feature_files

TITLE = "guestpass specification"
RFC_URL = "https://www.rfc-editor.org/rfc/rfc{number}"
DOCSTRING_FENCE = '"""'
STEP_INDENT = "  "

# `refused with 403 "a" or "b"`, `the error code "a"`
REFUSAL = re.compile(r'(?:refused with|error code)\s+(?:(\d{3})\s+)?("[^"]+"(?:\s*(?:,|or)\s*"[^"]+")*)')
# `the response JSON field "error_code" is "a"`, `"anonymous_merge.code" is "a"`
CODE_FIELD = re.compile(r'"(?:[\w.]*\.)?(?:error_)?code" is "([a-z][a-z0-9_]*)"')
# a JSON docstring's `"code": "a"` or `"error_code": "a"`
CODE_MEMBER = re.compile(r'"(?:error_)?code"\s*:\s*"([a-z][a-z0-9_]*)"')
QUOTED = re.compile(r'"([^"]+)"')
BACKTICKED = re.compile(r"`([^`]+)`")
RFC_MENTION = re.compile(r"\bRFC (\d{3,5})\b")
KNOWN_CODES = frozenset(code.value for code in ErrorCode)


@dataclass
class ScenarioSpec:
    id: str
    level: str
    title: str
    requirement: str
    steps: list[str]
    feature_file: str
    error_codes: dict[str, set[int]] = field(default_factory=dict)
    """Each error code the scenario names, with the HTTP statuses its steps expect with it."""


@dataclass
class CapabilitySpec:
    name: str
    meaning: str
    title: str = ""
    description: str = ""
    scenarios: list[ScenarioSpec] = field(default_factory=list)
    feature_files: list[str] = field(default_factory=list)

    def add_feature(self, feature: Feature, file_name: str) -> None:
        self.feature_files.append(file_name)
        self.title = "; ".join(filter(None, [self.title, feature.name]))
        self.description = "\n\n".join(filter(None, [self.description, paragraphs(feature.description)]))


@dataclass(frozen=True)
class ErrorCodeEntry:
    code: str
    status: int | None
    message: str | None
    scenario_ids: list[str]
    expected_statuses: list[int]
    """The statuses the scenarios expect with this code, which may differ from the table's."""

    @property
    def other_statuses(self) -> list[int]:
        return [status for status in self.expected_statuses if status != self.status]


# --- loading -----------------------------------------------------------------------------------------


def load_spec(features_dir: Path = FEATURES_DIR) -> list[CapabilitySpec]:
    """Every capability that has a feature file, in the order of CAPABILITIES."""
    paths = feature_files() if features_dir == FEATURES_DIR else sorted(features_dir.glob("*.feature"))
    specs: dict[str, CapabilitySpec] = {}
    for path in paths:
        feature = FeatureParser(str(features_dir), path.name).parse()
        for info, template in scenarios_of(feature, path.name):
            spec = specs.setdefault(info.capability, CapabilitySpec(info.capability, CAPABILITIES[info.capability]))
            if path.name not in spec.feature_files:
                spec.add_feature(feature, path.name)
            spec.scenarios.append(scenario_spec(info, template))
    return [specs[name] for name in CAPABILITIES if name in specs]


def scenarios_of(feature: Feature, file_name: str) -> Iterable[tuple[ScenarioInfo, ScenarioTemplate]]:
    for template in feature.scenarios.values():
        info = ScenarioInfo.from_tags(
            set(template.tags) | set(feature.tags),
            title=template.name,
            description=template.description,
            feature_file=file_name,
        )
        yield info, template


def paragraphs(text: str) -> str:
    """Each paragraph on one line, paragraphs separated by a blank line."""
    return "\n\n".join(" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip())


def scenario_spec(info: ScenarioInfo, template: ScenarioTemplate) -> ScenarioSpec:
    steps = [line for step in template.steps for line in step_lines(step)]
    steps += [line for examples in template.examples for line in example_lines(examples)]
    codes = error_codes_of(info.requirement, template.steps)
    return ScenarioSpec(info.id, info.level, info.title, info.requirement, steps, info.feature_file, codes)


def step_lines(step: Step) -> list[str]:
    lines = [f"{step.keyword} {step.name}"]
    if step.docstring is not None:
        body = [STEP_INDENT + line if line else "" for line in step.docstring.splitlines()]
        lines += [STEP_INDENT + DOCSTRING_FENCE, *body, STEP_INDENT + DOCSTRING_FENCE]
    return lines


def example_lines(examples: Examples) -> list[str]:
    """A Scenario Outline's Examples table, its columns aligned, after a blank line."""
    rows = [examples.example_params, *examples.examples]
    widths = [max(len(row[column]) for row in rows) for column in range(len(examples.example_params))]
    cells = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return ["", "Examples:", *(f"{STEP_INDENT}| {line} |" for line in cells)]


def error_codes_of(requirement: str, steps: Iterable[Step]) -> dict[str, set[int]]:
    codes: dict[str, set[int]] = {}
    for code in BACKTICKED.findall(requirement):
        if code in KNOWN_CODES:
            codes.setdefault(code, set())
    for step in steps:
        for code, status in step_error_codes(step.name, step.docstring or ""):
            statuses = codes.setdefault(code, set())
            if status is not None:
                statuses.add(status)
    return codes


def step_error_codes(text: str, docstring: str) -> Iterable[tuple[str, int | None]]:
    for match in REFUSAL.finditer(text):
        status = int(match[1]) if match[1] else None
        for code in QUOTED.findall(match[2]):
            yield code, status
    for code in CODE_FIELD.findall(text) + CODE_MEMBER.findall(docstring):
        yield code, None
    for code in QUOTED.findall(text):
        if code in KNOWN_CODES:
            yield code, None


def error_index(spec: list[CapabilitySpec]) -> list[ErrorCodeEntry]:
    """Every error code the scenarios name, alphabetically, with the scenarios that name it."""
    users: dict[str, list[str]] = {}
    statuses: dict[str, set[int]] = {}
    for capability in spec:
        for scenario in capability.scenarios:
            for code, expected in scenario.error_codes.items():
                users.setdefault(code, []).append(scenario.id)
                statuses.setdefault(code, set()).update(expected)
    entries = []
    for code in sorted(users):
        status, message = ERRORS.get(ErrorCode(code), (None, None)) if code in KNOWN_CODES else (None, None)
        entries.append(ErrorCodeEntry(code, status, message, users[code], sorted(statuses[code])))
    return entries


def scenario_count(spec: list[CapabilitySpec], level: str | None = None) -> int:
    return sum(1 for capability in spec for s in capability.scenarios if level is None or s.level == level)


def summary_line(spec: list[CapabilitySpec]) -> str:
    musts, shoulds = scenario_count(spec, "must"), scenario_count(spec, "should")
    return (
        f"{plural(scenario_count(spec), 'scenario')} ({musts} MUST, {shoulds} SHOULD) "
        f"in {plural(len(spec), 'capability', 'capabilities')}."
    )


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


# --- Markdown ----------------------------------------------------------------------------------------


def spec_markdown(spec: list[CapabilitySpec] | None = None) -> str:
    spec = load_spec() if spec is None else spec
    parts = [markdown_header(spec), markdown_contents(spec)]
    parts += [markdown_capability(capability) for capability in spec]
    parts.append(markdown_errors(error_index(spec)))
    return "\n\n".join(parts) + "\n"


def markdown_header(spec: list[CapabilitySpec]) -> str:
    return (
        f"# {TITLE}\n\n{summary_line(spec)} The key words MUST and SHOULD are to be read as described in "
        f"[RFC 2119]({RFC_URL.format(number=2119)}). A server claims capabilities in its target file; the "
        "scenarios of the others are reported not applicable."
    )


def markdown_contents(spec: list[CapabilitySpec]) -> str:
    lines = ["## Contents", ""]
    for number, capability in enumerate(spec, 1):
        count = plural(len(capability.scenarios), "scenario")
        lines.append(
            f"{number}. [`{capability.name}`](#{capability_anchor(capability.name)}): {capability.title} ({count})"
        )
    lines.append(f"{len(spec) + 1}. [Error codes](#error-codes)")
    return "\n".join(lines)


def markdown_capability(capability: CapabilitySpec) -> str:
    head = (
        f'<a id="{capability_anchor(capability.name)}"></a>\n\n'
        f"## `{capability.name}`: {capability.title}\n\n*{capability.meaning}*\n\n{capability.description}"
    )
    return "\n\n".join([head, *(markdown_scenario(scenario) for scenario in capability.scenarios)])


def markdown_scenario(scenario: ScenarioSpec) -> str:
    fence = code_fence("\n".join(scenario.steps))
    steps = "\n".join(scenario.steps)
    return (
        f'<a id="{scenario.id}"></a>\n\n### {scenario.id} · {scenario.level.upper()} · {scenario.title}\n\n'
        f"> {scenario.requirement}\n\n{fence}gherkin\n{steps}\n{fence}"
    )


def code_fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def markdown_errors(entries: list[ErrorCodeEntry]) -> str:
    lines = [
        '<a id="error-codes"></a>',
        "",
        "## Error codes",
        "",
        "Every error code the scenarios name, with its HTTP status and message in the reference server's table.",
        "",
        "| code | status | message | scenarios |",
        "|---|---|---|---|",
    ]
    for entry in entries:
        links = ", ".join(f"[{scenario_id}](#{scenario_id})" for scenario_id in entry.scenario_ids)
        message = (entry.message or "").replace("|", "\\|")
        lines.append(
            f'| <a id="{error_anchor(entry.code)}"></a>`{entry.code}` | {status_text(entry)} | {message} | {links} |'
        )
    return "\n".join(lines)


def status_text(entry: ErrorCodeEntry) -> str:
    text = str(entry.status) if entry.status is not None else "not in the table"
    if entry.other_statuses:
        text += f" (also {', '.join(map(str, entry.other_statuses))} in scenarios)"
    return text


def capability_anchor(name: str) -> str:
    return f"capability-{name}"


def error_anchor(code: str) -> str:
    return f"error-{code}"


# --- HTML --------------------------------------------------------------------------------------------

CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --bg-code: #f5f6f8; --must: #b3261e; --should: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
.page { display: grid; grid-template-columns: 18rem minmax(0, 1fr); max-width: 84rem; margin: 0 auto; }
nav { position: sticky; top: 0; align-self: start; max-height: 100vh; overflow-y: auto; padding: 1.5rem 1rem;
  border-right: 1px solid var(--line); font-size: 0.92rem; }
nav ol { padding-left: 1.4rem; margin: 0.5rem 0; }
nav li { margin: 0.2rem 0; }
nav .count { color: var(--muted); }
main { padding: 1.5rem 2.5rem 4rem; }
h1 { margin-top: 0; }
h2 { margin-top: 3rem; padding-bottom: 0.3rem; border-bottom: 2px solid var(--line); }
h3 { margin: 0 0 0.4rem; font-size: 1.05rem; }
a { color: #1a56b4; text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.88em; }
code { background: var(--bg-code); padding: 0.05em 0.3em; border-radius: 3px; }
.meaning { color: var(--muted); font-style: italic; }
.scenario { margin: 1.6rem 0; padding: 1rem 1.2rem; border: 1px solid var(--line); border-radius: 8px; }
.scenario:target { border-color: #1a56b4; box-shadow: 0 0 0 3px #1a56b433; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; margin-right: 0.4rem; }
.badge { display: inline-block; margin-right: 0.5rem; padding: 0.05rem 0.45rem; border-radius: 4px;
  font-size: 0.72rem; font-weight: 700; letter-spacing: 0.04em; vertical-align: 0.12em; color: #fff; }
.badge.must { background: var(--must); }
.badge.should { background: var(--should); }
.requirement { margin: 0.4rem 0 0.8rem; }
pre.steps { margin: 0; padding: 0.7rem 0.9rem; background: var(--bg-code); border-radius: 6px; overflow-x: auto;
  white-space: pre-wrap; }
pre .kw { color: #6a2fa0; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--line); }
tr:target { background: #fff6d6; }
td a { white-space: nowrap; }
@media (max-width: 52rem) { .page { display: block; } nav { position: static; max-height: none; border: 0; } }
@media print { nav { display: none; } .page { display: block; } .scenario { break-inside: avoid; } }
"""


def spec_html(spec: list[CapabilitySpec] | None = None) -> str:
    spec = load_spec() if spec is None else spec
    sections = "\n".join(html_capability(capability) for capability in spec)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{TITLE}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<div class="page">\n{html_contents(spec)}\n<main>\n{html_header(spec)}\n{sections}\n'
        f"{html_errors(error_index(spec))}\n</main>\n</div>\n</body>\n</html>\n"
    )


def html_header(spec: list[CapabilitySpec]) -> str:
    rfc = f'<a href="{RFC_URL.format(number=2119)}">RFC 2119</a>'
    return (
        f"<h1>{TITLE}</h1>\n<p>{escape(summary_line(spec))} The key words MUST and SHOULD are to be read as "
        f"described in {rfc}. A server claims capabilities in its target file; the scenarios of the others "
        "are reported not applicable.</p>"
    )


def html_contents(spec: list[CapabilitySpec]) -> str:
    items = [
        f'<li><a href="#{capability_anchor(c.name)}"><code>{escape(c.name)}</code></a> '
        f'<span class="count">{plural(len(c.scenarios), "scenario")}</span></li>'
        for c in spec
    ]
    items.append('<li><a href="#error-codes">Error codes</a></li>')
    return '<nav aria-label="Contents">\n<strong>Contents</strong>\n<ol>\n' + "\n".join(items) + "\n</ol>\n</nav>"


def html_capability(capability: CapabilitySpec) -> str:
    description = "\n".join(f"<p>{inline_html(block)}</p>" for block in capability.description.split("\n\n"))
    scenarios = "\n".join(html_scenario(scenario) for scenario in capability.scenarios)
    return (
        f'<section id="{capability_anchor(capability.name)}">\n'
        f"<h2><code>{escape(capability.name)}</code>: {escape(capability.title)}</h2>\n"
        f'<p class="meaning">{escape(capability.meaning)}</p>\n{description}\n{scenarios}\n</section>'
    )


def html_scenario(scenario: ScenarioSpec) -> str:
    level = escape(scenario.level)
    steps = "\n".join(html_step_line(line) for line in scenario.steps)
    return (
        f'<article class="scenario" id="{escape(scenario.id)}">\n'
        f'<h3><a class="id" href="#{escape(scenario.id)}">{escape(scenario.id)}</a>'
        f'<span class="badge {level}">{level.upper()}</span>{escape(scenario.title)}</h3>\n'
        f'<p class="requirement">{inline_html(scenario.requirement)}</p>\n'
        f'<pre class="steps">{steps}</pre>\n</article>'
    )


def html_step_line(line: str) -> str:
    keyword, _, rest = line.partition(" ")
    if line.startswith(STEP_INDENT) or not rest:
        return escape(line)
    return f'<span class="kw">{escape(keyword)}</span> {escape(rest)}'


def inline_html(text: str) -> str:
    """Escaped text with `code` spans; error codes link to the index and RFC numbers to the RFC."""
    parts = BACKTICKED.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(html_code_span(part))
        else:
            out.append(RFC_MENTION.sub(rfc_link, escape(part)))
    return "".join(out)


def html_code_span(text: str) -> str:
    code = f"<code>{escape(text)}</code>"
    return f'<a href="#{error_anchor(text)}">{code}</a>' if text in KNOWN_CODES else code


def rfc_link(match: re.Match[str]) -> str:
    return f'<a href="{RFC_URL.format(number=match[1])}">{match[0]}</a>'


def html_errors(entries: list[ErrorCodeEntry]) -> str:
    rows = "\n".join(html_error_row(entry) for entry in entries)
    return (
        '<section id="error-codes">\n<h2>Error codes</h2>\n<p>Every error code the scenarios name, with its HTTP '
        "status and message in the reference server's table.</p>\n<table>\n<thead><tr><th>code</th><th>status</th>"
        f"<th>message</th><th>scenarios</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</section>"
    )


def html_error_row(entry: ErrorCodeEntry) -> str:
    links = ", ".join(
        f'<a href="#{escape(scenario_id)}">{escape(scenario_id)}</a>' for scenario_id in entry.scenario_ids
    )
    return (
        f'<tr id="{error_anchor(entry.code)}"><td><code>{escape(entry.code)}</code></td>'
        f"<td>{escape(status_text(entry))}</td><td>{escape(entry.message or '')}</td><td>{links}</td></tr>"
    )
