"""The answers' JSON: orjson's bytes where it can, Starlette's own encoding for what orjson refuses."""

from __future__ import annotations

from starlette import responses

from guestpass.reference.errors import ErrorCode
from guestpass.reference.responses import JSONResponse


def test_the_bytes_are_starlettes_and_what_orjson_refuses_still_encodes() -> None:
    for content in (
        {"user": {"id": "x", "user_metadata": {"é": [1, 2.5, None, True]}}},
        {"n": 28897465529904622295056384},  # past 64 bits: orjson refuses it, json does not
        {ErrorCode.bad_jwt: 1},
    ):
        assert JSONResponse(content).body == responses.JSONResponse(content).body
