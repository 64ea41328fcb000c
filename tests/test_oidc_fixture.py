"""The OpenID Connect provider fixture, seen by a relying party: discovery, keys, the authorization-code
flow with PKCE through its login and consent pages, code replay, and each ID token misbehaviour; and with
Keycloak's routes, the flow a relying party built for Keycloak runs (no PKCE, the user from userinfo)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import jwt
import pytest

from guestpass.fixtures.oidc import KEYCLOAK_PATH, Misbehaviour, OidcError, OidcProvider, login, node_available

REDIRECT_URI = "http://127.0.0.1:9/auth/v1/callback"  # never contacted: the login stops at it


class NonceMismatch(jwt.InvalidTokenError):
    pass


@pytest.fixture(scope="module")
def node() -> None:
    if not node_available():
        if os.environ.get("GUESTPASS_REQUIRE_NODE"):
            pytest.fail("Node.js 20.19 or later and npm are required")
        pytest.skip("Node.js 20.19 or later and npm are not installed")


@pytest.fixture(scope="module")
def provider(node: None) -> Iterator[OidcProvider]:
    with OidcProvider([REDIRECT_URI]) as started:
        yield started


@pytest.fixture(scope="module")
def discovery(provider: OidcProvider) -> dict[str, Any]:
    return httpx.get(provider.discovery_url).raise_for_status().json()


@dataclass
class SignIn:
    code: str
    verifier: str | None
    nonce: str | None
    callback: dict[str, str]


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def sign_in(
    provider: OidcProvider,
    discovery: dict[str, Any],
    account: str,
    *,
    scope: str = "openid email profile",
    pkce: bool = True,
    nonce: bool = True,
) -> SignIn:
    """The authorization-code flow up to the code; with `nonce` (and the openid scope) it sends a nonce, with
    `pkce` a code_challenge."""
    state = secrets.token_urlsafe(16)
    nonce_sent = secrets.token_urlsafe(16) if nonce and "openid" in scope.split() else None
    verifier = secrets.token_urlsafe(48) if pkce else None
    query = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": REDIRECT_URI, "scope": scope}
    query["state"] = state
    if nonce_sent:
        query["nonce"] = nonce_sent
    if verifier:
        query |= {"code_challenge": s256(verifier), "code_challenge_method": "S256"}
    async with httpx.AsyncClient() as client:
        url = await login(
            client, f"{discovery['authorization_endpoint']}?{urlencode(query)}", account, stop_at=REDIRECT_URI
        )
    callback = {name: values[0] for name, values in parse_qs(url.query.decode()).items()}
    assert callback["state"] == state
    return SignIn(callback["code"], verifier, nonce_sent, callback)


def exchange(provider: OidcProvider, discovery: dict[str, Any], signed_in: SignIn) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": signed_in.code, "redirect_uri": REDIRECT_URI}
    if signed_in.verifier is not None:
        form["code_verifier"] = signed_in.verifier
    if provider.auth_method == "client_secret_post":
        form |= {"client_id": provider.client_id, "client_secret": provider.client_secret}
        return httpx.post(discovery["token_endpoint"], data=form)
    return httpx.post(discovery["token_endpoint"], data=form, auth=(provider.client_id, provider.client_secret))


def verified_claims(
    provider: OidcProvider, discovery: dict[str, Any], id_token: str, nonce: str | None
) -> dict[str, Any]:
    key = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token,
        key,
        algorithms=["ES256"],
        audience=provider.client_id,
        issuer=provider.issuer,
        options={"require": ["iss", "aud", "exp", "iat", "sub", *(["nonce"] if nonce is not None else [])]},
    )
    if claims.get("nonce") != nonce:
        raise NonceMismatch("the ID token's nonce is not the one sent")
    return claims


def id_token_for(provider: OidcProvider, discovery: dict[str, Any], account: str = "alice") -> tuple[str, str]:
    signed_in = asyncio.run(sign_in(provider, discovery, account))
    return exchange(provider, discovery, signed_in).raise_for_status().json()["id_token"], signed_in.nonce


def test_discovery_describes_the_provider(provider: OidcProvider, discovery: dict[str, Any]) -> None:
    assert discovery["issuer"] == provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert discovery[endpoint].startswith(f"{provider.issuer}/")
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "email", "profile"} <= set(discovery["scopes_supported"])
    assert {"sub", "email", "email_verified", "name"} <= set(discovery["claims_supported"])
    assert "code" in discovery["response_types_supported"]
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256"]
    assert provider.auth_method in discovery["token_endpoint_auth_methods_supported"]


def test_jwks_publishes_only_the_public_signing_key(discovery: dict[str, Any]) -> None:
    [key] = httpx.get(discovery["jwks_uri"]).raise_for_status().json()["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert key["kid"] and "d" not in key


@pytest.mark.parametrize("login_as", ["alice", "carol@example.com"])
def test_code_flow_with_pkce_yields_a_verified_id_token(
    provider: OidcProvider, discovery: dict[str, Any], login_as: str
) -> None:
    signed_in = asyncio.run(sign_in(provider, discovery, login_as))
    assert signed_in.callback["iss"] == provider.issuer
    tokens = exchange(provider, discovery, signed_in).raise_for_status().json()
    assert tokens["token_type"].lower() == "bearer" and tokens["access_token"]
    claims = verified_claims(provider, discovery, tokens["id_token"], signed_in.nonce)
    account = provider.account(login_as)
    assert (claims["sub"], claims["email"], claims["email_verified"], claims["name"]) == (
        account.sub,
        account.email,
        account.email_verified,
        account.name,
    )


def test_an_authorization_request_without_pkce_is_refused(provider: OidcProvider, discovery: dict[str, Any]) -> None:
    query = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": REDIRECT_URI}
    query |= {"scope": "openid", "state": "s"}
    response = httpx.get(f"{discovery['authorization_endpoint']}?{urlencode(query)}")
    assert response.is_redirect and response.headers["location"].startswith(REDIRECT_URI)
    assert parse_qs(httpx.URL(response.headers["location"]).query.decode())["error"] == ["invalid_request"]


def test_a_replayed_code_is_refused(provider: OidcProvider, discovery: dict[str, Any]) -> None:
    signed_in = asyncio.run(sign_in(provider, discovery, "bob"))
    exchange(provider, discovery, signed_in).raise_for_status()
    replayed = exchange(provider, discovery, signed_in)
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"


def test_a_login_that_is_not_an_account_or_an_address_is_refused(
    provider: OidcProvider, discovery: dict[str, Any]
) -> None:
    with pytest.raises(OidcError, match="did not accept the login"):
        asyncio.run(sign_in(provider, discovery, "nobody"))


def test_any_address_logs_in_as_an_account_of_its_own(provider: OidcProvider, discovery: dict[str, Any]) -> None:
    def claims_of(login_name: str) -> dict[str, Any]:
        signed_in = asyncio.run(sign_in(provider, discovery, login_name))
        id_token = exchange(provider, discovery, signed_in).json()["id_token"]
        return verified_claims(provider, discovery, id_token, signed_in.nonce)

    first, again = claims_of("newcomer@guestpass.test"), claims_of("newcomer@guestpass.test")
    unverified = claims_of("unverified-newcomer@guestpass.test")
    assert first["sub"] == again["sub"] and first["email"] == "newcomer@guestpass.test"
    assert first["email_verified"] is True and unverified["email_verified"] is False


def test_cancel_ends_the_authorization_with_access_denied(provider: OidcProvider, discovery: dict[str, Any]) -> None:
    query = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": REDIRECT_URI, "scope": "openid"}
    query |= {"state": "s", "code_challenge": s256("v" * 43), "code_challenge_method": "S256"}

    async def cancelled() -> httpx.URL:
        async with httpx.AsyncClient() as client:
            url = f"{discovery['authorization_endpoint']}?{urlencode(query)}"
            return await login(client, url, "alice", stop_at=REDIRECT_URI, cancel=True)

    callback = parse_qs(asyncio.run(cancelled()).query.decode())
    assert (callback["error"], callback["state"]) == (["access_denied"], ["s"])


REFUSALS: dict[Misbehaviour, type[jwt.InvalidTokenError]] = {
    "wrong_audience": jwt.InvalidAudienceError,
    "wrong_nonce": NonceMismatch,
    "expired": jwt.ExpiredSignatureError,
    "wrong_issuer": jwt.InvalidIssuerError,
    "bad_signature": jwt.InvalidSignatureError,
}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_each_misbehaviour_yields_an_id_token_the_relying_party_refuses(
    provider: OidcProvider, discovery: dict[str, Any], kind: Misbehaviour
) -> None:
    provider.misbehave(kind)
    try:
        id_token, nonce = id_token_for(provider, discovery)
        with pytest.raises(REFUSALS[kind]):
            verified_claims(provider, discovery, id_token, nonce)
        id_token, nonce = id_token_for(provider, discovery)
        with pytest.raises(REFUSALS[kind]):
            verified_claims(provider, discovery, id_token, nonce)
    finally:
        provider.misbehave(None)
    id_token, nonce = id_token_for(provider, discovery)
    assert verified_claims(provider, discovery, id_token, nonce)["email"] == "alice@example.com"


def test_an_unknown_misbehaviour_is_refused(provider: OidcProvider) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        provider.misbehave("unsigned")  # type: ignore[arg-type]


def test_client_secret_post_and_any_loopback_port(node: None) -> None:
    portless = "http://127.0.0.1/auth/v1/callback"
    with OidcProvider([portless], auth_method="client_secret_post", any_loopback_port=True) as other:
        other_discovery = httpx.get(other.discovery_url).raise_for_status().json()
        id_token, nonce = id_token_for(other, other_discovery, "bob")
        assert verified_claims(other, other_discovery, id_token, nonce)["email"] == "bob@example.com"


# --- Keycloak's routes ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keycloak(node: None) -> Iterator[OidcProvider]:
    with OidcProvider([REDIRECT_URI], routes="keycloak") as started:
        yield started


@pytest.fixture(scope="module")
def keycloak_discovery(keycloak: OidcProvider) -> dict[str, Any]:
    return httpx.get(keycloak.discovery_url).raise_for_status().json()


def test_the_default_routes_are_oidc_providers_and_require_pkce(
    provider: OidcProvider, discovery: dict[str, Any]
) -> None:
    assert (provider.routes, provider.require_pkce) == ("oidc-provider", True)
    assert discovery["authorization_endpoint"] == f"{provider.issuer}/auth"
    assert (discovery["token_endpoint"], discovery["userinfo_endpoint"]) == (
        f"{provider.issuer}/token",
        f"{provider.issuer}/me",
    )


def test_keycloak_routes_live_under_the_issuer(keycloak: OidcProvider, keycloak_discovery: dict[str, Any]) -> None:
    realm = f"{keycloak.issuer}{KEYCLOAK_PATH}"
    assert keycloak.issuer.rsplit(":", 1)[0] == "http://127.0.0.1" and keycloak_discovery["issuer"] == keycloak.issuer
    assert (keycloak.routes, keycloak.require_pkce) == ("keycloak", False)
    endpoints = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint")
    assert [keycloak_discovery[name] for name in endpoints] == [
        f"{realm}/{path}" for path in ("auth", "token", "userinfo", "certs", "logout")
    ]
    assert httpx.get(f"{keycloak.issuer}/auth").status_code == 404


def userinfo(discovery: dict[str, Any], access_token: str) -> httpx.Response:
    return httpx.get(discovery["userinfo_endpoint"], headers={"authorization": f"Bearer {access_token}"})


def test_keycloak_flow_without_pkce_gives_the_user_at_userinfo(
    keycloak: OidcProvider, keycloak_discovery: dict[str, Any]
) -> None:
    """As GoTrue's keycloak provider asked with scopes=openid: scope "profile email openid", no PKCE, no nonce,
    the user read from userinfo with the access token."""
    flow = sign_in(keycloak, keycloak_discovery, "carol", scope="profile email openid", pkce=False, nonce=False)
    signed_in = asyncio.run(flow)
    tokens = exchange(keycloak, keycloak_discovery, signed_in).raise_for_status().json()
    claims = userinfo(keycloak_discovery, tokens["access_token"]).raise_for_status().json()
    carol = keycloak.account("carol")
    assert claims == {"sub": carol.sub, "email": carol.email, "email_verified": False, "name": carol.name}
    assert verified_claims(keycloak, keycloak_discovery, tokens["id_token"], None)["sub"] == carol.sub


def test_keycloak_userinfo_needs_the_openid_scope(keycloak: OidcProvider, keycloak_discovery: dict[str, Any]) -> None:
    """Keycloak 20 and later refuse userinfo for an access token without the openid scope; so does the fixture."""
    signed_in = asyncio.run(sign_in(keycloak, keycloak_discovery, "bob", scope="profile email", pkce=False))
    tokens = exchange(keycloak, keycloak_discovery, signed_in).raise_for_status().json()
    assert "id_token" not in tokens
    refused = userinfo(keycloak_discovery, tokens["access_token"])
    assert refused.status_code == 403 and 'error="insufficient_scope"' in refused.headers["www-authenticate"]


def test_keycloak_routes_still_check_pkce_when_it_is_used(
    keycloak: OidcProvider, keycloak_discovery: dict[str, Any]
) -> None:
    signed_in = asyncio.run(sign_in(keycloak, keycloak_discovery, "alice"))
    signed_in.verifier = secrets.token_urlsafe(48)
    wrong = exchange(keycloak, keycloak_discovery, signed_in)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_keycloak_routes_can_require_pkce(node: None) -> None:
    with OidcProvider([REDIRECT_URI], routes="keycloak", require_pkce=True) as strict:
        assert strict.require_pkce is True
        query = {"response_type": "code", "client_id": strict.client_id, "redirect_uri": REDIRECT_URI}
        query |= {"scope": "openid", "state": "s"}
        response = httpx.get(f"{strict.issuer}{KEYCLOAK_PATH}/auth?{urlencode(query)}")
        assert response.is_redirect
        assert parse_qs(httpx.URL(response.headers["location"]).query.decode())["error"] == ["invalid_request"]
