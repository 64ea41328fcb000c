"""Reading request bodies: JSON objects with typed fields, or 400 bad_json / validation_failed."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from starlette.requests import Request

from guestpass.reference.errors import ApiError, ErrorCode

T = TypeVar("T")

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(ErrorCode.bad_json, "Could not parse request body as JSON") from None
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.bad_json, "Request body must be a JSON object")
    return body


def field(body: dict[str, Any], name: str, kind: type[T]) -> T | None:
    """The value of `name` if present and not null; 400 bad_json if it has the wrong JSON type."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ApiError(ErrorCode.bad_json, f"Could not parse request body as JSON: {name} has the wrong type")
    return value


def normalized_email(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL_PATTERN.match(email) or len(email) > 255:
        raise ApiError(ErrorCode.validation_failed, "Unable to validate email address: invalid format")
    return email


def required_email(body: dict[str, Any], purpose: str) -> str:
    raw = field(body, "email", str)
    if not raw:
        raise ApiError(ErrorCode.validation_failed, f"{purpose} requires an email")
    return normalized_email(raw)
