"""The specification: one Gherkin feature file per capability, shipped as package data."""

import re
from functools import cache
from pathlib import Path

FEATURES_DIR = Path(__file__).parent
ID_TAG_IN_TEXT = re.compile(r"@([A-Z][A-Z0-9]*-[0-9]{3})\b")


def feature_files() -> list[Path]:
    return sorted(FEATURES_DIR.glob("*.feature"))


@cache
def scenario_ids() -> frozenset[str]:
    """Every scenario ID the feature files tag."""
    return frozenset(found for feature in feature_files() for found in ID_TAG_IN_TEXT.findall(feature.read_text()))
