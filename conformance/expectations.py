"""The expected-failures file: scenarios a target is known to fail, each with its reason.

    # expected-failures.toml
    [CORE-020]
    reason = "logout answers 200 until the 2.0 release"
    url = "https://tracker.example.com/auth/412"   # optional
    intermittent = true   # optional: a race the target loses only sometimes

A listed scenario that fails is reported as an expected failure; one that passes, or an entry that
names no scenario of the suite, fails the run, so the file cannot rot. An `intermittent` entry names a
race the server loses most of the time but not always: passing it then is not unexpected."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from guestpass.conformance.scenario_info import ID_TAG


class ExpectationsError(ValueError):
    """The file cannot be used; `guestpass check` exits 2."""


@dataclass(frozen=True)
class Expectation:
    reason: str
    url: str | None = None
    intermittent: bool = False

    def as_dict(self) -> dict[str, str | bool]:
        return {
            "reason": self.reason,
            **({"url": self.url} if self.url else {}),
            **({"intermittent": True} if self.intermittent else {}),
        }


def load_expectations(path: Path) -> dict[str, Expectation]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ExpectationsError(f"cannot read expected-failures file {path}: {error}") from None
    return {scenario_id: _entry(path, scenario_id, entry) for scenario_id, entry in data.items()}


def _entry(path: Path, scenario_id: str, entry: object) -> Expectation:
    where = f"{path}: [{scenario_id}]"
    if not ID_TAG.match(scenario_id):
        raise ExpectationsError(f"{where} is not a scenario ID like CORE-020")
    if not isinstance(entry, dict) or not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
        raise ExpectationsError(f"{where} needs a reason")
    unknown = set(entry) - {"reason", "url", "intermittent"}
    if unknown:
        raise ExpectationsError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    url = entry.get("url")
    if url is not None and not isinstance(url, str):
        raise ExpectationsError(f"{where}: url must be a string")
    intermittent = entry.get("intermittent", False)
    if not isinstance(intermittent, bool):
        raise ExpectationsError(f"{where}: intermittent must be true or false")
    return Expectation(entry["reason"].strip(), url, intermittent)
