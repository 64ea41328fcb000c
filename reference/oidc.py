"""OpenID Connect providers, configured by issuer URL, client id and secret: discovery and JWKS fetched
and cached, the authorization request (state, nonce, PKCE), the code exchange and the ID token's
verification with PyJWT (signature, issuer, audience, expiry, nonce)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from guestpass.reference.config import Config
from guestpass.reference.outbound import tls_context

CACHE_SECONDS = 600
HTTP_TIMEOUT = 10.0
SCOPES = "openid email profile"
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


class OidcFailure(Exception):
    """The provider refused, was unreachable, or answered something that does not verify."""


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    issuer: str
    client_id: str
    client_secret: str


def provider_settings(config: Config) -> dict[str, ProviderSettings]:
    """GUESTPASS_OIDC_PROVIDERS: {"name": {"issuer": ..., "client_id": ..., "client_secret": ...}, ...}."""
    if not config.oidc_providers.strip():
        return {}
    document = json.loads(config.oidc_providers)
    return {
        name: ProviderSettings(name, entry["issuer"].rstrip("/"), entry["client_id"], entry.get("client_secret", ""))
        for name, entry in document.items()
    }


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class OidcProvider:
    settings: ProviderSettings
    _discovery: dict[str, Any] = field(default_factory=dict)
    _jwks: jwt.PyJWKSet | None = None
    _fetched_at: float = 0.0

    async def discovery(self) -> dict[str, Any]:
        if not self._discovery or time.monotonic() - self._fetched_at > CACHE_SECONDS:
            self._discovery = await fetch_json(f"{self.settings.issuer}/.well-known/openid-configuration")
            self._jwks, self._fetched_at = None, time.monotonic()
        return self._discovery

    def authorization_url(
        self, endpoint: str, *, redirect_uri: str, state: str, nonce: str, verifier: str, scopes: tuple[str, ...] = ()
    ) -> str:
        """`endpoint` (the discovery document's authorization_endpoint) asked for a code for this flow, with
        the client's extra `scopes` after the ones every sign-in asks for."""
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(dict.fromkeys([*SCOPES.split(), *scopes])),
            "state": state,
            "nonce": nonce,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def claims(self, *, code: str, verifier: str, redirect_uri: str, nonce: str) -> dict[str, Any]:
        """The verified ID token claims that the authorization code buys."""
        endpoint = (await self.discovery())["token_endpoint"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        form["code_verifier"] = verifier
        auth = (self.settings.client_id, self.settings.client_secret)
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, verify=tls_context()) as client:
                response = await client.post(endpoint, data=form, auth=auth)
        except httpx.HTTPError as error:
            raise OidcFailure(f"the provider's token endpoint is unreachable: {error}") from None
        if response.status_code != 200:
            raise OidcFailure(f"the provider refused the code: {response.status_code} {response.text[:200]}")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise OidcFailure("the provider answered no id_token")
        return await self.verified(id_token, nonce)

    async def verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        key = await self.signing_key(id_token)
        try:
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise OidcFailure(f"the ID token does not verify: {error}") from None
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcFailure("the ID token's nonce is not the one this sign-in sent")
        return claims

    async def signing_key(self, id_token: str) -> jwt.PyJWK:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as error:
            raise OidcFailure(f"the ID token is malformed: {error}") from None
        if header.get("alg") not in SIGNING_ALGORITHMS:
            raise OidcFailure(f"the ID token's algorithm {header.get('alg')!r} is not accepted")
        for refresh in (False, True):  # an unknown kid may be a rotated key: fetch the set once more
            keys = await self.key_set(refresh)
            for key in keys.keys:
                if key.key_id == header.get("kid") or (header.get("kid") is None and len(keys.keys) == 1):
                    return key
        raise OidcFailure(f"the provider publishes no key {header.get('kid')!r}")

    async def key_set(self, refresh: bool) -> jwt.PyJWKSet:
        if self._jwks is None or refresh:
            document = await fetch_json((await self.discovery())["jwks_uri"])
            try:
                self._jwks = jwt.PyJWKSet.from_dict(document)
            except jwt.PyJWTError as error:
                raise OidcFailure(f"the provider's JWKS is unusable: {error}") from None
        return self._jwks


async def fetch_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, verify=tls_context()) as client:
            response = await client.get(url)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise OidcFailure(f"cannot read {url}: {error}") from None


def providers(config: Config) -> dict[str, OidcProvider]:
    return {name: OidcProvider(settings) for name, settings in provider_settings(config).items()}
