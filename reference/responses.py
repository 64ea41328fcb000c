"""Compact JSON, encoded by orjson (UTF-8, as Starlette's own): the response of every handler, and the
claims of access tokens."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette import responses


def compact_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)  # some keys are StrEnum members
    except orjson.JSONEncodeError:  # what orjson does not take, such as integers past 64 bits in metadata
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class JSONResponse(responses.JSONResponse):
    def render(self, content: Any) -> bytes:
        return compact_json(content)
