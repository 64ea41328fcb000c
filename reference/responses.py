"""The JSON response of every handler, encoded by orjson (compact, UTF-8, as Starlette's own)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette import responses


class JSONResponse(responses.JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)  # some keys are StrEnum members
        except orjson.JSONEncodeError:  # what orjson does not take, such as integers past 64 bits in metadata
            return super().render(content)
