"""Steps of the mfa-webauthn capability: a security key (guestpass's virtual authenticator) answers
the challenges of a webauthn factor. Enrollment, challenges, refusals and claims reuse the TOTP steps."""

from __future__ import annotations

from typing import Any

import httpx
from pytest_bdd import given, then, when

from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import assert_refused, json_body
from guestpass.conformance.steps.mfa import (
    adopt_verified,
    challenge_of,
    create_challenge,
    expect_ok,
    verify,
)
from guestpass.conformance.steps.passkeys import origin
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import DEFAULT_DEVICE, World
from guestpass.fixtures.webauthn import VirtualAuthenticator

CREATE, REQUEST = "create", "request"


def security_key_of(world: World, name: str) -> VirtualAuthenticator:
    key = f"security key:{name}"
    if key not in world.remembered:
        world.remembered[key] = VirtualAuthenticator()
    return world.remembered[key]


def offered(world: World, name: str) -> dict[str, Any]:
    ceremony = challenge_of(world, name).get("webauthn")
    assert isinstance(ceremony, dict), "the challenge carries no webauthn object"
    return ceremony


def public_key_options(world: World, name: str, kind: str) -> dict[str, Any]:
    ceremony = offered(world, name)
    assert ceremony.get("type") == kind, f"webauthn.type is {ceremony.get('type')!r}, not {kind!r}"
    options = (ceremony.get("credential_options") or {}).get("publicKey")
    assert isinstance(options, dict) and options.get("challenge"), "credential_options.publicKey has no challenge"
    return options


def answer(world: World, name: str, device: VirtualAuthenticator | None = None, **forgery: Any) -> dict[str, Any]:
    """The verify body a security key gives for `name`'s current challenge, whichever ceremony it is."""
    device = device or security_key_of(world, name)
    kind = offered(world, name).get("type")
    options = public_key_options(world, name, kind)
    at = forgery.pop("origin", None) or origin(world)
    response = device.create(options, at) if kind == CREATE else device.get(options, at, **forgery)
    world.remembered[f"credential:{name}"] = world.remembered.get(f"credential:{name}") or response["id"]
    webauthn = {"type": kind, "credential_response": response}
    return {"challenge_id": challenge_of(world, name)["id"], "webauthn": webauthn}


def send(world: World, name: str, body: dict[str, Any]) -> httpx.Response:
    actor = world.actor(name)
    world.remembered["previous_session"] = actor.session(DEFAULT_DEVICE)
    response = world.record(verify(world, name, body))
    adopt_verified(world, name, response, "", DEFAULT_DEVICE)
    world.remembered[f"last answer:{name}"] = body
    return response


def enroll(world: World, name: str) -> None:
    body = {"factor_type": "webauthn", "friendly_name": "Security key"}
    response = world.record(world.client.request("POST", "/factors", token=world.actor(name).access_token(), json=body))
    expect_ok(response, f"{name} enrolling a WebAuthn factor")
    assert json_body(response).get("type") == "webauthn", f"the factor's type is {json_body(response).get('type')!r}"
    world.remembered[f"factor:{name}"] = {"id": json_body(response)["id"], "type": "webauthn", "secret": None}


def answer_new_challenge(world: World, name: str) -> None:
    expect_ok(create_challenge(world, name), f"{name} creating a challenge")
    expect_ok(send(world, name, answer(world, name)), f"{name} answering with their security key")


# --- given -------------------------------------------------------------------------------------------


@given(phrase('"{name}" has enrolled a WebAuthn factor'))
def has_enrolled(world: World, name: str) -> None:
    enroll(world, name)


@given(phrase('"{name}" has verified a WebAuthn factor'))
def has_verified(world: World, name: str) -> None:
    enroll(world, name)
    answer_new_challenge(world, name)


@given(phrase('"{name}" has answered a challenge with their security key, a clone of which was kept'))
def has_answered_keeping_clone(world: World, name: str) -> None:
    world.remembered[f"clone:{name}"] = security_key_of(world, name).clone()
    answer_new_challenge(world, name)


# --- when --------------------------------------------------------------------------------------------


@when(phrase('"{name}" creates a challenge for their factor'))
def creates_challenge(world: World, name: str) -> None:
    create_challenge(world, name)


@when(phrase('"{name}" answers the challenge with their security key'))
def answers(world: World, name: str) -> None:
    send(world, name, answer(world, name))


@when(phrase('"{name}" answers the challenge with the security key of "{other}"'))
def answers_with_others_key(world: World, name: str, other: str) -> None:
    """The other key signs with its own credential, ignoring allowCredentials."""
    device = security_key_of(world, other)
    send(world, name, answer(world, name, device, credential_id=device.credentials[0].credential_id))


@when(phrase('"{name}" answers the challenge with their security key from the origin "{other}"'))
def answers_from_origin(world: World, name: str, other: str) -> None:
    send(world, name, answer(world, name, origin=other))


@when(phrase('"{name}" answers the challenge with the clone of their security key'))
def answers_with_clone(world: World, name: str) -> None:
    send(world, name, answer(world, name, world.remembered[f"clone:{name}"]))


@when(phrase('"{name}" answers the same challenge again with their security key'))
def answers_again(world: World, name: str) -> None:
    send(world, name, answer(world, name))


@when(phrase('"{name}" answers the challenge with their security key without verifying the user'))
def answers_without_uv(world: World, name: str) -> None:
    security_key_of(world, name).user_verified = False
    send(world, name, answer(world, name))


@when(
    phrase('"{name}" answers the challenge with their security key {count:d} times in parallel'),
    converters={"count": int},
)
def answers_in_parallel(world: World, name: str, count: int) -> None:
    body = answer(world, name)
    world.parallel_responses = run_together([lambda: verify(world, name, body)] * count)
    for response in world.parallel_responses:
        adopt_verified(world, name, response, "", DEFAULT_DEVICE)


@when(phrase('"{name}" verifies the challenge with the code "{code}"'))
def verifies_with_code(world: World, name: str, code: str) -> None:
    world.record(verify(world, name, {"challenge_id": challenge_of(world, name)["id"], "code": code}))


# --- then --------------------------------------------------------------------------------------------


@then(phrase('the challenge of "{name}" asks the authenticator to create a credential'))
def asks_to_create(world: World, name: str) -> None:
    options = public_key_options(world, name, CREATE)
    assert options.get("rp", {}).get("id"), "the creation options name no relying party"
    assert options.get("user", {}).get("id"), "the creation options name no user handle"


@then(phrase('the challenge of "{name}" asks for a signature by the factor\'s credential'))
def asks_for_signature(world: World, name: str) -> None:
    options = public_key_options(world, name, REQUEST)
    allowed = [entry.get("id") for entry in options.get("allowCredentials") or []]
    credential = world.remembered.get(f"credential:{name}")
    assert allowed == [credential], f"allowCredentials names {allowed}, not the factor's credential {credential}"


@then(
    phrase('every other parallel response is refused with {status:d} "{code}" or "{other}"'),
    converters={"status": int},
)
def others_refused_with_either(world: World, status: int, code: str, other: str) -> None:
    others = [response for response in world.parallel_responses if response.status_code != 200]
    assert others, "no parallel response was refused"
    for response in others:
        assert_refused(response, status, code, other)
