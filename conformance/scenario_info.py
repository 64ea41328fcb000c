"""What each scenario declares through its tags: ID, level, capability, and its requirement sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from guestpass.conformance.capabilities import CAPABILITIES, LEVELS

ID_TAG = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]{3}$")


class ScenarioTagError(ValueError):
    pass


@dataclass(frozen=True)
class ScenarioInfo:
    id: str
    level: str
    capability: str
    title: str
    requirement: str
    feature_file: str

    @classmethod
    def from_tags(cls, tags: set[str], *, title: str, description: str, feature_file: str) -> ScenarioInfo:
        ids = sorted(tag for tag in tags if ID_TAG.match(tag))
        levels = sorted(tag for tag in tags if tag in LEVELS)
        capabilities = sorted(tag for tag in tags if tag in CAPABILITIES)
        where = f"{feature_file}: {title!r}"
        if len(ids) != 1:
            raise ScenarioTagError(f"{where} needs exactly one ID tag like @CORE-001, has {ids or 'none'}")
        if len(levels) != 1:
            raise ScenarioTagError(f"{where} needs exactly one of @must / @should, has {levels or 'none'}")
        if len(capabilities) != 1:
            raise ScenarioTagError(f"{where} needs exactly one capability tag, has {capabilities or 'none'}")
        requirement = " ".join(description.split())
        if not requirement:
            raise ScenarioTagError(f"{where} has no requirement sentence (the scenario's description)")
        return cls(ids[0], levels[0], capabilities[0], title, requirement, feature_file)
