"""Reading request bodies: JSON objects with typed fields, or 400 bad_json / validation_failed. The body's
size is bounded before it is read (body_limit.BodyLimit); metadata objects are bounded here."""

from __future__ import annotations

import json
import math
import re
from typing import Any, TypeVar

from starlette.requests import Request

from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.runtime import runtime
from guestpass.reference.users import mailbox

T = TypeVar("T")

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates: no database column takes them
METADATA_FIELDS = ("data", "user_metadata", "app_metadata")  # every body field a flow stores as user metadata


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):  # 1e400 overflows to infinity, which no JSON column takes
        raise ValueError(f"{number} is out of range")
    return value


def storable(value: Any) -> bool:
    """Every string of the document, keys included, is text a database can store."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and UNSTORABLE_TEXT.search(item):
            return False
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(ErrorCode.bad_json, "Could not parse request body as JSON") from None
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.bad_json, "Request body must be a JSON object")
    if not storable(body):
        raise ApiError(ErrorCode.validation_failed, "Text may not contain NUL characters or unpaired surrogates")
    check_metadata_size(body, runtime(request).config.max_metadata_bytes)
    return body


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_metadata_size(body: dict[str, Any], limit: int) -> None:
    """400 validation_failed for a metadata object over `limit` bytes of JSON: it is stored, and every
    access token and session answer carries it, so it is refused before anything is written."""
    for name in METADATA_FIELDS:
        value = body.get(name)
        if isinstance(value, dict) and json_size(value) > limit:
            raise ApiError(ErrorCode.validation_failed, f"{name} may not be larger than {limit} bytes of JSON")


def field(body: dict[str, Any], name: str, kind: type[T]) -> T | None:
    """The value of `name` if present and not null; 400 bad_json if it has the wrong JSON type."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ApiError(ErrorCode.bad_json, f"Could not parse request body as JSON: {name} has the wrong type")
    return value


def check_fields(body: dict[str, Any], **kinds: type) -> None:
    """400 bad_json if one of these fields has the wrong JSON type, even where the request leaves it unread."""
    for name, kind in kinds.items():
        field(body, name, kind)


def normalized_email(value: str) -> str:
    """The address in its one spelling (users.mailbox), 400 validation_failed when it is not one."""
    email = value.strip()
    if not EMAIL_PATTERN.match(email) or len(email) > 255:
        raise ApiError(ErrorCode.validation_failed, "Unable to validate email address: invalid format")
    return mailbox(email)


def required_email(body: dict[str, Any], purpose: str) -> str:
    raw = field(body, "email", str)
    if not raw:
        raise ApiError(ErrorCode.validation_failed, f"{purpose} requires an email")
    return normalized_email(raw)
