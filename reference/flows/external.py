"""GET /authorize and GET /callback: sign-in through an OpenID Connect provider.

/authorize opens a flow (state, nonce and PKCE towards the provider) and redirects to the provider.
The callback takes the flow's state once (a link's only in the browser that started it), exchanges the
code, verifies the ID token and resolves the user, then redirects to the site: the session in the
fragment (implicit flow), or `?code=` when the client started with a code_challenge (exchanged by
POST /token?grant_type=pkce, which also runs the merge step). Once the state is known, errors travel
in the redirect."""

from __future__ import annotations

import re
import uuid

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from guestpass.reference import oauth, security_notices
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.oidc import OidcFailure, OidcProvider
from guestpass.reference.redirects import allowed_redirect
from guestpass.reference.runtime import Runtime, runtime
from guestpass.reference.signin import signed_in
from guestpass.reference.storage.db import Connection
from guestpass.reference.users import get_user

CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43,128}")
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 3.3


def provider_of(request: Request, name: str | None) -> OidcProvider:
    provider = runtime(request).oidc.get(name or "")
    if provider is None:
        raise ApiError(ErrorCode.validation_failed, f"Unsupported provider: provider {name!r} could not be found")
    return provider


def code_challenge_of(request: Request) -> str | None:
    """The client's PKCE challenge (S256 only), or None for the implicit flow."""
    challenge = request.query_params.get("code_challenge")
    if not challenge:
        return None
    method = request.query_params.get("code_challenge_method", "").lower()
    if method != "s256" or not CODE_CHALLENGE.fullmatch(challenge):
        raise ApiError(ErrorCode.validation_failed, "code_challenge must be an S256 challenge (43 to 128 characters)")
    return challenge


def extra_scopes_of(request: Request) -> tuple[str, ...]:
    """GoTrue's `scopes`: comma-separated scopes the provider is asked for besides the usual ones."""
    scopes = tuple(scope.strip() for scope in request.query_params.get("scopes", "").split(",") if scope.strip())
    if not all(SCOPE_TOKEN.fullmatch(scope) for scope in scopes):
        raise ApiError(ErrorCode.validation_failed, "scopes must be comma-separated OAuth scope tokens")
    return scopes


async def open_provider_flow(request: Request, linking_user_id: uuid.UUID | None = None) -> tuple[str, oauth.NewFlow]:
    """Opens a flow for the request's provider and returns the provider's authorization URL with the flow (a
    provider that cannot be read is refused before anything is written)."""
    rt = runtime(request)
    name = request.query_params.get("provider")
    provider = provider_of(request, name)
    redirect_to = allowed_redirect(rt.config, request.query_params.get("redirect_to"))
    challenge = code_challenge_of(request)
    scopes = extra_scopes_of(request)
    try:
        endpoint = (await provider.discovery())["authorization_endpoint"]
    except (OidcFailure, KeyError) as failure:
        raise ApiError(ErrorCode.bad_oauth_callback, f"The provider cannot be read: {failure}", status=502) from None
    async with rt.db.transaction() as conn:
        flow = await oauth.open_flow(conn, rt.config, name, redirect_to, challenge, linking_user_id)  # type: ignore[arg-type]
    url = provider.authorization_url(
        endpoint,
        redirect_uri=oauth.callback_url(rt.config),
        state=flow.state,
        nonce=flow.nonce,
        verifier=flow.verifier,
        scopes=scopes,
    )
    return url, flow


async def authorize(request: Request) -> RedirectResponse:
    url, _ = await open_provider_flow(request)
    return RedirectResponse(url, status_code=302)


async def callback(request: Request) -> RedirectResponse:
    rt = runtime(request)
    state = request.query_params.get("state")
    if not state:
        raise ApiError(ErrorCode.bad_oauth_state, "OAuth state parameter missing")
    async with rt.db.transaction() as conn:
        flow = await oauth.take_state(conn, state)
    pkce = flow["code_challenge"] is not None
    try:
        values = await completed_flow(request, flow)
    except ApiError as error:
        async with rt.db.transaction() as conn:
            await oauth.end_flow(conn, flow)
        values = oauth.error_values(error)
    response = RedirectResponse(oauth.site_redirect(flow["redirect_to"], values, in_fragment=not pkce), status_code=302)
    if flow["linking_user_id"] is not None:
        oauth.clear_link_cookie(response, rt.config, state)
    return response


async def completed_flow(request: Request, flow: dict) -> dict[str, str]:
    """The values the site receives: an auth code (PKCE) or the session (implicit)."""
    rt = runtime(request)
    if oauth.expired(flow):
        raise ApiError(ErrorCode.flow_state_expired)
    if not oauth.started_here(request.cookies, request.query_params["state"], flow):
        raise ApiError(ErrorCode.bad_oauth_state, "This link was started in another browser")
    if request.query_params.get("error"):
        message = request.query_params.get("error_description") or request.query_params["error"]
        raise ApiError(ErrorCode.bad_oauth_callback, f"The provider answered: {message}")
    claims = await provider_claims(request, flow)
    async with rt.db.transaction() as conn:
        if flow["linking_user_id"] is not None:
            user_id = await linked_user(conn, rt, flow["provider"], flow["linking_user_id"], claims)
        else:
            user_id = await oauth.signed_in_user(conn, rt.config, flow["provider"], claims)
        if flow["code_challenge"] is not None:
            return {"code": await oauth.issue_auth_code(conn, rt.config, flow, user_id)}
        await oauth.end_flow(conn, flow)
    return oauth.session_values(await signed_in(request, {}, user_id, oauth.AMR_METHOD))


async def linked_user(conn: Connection, rt: Runtime, provider: str, user_id: uuid.UUID, claims: dict) -> uuid.UUID:
    """The linking user, told by mail when the identity is new to them (GoTrue's linkIdentityToUser)."""
    new_link = await oauth.identity_of(conn, provider, claims["sub"]) is None
    user_id = await oauth.linked_user(conn, user_id, provider, claims)
    user = await get_user(conn, user_id)
    if new_link and user is not None:
        await security_notices.identity_linked(conn, rt, user, provider)
    return user_id


async def provider_claims(request: Request, flow: dict) -> dict:
    code = request.query_params.get("code")
    if not code:
        raise ApiError(ErrorCode.bad_oauth_callback, "OAuth callback without a code")
    provider = provider_of(request, flow["provider"])
    try:
        return await provider.claims(
            code=code,
            verifier=flow["provider_verifier"],
            redirect_uri=oauth.callback_url(runtime(request).config),
            nonce=flow["nonce"],
        )
    except OidcFailure as failure:
        raise ApiError(ErrorCode.bad_oauth_callback, str(failure)) from None


routes = [
    Route("/authorize", authorize, methods=["GET"]),
    Route("/callback", callback, methods=["GET"]),
]
