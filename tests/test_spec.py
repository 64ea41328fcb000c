"""The specification rendered from the feature files, in Markdown and in one self-contained HTML page."""

from __future__ import annotations

import re
import time
from functools import cache
from html import unescape
from pathlib import Path

import pytest
from test_scenario_lint import all_scenarios

from guestpass.conformance.capabilities import CAPABILITIES
from guestpass.reference.errors import ERRORS, ErrorCode
from guestpass.reports.spec import CapabilitySpec, error_index, load_spec, spec_html, spec_markdown

EXTERNAL = re.compile(r"""(?:src|href|srcset|action)\s*=\s*["']?\s*(?:https?:)?//([^"'\s>]*)""", re.IGNORECASE)
RFC_LINK = re.compile(r"www\.rfc-editor\.org/rfc/rfc\d+")


@cache
def spec() -> list[CapabilitySpec]:
    return load_spec()


@cache
def html() -> str:
    return spec_html()


@cache
def markdown() -> str:
    return spec_markdown()


def visible_text(page: str) -> str:
    """The page's text with its tags gone, entities decoded and whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", page)).split())


def test_every_scenario_is_loaded_with_its_capability_in_capability_order() -> None:
    infos = {info.id: info for info in all_scenarios()}
    loaded = {scenario.id: (capability.name, scenario) for capability in spec() for scenario in capability.scenarios}
    assert loaded.keys() == infos.keys()
    for scenario_id, (capability, scenario) in loaded.items():
        info = infos[scenario_id]
        assert (capability, scenario.level, scenario.title, scenario.requirement) == (
            info.capability,
            info.level,
            info.title,
            info.requirement,
        )
        assert scenario.steps and scenario.steps[0].split()[0] in {"Given", "When"}
    names = [capability.name for capability in spec()]
    assert names == [name for name in CAPABILITIES if name in names]
    assert {info.capability for info in infos.values()} == set(names)
    assert all(capability.meaning == CAPABILITIES[capability.name] for capability in spec())


def test_docstrings_are_kept_in_the_steps() -> None:
    core_008 = next(s for c in spec() for s in c.scenarios if s.id == "CORE-008")
    assert core_008.steps == [
        'When a client sends "POST /signup" with JSON',
        '  """',
        '  {"email": "not-an-email", "password": "a-long-enough-password"}',
        '  """',
        'Then the request is refused with 400 "validation_failed"',
    ]


def test_every_scenario_id_appears_in_both_renderings() -> None:
    for info in all_scenarios():
        assert f'id="{info.id}"' in html(), info.id
        assert f'href="#{info.id}"' in html(), info.id
        assert f'<a id="{info.id}"></a>' in markdown(), info.id
        assert f"### {info.id} · {info.level.upper()} · {info.title}" in markdown(), info.id


def test_every_requirement_sentence_appears_in_both_renderings() -> None:
    text = visible_text(html())
    for info in all_scenarios():
        assert info.requirement.replace("`", "") in text, info.id  # code spans lose their backticks
        assert f"> {info.requirement}\n" in markdown(), info.id


def test_every_capability_is_in_the_table_of_contents() -> None:
    nav = html().split("<nav", 1)[1].split("</nav>", 1)[0]
    contents = markdown().split("## Contents", 1)[1].split("\n\n", 2)[1]
    for capability in spec():
        assert f'href="#capability-{capability.name}"' in nav
        assert f'id="capability-{capability.name}"' in html()
        assert f"(#capability-{capability.name})" in contents
    assert nav.index("#capability-core") < nav.index("#capability-anonymous")


def test_the_html_page_loads_nothing_from_elsewhere() -> None:
    page = html()
    outside = [target for target in EXTERNAL.findall(page) if not RFC_LINK.match(target)]
    assert not outside, outside
    assert "<link" not in page and "<script" not in page and "@import" not in page and "url(" not in page
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page


def test_level_badges() -> None:
    musts = sum(1 for c in spec() for s in c.scenarios if s.level == "must")
    shoulds = sum(1 for c in spec() for s in c.scenarios if s.level == "should")
    assert html().count('<span class="badge must">MUST</span>') == musts
    assert html().count('<span class="badge should">SHOULD</span>') == shoulds
    assert shoulds > 0


def test_the_error_index_names_session_not_found_with_the_scenarios_that_use_it() -> None:
    entry = next(entry for entry in error_index(spec()) if entry.code == "session_not_found")
    assert {"CORE-041", "CORE-023", "MERGE-002", "SESS-003"} <= set(entry.scenario_ids)
    assert (entry.status, entry.message) == ERRORS[ErrorCode.session_not_found]
    assert 404 in entry.other_statuses  # SESS-003 expects it for another user's session

    row = html().split('<tr id="error-session_not_found">', 1)[1].split("</tr>", 1)[0]
    assert '<a href="#CORE-041">CORE-041</a>' in row and '<a href="#SESS-003">SESS-003</a>' in row
    assert "403" in row and "Session from session_id claim in JWT does not exist" in row
    line = next(line for line in markdown().splitlines() if "`session_not_found` |" in line)
    assert "[CORE-041](#CORE-041)" in line and "403" in line


@pytest.mark.parametrize(
    ("code", "scenario_id"),
    [
        ("otp_expired", "REC-006"),  # the error code "otp_expired" in a redirect fragment
        ("invalid_credentials", "CORE-012"),  # the legacy format's "error_code" field
        ("refresh_token_already_used", "MFA-004"),  # the second of `refused with 400 "a" or "b"`
        ("no_authorization", "ANON-011"),  # refused with a status other than the table's
    ],
)
def test_the_error_index_finds_codes_however_the_steps_name_them(code: str, scenario_id: str) -> None:
    entry = next(entry for entry in error_index(spec()) if entry.code == code)
    assert scenario_id in entry.scenario_ids


def test_every_error_code_the_scenarios_name_is_indexed() -> None:
    indexed = {entry.code for entry in error_index(spec())}
    for capability in spec():
        for scenario in capability.scenarios:
            named = set(re.findall(r'refused with \d{3} "(\w+)"', "\n".join(scenario.steps)))
            named |= {code for code in re.findall(r"`(\w+)`", scenario.requirement) if code in set(ErrorCode)}
            assert named <= set(scenario.error_codes), scenario.id
            assert named <= indexed
    for entry in error_index(spec()):
        assert f'id="error-{entry.code}"' in html()
        assert f"`{entry.code}`" in markdown()


def test_a_second_feature_file_of_a_capability_joins_it(tmp_path: Path) -> None:
    scenario = (
        "@{tag}\nFeature: {title}\n  {title} described.\n\n  @{id} @should\n  Scenario: {title} scenario\n"
        '    It SHOULD refuse with `bad_json`.\n\n    When a client requests "GET /settings"\n'
        '    Then the request is refused with 400 "bad_json"\n'
    )
    (tmp_path / "a.feature").write_text(scenario.format(tag="core", title="First", id="CORE-900"))
    (tmp_path / "b.feature").write_text(scenario.format(tag="core", title="Second", id="CORE-901"))
    (tmp_path / "c.feature").write_text(scenario.format(tag="anonymous", title="Third", id="ANON-900"))
    loaded = load_spec(tmp_path)
    assert [capability.name for capability in loaded] == ["core", "anonymous"]
    assert loaded[0].title == "First; Second"
    assert loaded[0].description == "First described.\n\nSecond described."
    assert [s.id for s in loaded[0].scenarios] == ["CORE-900", "CORE-901"]
    assert error_index(loaded)[0].scenario_ids == ["CORE-900", "CORE-901", "ANON-900"]


def test_rendering_is_fast() -> None:
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        spec_html()
        spec_markdown()
        timings.append(time.perf_counter() - start)
    assert min(timings) < 1.0
