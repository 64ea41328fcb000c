"""Every scenario carries exactly one stable ID, one level, one known capability and a requirement."""

from __future__ import annotations

from collections import Counter

import pytest
from pytest_bdd.parser import FeatureParser

from guestpass.conformance.scenario_info import ScenarioInfo, ScenarioTagError
from guestpass.scenarios import FEATURES_DIR, feature_files


def all_scenarios() -> list[ScenarioInfo]:
    infos = []
    for path in feature_files():
        feature = FeatureParser(str(FEATURES_DIR), path.name).parse()
        for template in feature.scenarios.values():
            infos.append(
                ScenarioInfo.from_tags(
                    set(template.tags) | set(feature.tags),
                    title=template.name,
                    description=template.description,
                    feature_file=path.name,
                )
            )
    return infos


def test_every_scenario_is_tagged_and_ids_are_unique() -> None:
    infos = all_scenarios()
    duplicates = [scenario_id for scenario_id, n in Counter(info.id for info in infos).items() if n > 1]
    assert not duplicates, f"duplicate scenario IDs: {duplicates}"
    assert len(infos) >= 40


def test_one_capability_per_feature_file() -> None:
    by_file: dict[str, set[str]] = {}
    for info in all_scenarios():
        by_file.setdefault(info.feature_file, set()).add(info.capability)
    assert all(len(capabilities) == 1 for capabilities in by_file.values()), by_file


def test_requirement_sentences_use_their_level_keyword() -> None:
    for info in all_scenarios():
        assert info.level.upper() in info.requirement, f"{info.id}: the requirement does not say {info.level.upper()}"


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({"core", "must"}, "ID tag"),
        ({"CORE-001", "CORE-002", "core", "must"}, "ID tag"),
        ({"CORE-001", "core"}, "@must / @should"),
        ({"CORE-001", "must"}, "capability"),
        ({"CORE-001", "must", "telepathy"}, "capability"),
    ],
)
def test_the_lint_rejects_bad_tags(tags: set[str], problem: str) -> None:
    with pytest.raises(ScenarioTagError, match=problem):
        ScenarioInfo.from_tags(tags, title="t", description="It MUST.", feature_file="x.feature")


def test_the_lint_rejects_a_missing_requirement() -> None:
    with pytest.raises(ScenarioTagError, match="requirement"):
        ScenarioInfo.from_tags({"CORE-001", "must", "core"}, title="t", description=" ", feature_file="x.feature")
