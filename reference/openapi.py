"""The OpenAPI 3.1 document of the auth API, shipped beside this module as openapi.json."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

DOCUMENT = "openapi.json"


@cache
def openapi_text() -> str:
    return files("guestpass.reference").joinpath(DOCUMENT).read_text()


def openapi_document() -> dict[str, Any]:
    """A fresh copy, safe to change."""
    return json.loads(openapi_text())
