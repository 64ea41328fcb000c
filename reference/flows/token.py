"""POST /token: the password, refresh_token, pkce and id_token grants (web3 is answered as disabled)."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference import captcha, oauth, sessions
from guestpass.reference.body import field, json_object
from guestpass.reference.clock import utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows.verify import count_client_attempt, refund_client_attempt
from guestpass.reference.oidc import OidcFailure, OidcProvider, s256
from guestpass.reference.ratelimit import client_key
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.signin import complete_sign_in, merge_token
from guestpass.reference.storage.hot import Rotation
from guestpass.reference.users import find_by_email

PASSWORD_BUCKET = "password"
# the provider slots GoTrue's id_token grant knows by name (internal/api/token_oidc.go getProvider): one of
# them that is not configured here is known but disabled
KNOWN_PROVIDERS = ("apple", "google", "azure", "facebook", "keycloak", "kakao", "vercel_marketplace", "snapchat")


async def password_grant(request: Request) -> JSONResponse:
    await captcha.require_captcha(request)
    rt = runtime(request)
    body = await json_object(request)
    email = (field(body, "email", str) or "").strip().lower()
    password = field(body, "password", str) or ""
    if not email or not password:
        raise ApiError(ErrorCode.validation_failed, "A login needs an email and a password")
    key = client_key(request, rt.config.rate_limit_header)
    async with rt.db.transaction() as conn:
        await count_client_attempt(conn, rt.config, PASSWORD_BUCKET, key)  # as GoTrue's token limiter
        user = await find_by_email(conn, email)
    if not await rt.passwords.verify(user["encrypted_password"] if user else None, password):
        raise ApiError(ErrorCode.invalid_credentials)
    async with rt.db.transaction() as conn:
        await refund_client_attempt(conn, rt.config, PASSWORD_BUCKET, key)
    if user["email_confirmed_at"] is None:  # type: ignore[index]
        raise ApiError(ErrorCode.email_not_confirmed)
    return await complete_sign_in(request, body, user["id"], "password")  # type: ignore[index]


async def refresh_token_grant(request: Request) -> JSONResponse:
    rt = runtime(request)
    body = await json_object(request)
    raw = field(body, "refresh_token", str)
    if not raw:
        raise ApiError(ErrorCode.refresh_token_not_found)
    successor, now = sessions.new_refresh_token(), utcnow()
    rotation = Rotation(sessions.hash_token(raw), now, sessions.refresh_token_row(successor, None, None, raw, now))
    if rotated := await rt.db.hot.rotate(rotation):
        return JSONResponse(
            sessions.session_body(rt, rotated.user, rotated.session, successor, rotated.identities, rotated.factors)
        )
    try:
        async with rt.db.transaction() as conn:
            grant = await sessions.refresh(conn, raw, rt.config.refresh_token_reuse_interval)
            return JSONResponse(await sessions.session_json(conn, rt, grant))
    except ApiError as error:
        if error.code != ErrorCode.refresh_token_already_used:
            raise
    async with rt.db.transaction() as conn:
        await sessions.revoke_session_of_token(conn, raw)
    raise ApiError(ErrorCode.refresh_token_already_used)


async def pkce_grant(request: Request) -> JSONResponse:
    """The auth code of an OAuth callback or of an opened mail link (mail_pkce), for the verifier of the
    challenge the flow began with (one try: a wrong verifier uses the code up). The session goes through
    the merge step."""
    rt = runtime(request)
    body = await json_object(request)
    auth_code, verifier = field(body, "auth_code", str), field(body, "code_verifier", str)
    if not auth_code or not verifier:
        raise ApiError(ErrorCode.validation_failed, "A pkce grant needs a non-empty auth_code and code_verifier")
    merge_token(body)
    async with rt.db.transaction() as conn:
        flow = await oauth.take_auth_code(conn, auth_code)
    if oauth.expired(flow):
        raise ApiError(ErrorCode.flow_state_expired)
    if not hmac.compare_digest(s256(verifier), flow["code_challenge"]):
        raise ApiError(ErrorCode.bad_code_verifier)
    return await complete_sign_in(request, body, flow["user_id"], flow["authentication_method"] or oauth.AMR_METHOD)


def id_token_provider(request: Request, name: str | None) -> OidcProvider:
    provider = runtime(request).oidc.get(name or "")
    if provider is not None:
        return provider
    if name in KNOWN_PROVIDERS:
        raise ApiError(ErrorCode.provider_disabled, f"Provider {name!r} is not enabled")
    raise ApiError(ErrorCode.validation_failed, f"Custom OIDC provider {name!r} not allowed")


def expected_nonce(raw: str | None) -> str:
    """The nonce claim the ID token must carry: the SHA-256 (hex) of the client's raw nonce, as GoTrue; none
    when the client sends none, and then the token may carry none either."""
    return hashlib.sha256(raw.encode()).hexdigest() if raw else ""


async def id_token_grant(request: Request) -> JSONResponse:
    """Native sign-in (signInWithIdToken): an ID token the client got from a configured provider itself,
    verified by that provider's keys, issuer, audience (our client id), expiry and nonce. The user is
    resolved as at the OAuth callback, and the session goes through the merge step."""
    rt = runtime(request)
    body = await json_object(request)
    id_token, name, nonce = field(body, "id_token", str), field(body, "provider", str), field(body, "nonce", str)
    merge_token(body)
    if not id_token:
        raise ApiError(ErrorCode.validation_failed, "id_token required")
    if not name:
        raise ApiError(ErrorCode.validation_failed, "provider or client_id and issuer required")
    provider = id_token_provider(request, name)
    try:
        claims = await provider.verified(id_token, expected_nonce(nonce))
    except OidcFailure as failure:
        raise ApiError(ErrorCode.invalid_credentials, f"Bad ID token: {failure}") from None
    async with rt.db.transaction() as conn:
        user_id = await oauth.signed_in_user(conn, rt.config, name, claims)
    return await complete_sign_in(request, body, user_id, oauth.AMR_METHOD)


async def web3_grant(request: Request) -> JSONResponse:
    await captcha.require_captcha(request)
    raise ApiError(ErrorCode.web3_provider_disabled)


GRANTS = {
    "password": password_grant,
    "refresh_token": refresh_token_grant,
    "pkce": pkce_grant,
    "id_token": id_token_grant,
    "web3": web3_grant,
}


async def token(request: Request) -> JSONResponse:
    grant = GRANTS.get(request.query_params.get("grant_type", ""))
    if grant is None:
        raise ApiError(ErrorCode.invalid_credentials, "unsupported_grant_type")
    return await grant(request)


routes = [Route("/token", token, methods=["POST"])]
