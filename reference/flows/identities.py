"""Identities of the caller: GET /user/identities/authorize links a provider's identity in the browser
that asked for the link (an anonymous user who links one becomes permanent with the same id),
DELETE /user/identities/{id} unlinks one, but never the last."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from guestpass.reference import oauth, security_notices
from guestpass.reference.auth import authenticate
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows.external import open_provider_flow
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.storage.schema import identities


def require_manual_linking(request: Request) -> None:
    """GoTrue's switch (SECURITY_MANUAL_LINKING_ENABLED), checked once the caller is known."""
    if not runtime(request).config.manual_linking_enabled:
        raise ApiError(ErrorCode.manual_linking_disabled)


async def link_identity(request: Request) -> Response:
    """The link's cookie goes to the caller: only its browser can complete the link at the callback."""
    rt = runtime(request)
    async with rt.db.transaction() as conn:
        caller = await authenticate(request, conn)
    require_manual_linking(request)
    url, flow = await open_provider_flow(request, caller.user["id"])
    response: Response
    if request.query_params.get("skip_http_redirect") == "true":
        response = JSONResponse({"url": url})
    else:
        response = RedirectResponse(url, status_code=302)
    oauth.set_link_cookie(response, rt.config, flow)
    return response


def identity_id_of(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["identity_id"])
    except ValueError:
        raise ApiError(ErrorCode.identity_not_found) from None


async def unlink_identity(request: Request) -> Response:
    async with runtime(request).db.transaction() as conn:
        caller = await authenticate(request, conn)
        require_manual_linking(request)
        identity_id = identity_id_of(request)
        statement = select(identities.c.id, identities.c.provider).where(identities.c.user_id == caller.user["id"])
        owned = {row.id: row.provider for row in await conn.execute(statement)}
        if identity_id not in owned:
            raise ApiError(ErrorCode.identity_not_found)
        if len(owned) <= 1:
            raise ApiError(ErrorCode.single_identity_not_deletable)
        await conn.execute(delete(identities).where(identities.c.id == identity_id))
        await security_notices.identity_unlinked(conn, runtime(request), caller.user, owned[identity_id])
    return JSONResponse({})


routes = [
    Route("/user/identities/authorize", link_identity, methods=["GET"]),
    Route("/user/identities/{identity_id}", unlink_identity, methods=["DELETE"]),
]
