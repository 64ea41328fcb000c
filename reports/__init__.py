"""Results for people and machines: the JSON Schema of the results file, the HTML report, the
side-by-side comparison and the readable specification."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

RESULTS_SCHEMA_PATH = Path(__file__).parent / "results.schema.json"


@cache
def results_schema() -> dict[str, Any]:
    return json.loads(RESULTS_SCHEMA_PATH.read_text())
