"""Step phrases: `{name}` stands for text without quotes, `{n:d}` for a whole number."""

from __future__ import annotations

import re
from typing import Any

from pytest_bdd import parsers

_PLACEHOLDER = re.compile(r"\{(\w+)(:d)?\}")


def phrase(text: str) -> Any:
    def group(match: re.Match[str]) -> str:
        name, number = match.groups()
        return f"(?P<{name}>\\d+)" if number else f'(?P<{name}>[^"]+)'

    escaped = re.escape(text).replace(r"\{", "{").replace(r"\}", "}").replace(r"\:", ":")
    return parsers.re(_PLACEHOLDER.sub(group, escaped))
