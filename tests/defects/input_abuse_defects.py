"""Defects of hostile input: a rate-limit key the client chooses through a forwarding header nobody
trusted, and request bodies or user metadata without a size bound (PROTOCOL §2; GoTrue api.go
limitRequestBody, middleware.go performRateLimitingWithHeader)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import pytest
from catalogue import AppWrapper, defect, is_request
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from guestpass.reference import app, body, ratelimit

# --- the rate-limit key ------------------------------------------------------------------------------

UNTRUSTED_SOURCES = {
    "X-Forwarded-For": "a get_client_ip helper that believes X-Forwarded-For from any client",
    "X-Real-IP": "nginx's X-Real-IP believed without an nginx in front",
    "Forwarded": "RFC 7239 Forwarded believed from any client",
    "CF-Connecting-IP": "Cloudflare's CF-Connecting-IP believed off Cloudflare",
    "True-Client-IP": "Akamai's True-Client-IP believed from any client",
}


def rate_limit_key_from(header: str) -> Callable[[pytest.MonkeyPatch], None]:
    """The defect: the anonymous sign-in limit keyed by `header` when present, though no operator named it."""

    def apply(mp: pytest.MonkeyPatch) -> None:
        original = ratelimit.client_key

        def client_key(request: Request, trusted: str) -> str:
            return request.headers.get(header, "").split(",")[0].strip() or original(request, trusted)

        mp.setattr(ratelimit, "client_key", client_key)

    apply.__name__ = "rate_limit_key_from_" + header.lower().replace("-", "_")
    return apply


for _header, _source in UNTRUSTED_SOURCES.items():
    defect("rate-limits", source=f"{_source}: each request resets its own limit")(rate_limit_key_from(_header))


# --- request bodies ----------------------------------------------------------------------------------


@defect("core", source="an anonymous sign-in took 20 MiB of data and a 60 MB body: no body bound at all")
def body_size_unbounded(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(app, "BodyLimit", lambda inner, limit: inner)


@defect("core", source="a body bound read from Content-Length alone: a chunked body has none and passes")
def body_limit_trusts_content_length(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(app.BodyLimit, "counting", lambda self, receive: receive)


# --- user metadata -----------------------------------------------------------------------------------

_updating_user: contextvars.ContextVar[bool] = contextvars.ContextVar("updating_user", default=False)


@defect("core", source="user metadata without a bound: every token repeats megabytes of it")
def metadata_unbounded(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(body, "check_metadata_size", lambda value, limit: None)


@defect("core", source="user metadata bounded when a user is created, not when PUT /user updates it")
def metadata_bounded_on_create_only(mp: pytest.MonkeyPatch) -> AppWrapper:
    check = body.check_metadata_size

    def check_metadata_size(value: dict[str, Any], limit: int) -> None:
        if not _updating_user.get():
            check(value, limit)

    mp.setattr(body, "check_metadata_size", check_metadata_size)

    def wrap(inner: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            token = _updating_user.set(scope["type"] == "http" and is_request(scope, "PUT", "/user"))
            try:
                await inner(scope, receive, send)
            finally:
                _updating_user.reset(token)

        return wrapped

    return wrap
