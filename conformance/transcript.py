"""Every HTTP exchange of a scenario, kept for the failure report with secrets redacted."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: this module loads with the pytest plugin, before httpx's plugins
    import httpx

REDACTED = "[redacted]"
SECRET_HEADERS = {"authorization", "apikey", "cookie", "set-cookie"}
SECRET_FIELDS = {
    "access_token",
    "refresh_token",
    "password",
    "token",
    "token_hash",
    "anonymous_refresh_token",
    "anon_refresh_token",
    "code_verifier",
    "secret",
    "provider_token",
}
BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if k in SECRET_FIELDS and isinstance(v, str) and v else redact_json(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def _redact_body(raw: bytes) -> str:
    if not raw:
        return ""
    try:
        return json.dumps(redact_json(json.loads(raw)), indent=2, sort_keys=False)
    except ValueError:
        return raw.decode(errors="replace")


def _redact_headers(headers: httpx.Headers) -> list[str]:
    return [f"{name}: {REDACTED if name.lower() in SECRET_HEADERS else value}" for name, value in headers.multi_items()]


@dataclass(frozen=True)
class Exchange:
    request: httpx.Request
    response: httpx.Response
    elapsed_ms: float

    def render(self) -> str:
        request, response = self.request, self.response
        lines = [f"> {request.method} {request.url}", *("> " + h for h in _redact_headers(request.headers))]
        body = _redact_body(request.content)
        if body:
            lines += [">", *("> " + line for line in body.splitlines())]
        lines += [
            f"< {response.status_code} {response.reason_phrase}  ({self.elapsed_ms:.0f} ms)",
            *("< " + h for h in _redact_headers(response.headers)),
        ]
        body = _redact_body(response.content)
        if body:
            lines += ["<", *("< " + line for line in body.splitlines())]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": {
                "method": self.request.method,
                "url": str(self.request.url),
                "headers": _redact_headers(self.request.headers),
                "body": _redact_body(self.request.content),
            },
            "response": {
                "status": self.response.status_code,
                "headers": _redact_headers(self.response.headers),
                "body": _redact_body(self.response.content),
            },
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


@dataclass
class Transcript:
    exchanges: list[Exchange] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def render(self) -> str:
        with self._lock:
            parts = [f"--- exchange {i} ---\n{x.render()}" for i, x in enumerate(self.exchanges, 1)]
        return "\n\n".join(parts) or "(no HTTP exchange)"
