"""The specification: one Gherkin feature file per capability, shipped as package data."""

from pathlib import Path

FEATURES_DIR = Path(__file__).parent


def feature_files() -> list[Path]:
    return sorted(FEATURES_DIR.glob("*.feature"))
