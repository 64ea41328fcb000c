"""Steps of the id-token capability: the suite gets an ID token as a native app would, by running the
code flow of the target's OpenID provider as the target's own client (the target file's [oauth]
client_id and client_secret), with the SHA-256 of a raw nonce as the nonce; it then signs in at the
target with POST /token?grant_type=id_token, sending the raw nonce."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from typing import Any

import httpx
import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.client import tls_context
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.merge import MERGE_FIELD
from guestpass.conformance.steps.oauth import provider_login
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World
from guestpass.fixtures.oidc import id_token, misbehave

GRANT = "/token?grant_type=id_token"
MISBEHAVIOURS = {"for another audience": "wrong_audience", "that have expired": "expired"}


def provider_settings(world: World) -> tuple[str, str, str, str]:
    """Issuer, provider slot, client id and secret: the id-token scenarios are not applicable without them."""
    oauth = world.target.oauth
    if not (oauth.issuer and oauth.provider and oauth.client_id and oauth.client_secret):
        pytest.skip("not applicable: the target file's [oauth] names no issuer, provider, client_id and client_secret")
    return oauth.issuer, oauth.provider, oauth.client_id, oauth.client_secret


async def code_flow(world: World, login_name: str, nonce_hash: str) -> str:
    issuer, _, client_id, secret = provider_settings(world)
    async with httpx.AsyncClient(timeout=15, verify=tls_context()) as browser:
        return await id_token(
            browser,
            issuer,
            client_id=client_id,
            client_secret=secret,
            redirect_uri=world.target.base_url + "/callback",  # the target's, registered at the provider; not followed
            account=login_name,
            nonce=nonce_hash,
        )


@given(phrase('the OpenID provider signs the ID tokens of "{name}" {how}'))
def provider_misbehaves(world: World, name: str, how: str) -> None:
    issuer, *_ = provider_settings(world)
    misbehave(issuer, MISBEHAVIOURS[how], provider_login(world, name))  # type: ignore[arg-type]


@given(phrase('"{name}" holds an ID token from the OpenID provider'))
def holds_id_token(world: World, name: str) -> None:
    provider_settings(world)
    raw = secrets.token_urlsafe(24)
    nonce_hash = hashlib.sha256(raw.encode()).hexdigest()
    world.remembered[f"id token:{name}"] = asyncio.run(code_flow(world, provider_login(world, name), nonce_hash))
    world.remembered[f"id token nonce:{name}"] = raw


def sign_in_with_id_token(world: World, name: str, **extra: Any) -> httpx.Response:
    _, provider, *_ = provider_settings(world)
    body = {"provider": provider, "id_token": world.remembered[f"id token:{name}"], **extra}
    response = world.record(world.client.request("POST", GRANT, json=body))
    if response.status_code == 200 and "access_token" in json_body(response):
        world.actor(name).adopt(json_body(response))
    return response


@when(phrase('"{name}" signs in with the ID token and its nonce'))
def signs_in_with_id_token(world: World, name: str) -> None:
    sign_in_with_id_token(world, name, nonce=world.remembered[f"id token nonce:{name}"])


@when(phrase('"{name}" signs in with the ID token and another nonce'))
def signs_in_with_other_nonce(world: World, name: str) -> None:
    sign_in_with_id_token(world, name, nonce=secrets.token_urlsafe(24))


@when(phrase('"{name}" signs in with the ID token and its nonce carrying the anonymous refresh token of "{anon}"'))
def signs_in_with_id_token_merging(world: World, name: str, anon: str) -> None:
    extra = {"nonce": world.remembered[f"id token nonce:{name}"], MERGE_FIELD: world.actor(anon).refresh_token()}
    sign_in_with_id_token(world, name, **extra)


@then("the ID token is refused with 400 and no session")
def id_token_refused(world: World) -> None:
    response = world.last()
    assert response.status_code == 400, unexpected_status(400, response)
    assert "access_token" not in json_body(response), "a refused ID token still got a session"


@then(phrase('the session\'s user has the address "{name}" signed in with at the provider'))
def user_has_provider_address(world: World, name: str) -> None:
    user = json_body(world.last()).get("user") or {}
    assert user.get("email") == provider_login(world, name), f"the user's email is {user.get('email')!r}"
