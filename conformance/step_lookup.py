"""The suite's step definitions, listed once. For every step of every scenario, pytest-bdd goes through
every fixture of the session to find the step definitions among them and then the ones that match:
a millisecond or two each, seconds over the suite. The suite's scenarios all live in one module and
see the same step definitions, so for that module they are listed once, and the matching ones of each
step text are picked from that list once, in pytest-bdd's order and by its rules. Other modules (a
project's own pytest-bdd tests) keep pytest-bdd's own lookup, and so does any pytest-bdd without the
functions this relies on."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SUITE_MODULE = Path(__file__).parent / "test_scenarios.py"
NEEDED = ("find_fixturedefs_for_step", "get_fixture_names", "getfixturedefs", "step_function_context_registry")


def install() -> None:
    scenario = importlib.import_module("pytest_bdd.scenario")
    if not all(hasattr(scenario, name) for name in NEEDED):
        return
    if getattr(scenario.find_fixturedefs_for_step, "guestpass_listed", False):
        return
    scenario.find_fixturedefs_for_step = listed_once(scenario)


def listed_once(scenario: Any) -> Callable[..., Iterator[Any]]:
    original = scenario.find_fixturedefs_for_step
    definitions: list[tuple[Any, Any]] = []  # (fixture definition, step function context), in lookup order
    matching: dict[tuple[str, str], list[Any]] = {}  # (step type, step text) -> its fixture definitions

    def find_fixturedefs_for_step(step: Any, fixturemanager: Any, node: Any) -> Iterator[Any]:
        if getattr(node, "path", None) != SUITE_MODULE:
            yield from original(step=step, fixturemanager=fixturemanager, node=node)
            return
        if not definitions:
            definitions.extend(step_definitions(scenario, fixturemanager, node))
        key = (step.type, step.name)
        if key not in matching:
            matching[key] = [
                fixturedef
                for fixturedef, context in definitions
                if context.type in (None, step.type) and context.parser.is_matching(step.name)
            ]
        yield from matching[key]

    find_fixturedefs_for_step.guestpass_listed = True  # type: ignore[attr-defined]
    return find_fixturedefs_for_step


def step_definitions(scenario: Any, fixturemanager: Any, node: Any) -> Iterator[tuple[Any, Any]]:
    for fixturename in scenario.get_fixture_names(fixturemanager=fixturemanager):
        for fixturedef in scenario.getfixturedefs(fixturemanager, fixturename, node) or []:
            context = scenario.step_function_context_registry.get(fixturedef.func)
            if context is not None:
                yield fixturedef, context
