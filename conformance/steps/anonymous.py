"""Steps for anonymous sign-in, its conversion in place, and the anonymous rate limit."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.core import assert_user_shape, new_password, session_of_last_response
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World, fresh_client_key, unique_email

ANONYMOUS_DISABLED = "anonymous_disabled"
FORWARDING_HEADERS = (
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "CF-Connecting-IP",
    "True-Client-IP",
    "Sb-Forwarded-For",
)


def sign_in_anonymously(
    world: World,
    data: dict[str, Any] | None = None,
    *,
    client_key: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"data": data} if data is not None else {}
    headers = dict(extra_headers or {})
    if client_key and world.target.rate_limits.header:
        headers[world.target.rate_limits.header] = client_key
    return world.client.request(
        "POST", "/signup", json=body, headers=headers, base_url=world.remembered.get("base_url")
    )


def adopt_anonymous(world: World, name: str, response: httpx.Response) -> None:
    if response.status_code == 200:
        actor = world.actor(name)
        actor.adopt(json_body(response))
        world.remembered[f"user_id:{name}"] = actor.user_id


def limit_of(world: World) -> int:
    limit = world.target.rate_limits.anonymous_sign_ins
    assert limit is not None
    return limit


# --- given -------------------------------------------------------------------------------------------


@given(phrase('a visitor "{name}" signed in anonymously'))
def visitor_signed_in(world: World, name: str) -> None:
    response = sign_in_anonymously(world)
    assert response.status_code == 200, f"setup: anonymous sign-in: {unexpected_status(200, response)}"
    adopt_anonymous(world, name, response)


@given(phrase('a visitor "{name}" signed in anonymously with data'))
def visitor_signed_in_with_data(world: World, name: str, docstring: str) -> None:
    response = sign_in_anonymously(world, json.loads(docstring))
    assert response.status_code == 200, f"setup: anonymous sign-in: {unexpected_status(200, response)}"
    adopt_anonymous(world, name, response)


@given("a variant of the target with anonymous sign-ins disabled")
def anonymous_disabled_variant(world: World) -> None:
    url = world.target.variants.get(ANONYMOUS_DISABLED)
    if not url:
        pytest.skip(f"not applicable: the target file names no [variants] {ANONYMOUS_DISABLED} server")
    world.remembered["base_url"] = url


@given("the target's anonymous sign-in limit per client is known")
def limit_known(world: World) -> None:
    limits = world.target.rate_limits
    if not limits.header or not limits.anonymous_sign_ins:
        pytest.skip("not applicable: the target file gives no [rate_limits] header and anonymous_sign_ins")


@given("one client has used up its anonymous sign-ins")
def client_used_up(world: World) -> None:
    key = fresh_client_key()
    for _ in range(limit_of(world)):
        response = sign_in_anonymously(world, client_key=key)
        assert response.status_code == 200, f"setup: sign-in within the limit answered {response.status_code}"


# --- when --------------------------------------------------------------------------------------------


@when(phrase('"{name}" signs in anonymously'))
def signs_in_anonymously(world: World, name: str) -> None:
    adopt_anonymous(world, name, world.record(sign_in_anonymously(world)))


@when(phrase('"{name}" signs in anonymously with data'))
def signs_in_anonymously_with_data(world: World, name: str, docstring: str) -> None:
    adopt_anonymous(world, name, world.record(sign_in_anonymously(world, json.loads(docstring))))


@when(phrase('"{name}" sends "PUT /user" with a new email'))
def puts_new_email(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email = unique_email(name)
    world.record(world.client.request("PUT", "/user", token=actor.access_token(), json={"email": actor.email}))


@when(phrase('"{name}" sends "PUT /user" with a new password'))
def puts_new_password(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.password = new_password()
    world.record(world.client.request("PUT", "/user", token=actor.access_token(), json={"password": actor.password}))


@when(phrase('"{name}" sends "PUT /user" with the email of "{other}"'))
def puts_taken_email(world: World, name: str, other: str) -> None:
    world.record(
        world.client.request(
            "PUT", "/user", token=world.actor(name).access_token(), json={"email": world.actor(other).email}
        )
    )


@when(phrase('"{first}" and "{second}" claim the same new email in parallel'))
def claim_same_email(world: World, first: str, second: str) -> None:
    email = unique_email("claim")
    tokens = [world.actor(first).access_token(), world.actor(second).access_token()]
    world.parallel_responses = run_together(
        [
            lambda token=token: world.client.request("PUT", "/user", token=token, json={"email": email})
            for token in tokens
        ]
    )


def made_up_forwarding_headers(world: World) -> dict[str, str]:
    """A new made-up address in every forwarding header but the one the target trusts."""
    trusted = (world.target.rate_limits.header or "").lower()
    address = f"198.51.100.{secrets.randbelow(254) + 1}, 203.0.113.{secrets.randbelow(254) + 1}"
    values = {name: address for name in FORWARDING_HEADERS}
    values["Forwarded"] = f"for={address.split(',')[0]}"
    values["Sb-Forwarded-For"] = f"2001:db8::{secrets.token_hex(2)}"
    return {name: value for name, value in values.items() if name.lower() != trusted}


def exceed_limit_with(world: World, extra_headers: Callable[[], dict[str, str]]) -> None:
    key = fresh_client_key()
    for attempt in range(limit_of(world) + 1):
        response = world.record(sign_in_anonymously(world, client_key=key, extra_headers=extra_headers()))
        if attempt < limit_of(world):
            assert response.status_code == 200, f"sign-in {attempt + 1} within the limit: {response.status_code}"


@when("one client makes one anonymous sign-in more than the limit allows")
def exceed_limit(world: World) -> None:
    exceed_limit_with(world, dict)


@when("one client makes one anonymous sign-in more than the limit allows, with made-up untrusted forwarding headers")
def exceed_limit_spoofing(world: World) -> None:
    exceed_limit_with(world, lambda: made_up_forwarding_headers(world))


@when("another client signs in anonymously")
def another_client(world: World) -> None:
    world.record(sign_in_anonymously(world, client_key=fresh_client_key()))


# --- then --------------------------------------------------------------------------------------------


@then("the session's user is anonymous")
def session_user_anonymous(world: World) -> None:
    user = session_of_last_response(world)["user"]
    assert user["is_anonymous"] is True, f"is_anonymous is {user['is_anonymous']!r}"
    assert user["email"] == "", f"email is {user['email']!r}"
    assert user["phone"] == "", f"phone is {user['phone']!r}"
    assert user["identities"] == [], f"identities are {user['identities']!r}"


@then(phrase('"{first}" and "{second}" have different user ids'))
def different_ids(world: World, first: str, second: str) -> None:
    assert world.actor(first).user_id != world.actor(second).user_id, "both sign-ins returned the same user"


@then(phrase('the response is the user of "{name}"'))
def response_is_user_of(world: World, name: str) -> None:
    user = json_body(world.last())
    assert_user_shape(user)
    expected = world.remembered.get(f"user_id:{name}", world.actor(name).user_id)
    assert user["id"] == expected, f"the user id changed from {expected} to {user['id']}"


@then(phrase('"{name}" is still anonymous'))
def still_anonymous(world: World, name: str) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, f"GET /user answered {response.status_code}"
    assert json_body(response)["is_anonymous"] is True, "the user is no longer anonymous"
