"""create_app(config): the Starlette application, auth mounted at /auth/v1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guestpass.reference import data
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode, error_response
from guestpass.reference.flows import (
    admin,
    cli,
    external,
    identities,
    logout,
    mfa,
    openapi,
    otp,
    passkey_page,
    passkeys,
    recover,
    settings,
    signup,
    token,
    user,
    user_sessions,
    verify,
)
from guestpass.reference.runtime import Runtime

AUTH_PREFIX = "/auth/v1"
DATA_PREFIX = "/data/v1"
DRAIN_BYTES = 64 << 20  # of an oversized body, read and dropped so that a client still sending reads the answer
log = logging.getLogger("guestpass.reference")

AUTH_FLOWS = (
    settings,
    signup,
    token,
    verify,
    recover,
    otp,
    identities,
    user,
    user_sessions,
    logout,
    mfa,
    passkeys,
    passkey_page,
    cli,
    admin,
    external,
    openapi,
)


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(request, error)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = ErrorCode.method_not_allowed if error.status_code == 405 else ErrorCode.not_found
    return error_response(request, ApiError(code))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected failure on %s %s", request.method, request.url.path)
    return error_response(request, ApiError(ErrorCode.unexpected_failure))


def declared_length(scope: Scope) -> int:
    raw = dict(scope["headers"]).get(b"content-length", b"0")
    return int(raw) if raw.isdigit() else 0


def expects_continue(scope: Scope) -> bool:
    return dict(scope["headers"]).get(b"expect", b"").lower() == b"100-continue"


async def drain(receive: Receive, budget: int) -> None:
    """Reads and drops the rest of the request body, up to `budget` bytes."""
    while budget > 0:
        message = await receive()
        budget -= len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class BodyLimit:
    """413 request_entity_too_large for a request body over `limit` bytes, as GoTrue answers over 1 MiB,
    before any handler reads it: at once when Content-Length announces it, else as soon as a chunked
    body passes it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif declared_length(scope) > self.limit:
            await self.refuse(scope, receive, send)
        else:
            await self.app(scope, self.counting(receive), send)

    def too_large(self) -> ApiError:
        return ApiError(ErrorCode.request_entity_too_large, f"Request body too large (max {self.limit} bytes)")

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not expects_continue(scope):  # a client waiting for 100 Continue has sent no body
            await drain(receive, DRAIN_BYTES)
        await error_response(Request(scope), self.too_large())(scope, receive, send)

    def counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                if message.get("more_body", False):
                    await drain(receive, DRAIN_BYTES)
                raise self.too_large()
            return message

        return counted


def create_app(config: Config) -> Starlette:
    runtime = Runtime.build(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await runtime.db.dispose()

    routes = [route for flow in AUTH_FLOWS for route in flow.routes]
    app = Starlette(
        routes=[Mount(AUTH_PREFIX, routes=routes), Mount(DATA_PREFIX, routes=data.routes)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
        middleware=[Middleware(BodyLimit, limit=config.max_body_bytes)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
