"""Several implementations side by side, from their results documents: as an HTML page or as Markdown."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any

from guestpass.conformance.capabilities import CAPABILITIES
from guestpass.reports.html import (
    LABELS,
    NOT_RUN,
    badge,
    capability_order,
    format_date,
    level_badge,
    page,
    tally,
    target_name,
    unexpected_count,
)

MISSING = "—"
# what an implementation did, whatever its expected-failures file or --strict made of it
RESULTS = {
    "passed": "passed",
    "unexpected_pass": "passed",
    "failed": "failed",
    "expected_failure": "failed",
    "warning": "failed",
    "error": "error",
}
DIFFERENCES_RULE = (
    "A scenario differs when at least two implementations ran it and one passed where another failed or errored."
    " Not applicable, skipped and missing scenarios are not compared; an expected failure or a warning counts as"
    " failed, an unexpected pass as passed."
)


@dataclass(frozen=True)
class Row:
    """One scenario across the implementations; an outcome is None where a document lacks the scenario."""

    id: str
    capability: str
    level: str
    title: str
    requirement: str
    outcomes: tuple[str | None, ...]

    @property
    def ran(self) -> list[str]:
        """The outcomes of the implementations that ran the scenario."""
        return [outcome for outcome in self.outcomes if outcome is not None and outcome not in NOT_RUN]

    @property
    def comparable(self) -> bool:
        return len(self.ran) > 1

    @property
    def differs(self) -> bool:
        """Whether the implementations that ran the scenario disagree on its result."""
        return len({RESULTS.get(outcome, outcome) for outcome in self.ran}) > 1


def implementation_names(documents: list[dict[str, Any]]) -> list[str]:
    """Each document's target name (else its base URL), numbered where several share one."""
    names = [target_name(document.get("target", {})) for document in documents]
    totals, seen = Counter(names), Counter[str]()
    numbered = []
    for name in names:
        seen[name] += 1
        numbered.append(f"{name} #{seen[name]}" if totals[name] > 1 else name)
    return numbered


def scenario_rows(documents: list[dict[str, Any]]) -> list[Row]:
    """Every scenario of any document, in capability order, with its outcome in each document."""
    indexed = [{s["id"]: s for s in document.get("scenarios", []) if "id" in s} for document in documents]
    known: dict[str, dict[str, Any]] = {}
    for scenarios in indexed:
        for sid, scenario in scenarios.items():
            known.setdefault(sid, scenario)
    order = {name: i for i, name in enumerate(capability_order(known.values()))}
    ids = sorted(known, key=lambda sid: (order[known[sid].get("capability", "")], sid))
    return [
        Row(
            id=sid,
            capability=known[sid].get("capability", ""),
            level=known[sid].get("level", ""),
            title=known[sid].get("title", ""),
            requirement=known[sid].get("requirement", ""),
            outcomes=tuple(scenarios[sid].get("outcome") if sid in scenarios else None for scenarios in indexed),
        )
        for sid in ids
    ]


def capability_scores(rows: list[Row], count: int) -> dict[str, list[tuple[int, int] | None]]:
    """Per capability, per implementation: (passed, applicable), or None where it ran none of its scenarios."""
    scores: dict[str, list[tuple[int, int] | None]] = {}
    for capability in capability_order({"capability": row.capability} for row in rows):
        mine = [row for row in rows if row.capability == capability]
        if not mine:
            continue
        scores[capability] = []
        for i in range(count):
            present = [{"outcome": row.outcomes[i]} for row in mine if row.outcomes[i] is not None]
            scores[capability].append(tally(present) if present else None)
    return scores


def score_text(score: tuple[int, int] | None) -> str:
    return MISSING if score is None else f"{score[0]}/{score[1]}"


def passed_total(document: dict[str, Any]) -> tuple[int, int]:
    return tally(document.get("scenarios", []))


# --- HTML -----------------------------------------------------------------------------------------------

COMPARE_STYLE = """
.small { font-size: 0.82rem; }
h1 { margin-bottom: 12px; }
.impls { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.impl h3 { margin: 0 0 4px; font-size: 1.05rem; }
.impl .verdict { font-size: 0.8rem; margin-top: 6px; }
.grid th.impl-head { text-align: center; }
.grid td.score, .grid td.outcome { text-align: center; white-space: nowrap; }
.score.full { color: var(--passed); font-weight: 700; }
.score.partial { color: var(--failed); font-weight: 700; }
.score.none { color: var(--muted); }
.grid .sid { font-weight: 700; white-space: nowrap; }
tr.differs > th, tr.differs > td:first-child { box-shadow: inset 4px 0 0 var(--warning); }
body.only-differences tr.same:not(:target) { display: none; }
tr:target > td { background: var(--code); }
.toolbar { margin: 0 0 8px; }
.missing-cell { color: var(--muted); }
"""

COMPARE_SCRIPT = """
const toggle = document.getElementById("only-differences");
toggle.addEventListener("change", () => document.body.classList.toggle("only-differences", toggle.checked));
"""


def implementation_card(index: int, name: str, document: dict[str, Any]) -> str:
    target, suite = document.get("target", {}), document.get("suite", {})
    passed, applicable = passed_total(document)
    unexpected = unexpected_count(document)
    verdict_class, verdict = ("ok", "nothing unexpected") if unexpected == 0 else ("bad", f"{unexpected} unexpected")
    return (
        f'<div class="card impl" id="impl-{index}">\n<h3>{escape(name)}</h3>\n'
        f'<div class="mono small">{escape(target.get("base_url", ""))}</div>\n'
        f'<div class="small muted">suite {escape(suite.get("version", "?"))} · '
        f"{escape(format_date(document.get('started_at', '')))}</div>\n"
        f'<div><b id="impl-{index}-passed">{passed}</b>/<span id="impl-{index}-applicable">{applicable}</span>'
        f' scenarios passed</div>\n<span class="verdict {verdict_class}" id="impl-{index}-unexpected"'
        f' data-unexpected="{unexpected}">{verdict}</span>\n</div>'
    )


def score_kind(score: tuple[int, int] | None) -> str:
    if score is None or score[1] == 0:
        return "none"
    return "full" if score[0] == score[1] else "partial"


def score_cell(capability: str, index: int, score: tuple[int, int] | None) -> str:
    return (
        f'<td class="score mono {score_kind(score)}" data-capability="{escape(capability)}" data-impl="{index}">'
        f"{score_text(score)}</td>"
    )


def capabilities_table(names: list[str], rows: list[Row]) -> str:
    heads = "".join(f'<th class="impl-head">{escape(name)}</th>' for name in names)
    body = "\n".join(
        f'<tr><th scope="row" title="{escape(CAPABILITIES.get(capability, ""))}">{escape(capability)}</th>'
        + "".join(score_cell(capability, i, score) for i, score in enumerate(scores))
        + "</tr>"
        for capability, scores in capability_scores(rows, len(names)).items()
    )
    return (
        '<section id="capabilities"><h2>Capabilities <span class="muted small">passed / applicable</span></h2>'
        f'<div class="card"><table class="grid"><tr><th>capability</th>{heads}</tr>\n{body}\n</table></div></section>'
    )


def outcome_cell(row: Row, index: int, outcome: str | None) -> str:
    content = badge(outcome) if outcome else f'<span class="missing-cell" title="not in this run">{MISSING}</span>'
    counted = outcome is not None and outcome not in NOT_RUN
    hint = "" if counted else ' title="not run: not compared"'
    return (
        f'<td class="outcome{"" if counted else " not-run"}"{hint} data-scenario="{escape(row.id)}" data-impl="{index}"'
        f' data-outcome="{escape(outcome or "missing")}">{content}</td>'
    )


def scenario_row_html(row: Row) -> str:
    cells = "".join(outcome_cell(row, i, outcome) for i, outcome in enumerate(row.outcomes))
    return (
        f'<tr class="{"differs" if row.differs else "same"}" id="{escape(row.id)}">'
        f'<td class="sid mono">{escape(row.id)}</td><td>{level_badge(row.level)}</td>'
        f'<td title="{escape(row.requirement)}">{escape(row.title)}'
        f'<div class="small muted">{escape(row.capability)}</div></td>{cells}</tr>'
    )


def scenarios_table(names: list[str], rows: list[Row]) -> str:
    heads = "".join(f'<th class="impl-head">{escape(name)}</th>' for name in names)
    differing, comparable = sum(row.differs for row in rows), sum(row.comparable for row in rows)
    body = "\n".join(scenario_row_html(row) for row in rows)
    return (
        f'<section id="scenarios"><h2>Scenarios <span class="muted small"><span id="count-differing">{differing}'
        f'</span> of <span id="count-comparable">{comparable}</span> compared differ ({len(rows)} in all)</span></h2>\n'
        f'<p class="muted small" id="differences-rule">{escape(DIFFERENCES_RULE)}</p>\n'
        '<p class="toolbar"><label><input type="checkbox" id="only-differences"> only scenarios whose outcomes'
        " differ</label></p>\n"
        f'<div class="card"><table class="grid"><tr><th>scenario</th><th>level</th><th>title</th>{heads}</tr>\n'
        f"{body}\n</table></div></section>"
    )


def compare_html(documents: list[dict[str, Any]]) -> str:
    """A self-contained HTML page comparing the implementations the results documents describe."""
    names, rows = implementation_names(documents), scenario_rows(documents)
    pairs = enumerate(zip(names, documents, strict=True))
    cards = "\n".join(implementation_card(i, name, document) for i, (name, document) in pairs)
    body = (
        f'<header><p class="muted small">guestpass comparison</p><h1>{len(documents)} implementations</h1></header>\n'
        f'<section class="impls" id="implementations">\n{cards}\n</section>\n'
        f"{capabilities_table(names, rows)}\n{scenarios_table(names, rows)}"
    )
    return page("guestpass comparison", body, style=COMPARE_STYLE, script=COMPARE_SCRIPT)


# --- Markdown -------------------------------------------------------------------------------------------

# the outcomes that fail a run stand out in bold
MARKDOWN_OUTCOMES = {**LABELS, **{o: f"**{LABELS[o]}**" for o in ("failed", "error", "unexpected_pass")}}


def markdown_cell(text: str) -> str:
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def markdown_table(header: list[str], rows: list[list[str]], align: list[str]) -> str:
    """A GitHub table whose columns are also padded to line up in a terminal."""
    cells = [[markdown_cell(cell) for cell in row] for row in [header, *rows]]
    widths = [max(3, *(len(row[i]) for row in cells)) for i in range(len(header))]
    rule = [":" + "-" * (w - 2) + ":" if a == "center" else "-" * w for w, a in zip(widths, align, strict=True)]

    def line(row: list[str]) -> str:
        columns = zip(row, widths, align, strict=True)
        padded = [cell.center(w) if a == "center" else cell.ljust(w) for cell, w, a in columns]
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(cells[0]), line(rule), *(line(row) for row in cells[1:])])


def markdown_outcome(outcome: str | None) -> str:
    return MISSING if outcome is None else MARKDOWN_OUTCOMES.get(outcome, outcome)


def implementations_markdown(names: list[str], documents: list[dict[str, Any]]) -> str:
    rows = []
    for name, document in zip(names, documents, strict=True):
        passed, applicable = passed_total(document)
        rows.append(
            [
                name,
                document.get("target", {}).get("base_url", ""),
                document.get("suite", {}).get("version", "?"),
                format_date(document.get("started_at", "")),
                f"{passed}/{applicable}",
                str(unexpected_count(document)),
            ]
        )
    header = ["implementation", "base URL", "suite", "run at", "passed", "unexpected"]
    return markdown_table(header, rows, ["left"] * 4 + ["center"] * 2)


def compare_markdown(documents: list[dict[str, Any]]) -> str:
    """The comparison as Markdown: GitHub tables, aligned for reading in a terminal too."""
    names, rows = implementation_names(documents), scenario_rows(documents)
    scores = capability_scores(rows, len(names))
    capability_table = markdown_table(
        ["capability", *names],
        [[capability, *(score_text(s) for s in row)] for capability, row in scores.items()],
        ["left"] + ["center"] * len(names),
    )
    scenario_table = markdown_table(
        ["scenario", "level", "title", *names],
        [[row.id, row.level.upper(), row.title, *(markdown_outcome(o) for o in row.outcomes)] for row in rows],
        ["left"] * 3 + ["center"] * len(names),
    )
    differing, comparable = sum(row.differs for row in rows), sum(row.comparable for row in rows)
    return (
        f"## guestpass comparison\n\n{implementations_markdown(names, documents)}\n\n"
        f"### Capabilities (passed/applicable)\n\n{capability_table}\n\n"
        f"### Scenarios ({differing} of {comparable} compared differ, {len(rows)} in all)\n\n"
        f"{DIFFERENCES_RULE}\n\n{scenario_table}\n"
    )
