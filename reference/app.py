"""create_app(config): the Starlette application, auth mounted at /auth/v1."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Mount

from guestpass.reference import data
from guestpass.reference.body_limit import BodyLimit
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode, error_response
from guestpass.reference.flows import (
    admin,
    admin_users,
    cli,
    external,
    identities,
    invite,
    logout,
    mfa,
    openapi,
    otp,
    passkey_page,
    passkeys,
    reauthenticate,
    recover,
    resend,
    settings,
    signup,
    token,
    user,
    user_sessions,
    verify,
)
from guestpass.reference.no_store import NoStore
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import Runtime

AUTH_PREFIX = "/auth/v1"
DATA_PREFIX = "/data/v1"
log = logging.getLogger("guestpass.reference")

AUTH_FLOWS = (
    settings,
    signup,
    token,
    verify,
    recover,
    resend,
    reauthenticate,
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
    admin_users,
    invite,
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


def settle_heap() -> None:
    """What start-up made (modules, the schema, compiled statements, the apps) lives as long as the process:
    out of the collector's sight, full collections no longer walk it on every request that triggers one (they
    set the p99 latency under load). What start-up left unreachable is collected first."""
    gc.collect()
    gc.freeze()


def create_app(config: Config) -> Starlette:
    runtime = Runtime.build(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.courier.start()
        settle_heap()
        yield
        await runtime.courier.stop()
        await runtime.db.dispose()

    routes = [route for flow in AUTH_FLOWS for route in flow.routes]
    app = Starlette(
        routes=[Mount(AUTH_PREFIX, routes=routes), Mount(DATA_PREFIX, routes=data.routes)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
        middleware=[Middleware(BodyLimit, limit=config.max_body_bytes), Middleware(NoStore)],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
