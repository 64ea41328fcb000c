"""Steps of the passkeys and passkey-upgrade capabilities, answered by guestpass's own virtual
authenticator (guestpass.fixtures.webauthn)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import assert_refused, error_code, json_body, unexpected_status
from guestpass.conformance.steps.merge import MERGE_FIELD
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_out
from guestpass.conformance.world import Actor, World
from guestpass.fixtures.webauthn import SignCountMode, VirtualAuthenticator

PASSKEY = "passkey"
MAX_WAIT = 30.0
MAX_LIMIT = 10
UPGRADE_DISABLED = "passkey_upgrade_disabled"


def authenticator_of(world: World, name: str) -> VirtualAuthenticator:
    key = f"authenticator:{name}"
    if key not in world.remembered:
        world.remembered[key] = VirtualAuthenticator()
    return world.remembered[key]


def origin(world: World) -> str:
    value = world.target.passkeys.origin
    if not value:
        pytest.skip("not applicable: the target file names no [passkeys] origin to answer as")
    return value


def options(world: World, ceremony: str, token: str | None = None) -> dict[str, Any]:
    response = world.client.request("POST", f"/passkeys/{ceremony}/options", token=token, json={})
    assert response.status_code == 200, f"{ceremony} options: {unexpected_status(200, response)}"
    return json_body(response)


def verify(world: World, ceremony: str, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    return world.client.request("POST", f"/passkeys/{ceremony}/verify", token=token, json=body)


def register(world: World, actor: Actor, device: VirtualAuthenticator | None = None) -> httpx.Response:
    """Options, then the authenticator's answer; a refusal of either is the response."""
    asked = world.client.request("POST", "/passkeys/registration/options", token=actor.access_token(), json={})
    if asked.status_code != 200:
        return asked
    offered = json_body(asked)
    credential = (device or authenticator_of(world, actor.name)).create(offered["options"], origin(world))
    response = verify(
        world, "registration", {"challenge_id": offered["challenge_id"], "credential": credential}, actor.access_token()
    )
    if response.status_code == 200:
        world.remembered[f"passkey:{actor.name}"] = json_body(response)["id"]
    return response


def answer_sign_in(
    world: World, name: str, *, authenticator: VirtualAuthenticator | None = None, **forgery: Any
) -> tuple[dict, dict]:
    offered = options(world, "authentication")
    device = authenticator or authenticator_of(world, name)
    credential = device.get(offered["options"], forgery.pop("origin", None) or origin(world), **forgery)
    return offered, credential


def sign_in_with(world: World, name: str, extra: dict[str, Any] | None = None, **forgery: Any) -> httpx.Response:
    offered, credential = answer_sign_in(world, name, **forgery)
    body = {"challenge_id": offered["challenge_id"], "credential": credential, **(extra or {})}
    world.remembered["last sign-in"] = body
    response = world.record(verify(world, "authentication", body))
    if response.status_code == 200:
        world.actor(name).adopt(json_body(response), PASSKEY)
    return response


# --- given -------------------------------------------------------------------------------------------


@given(phrase('"{name}" has registered a passkey on their authenticator'))
def has_registered(world: World, name: str) -> None:
    response = register(world, world.actor(name))
    assert response.status_code == 200, f"setup: registering a passkey: {unexpected_status(200, response)}"


@given(phrase('"{name}" has registered a passkey on an authenticator that always reports a zero sign counter'))
def has_registered_zero_counter(world: World, name: str) -> None:
    world.remembered[f"authenticator:{name}"] = VirtualAuthenticator(sign_count_mode=SignCountMode.ZERO)
    has_registered(world, name)


@given(phrase('someone has signed in with the passkey on the authenticator of "{name}"'))
def has_signed_in_with_passkey(world: World, name: str) -> None:
    world.remembered["clone"] = authenticator_of(world, name).clone()
    response = sign_in_with(world, name)
    assert response.status_code == 200, f"setup: passkey sign-in: {unexpected_status(200, response)}"


@given(phrase('a clone of the authenticator of "{name}" was kept'))
def clone_kept(world: World, name: str) -> None:
    world.remembered[f"kept clone:{name}"] = authenticator_of(world, name).clone()


@given(
    phrase('someone has signed in {count:d} times with the passkey on the authenticator of "{name}"'),
    converters={"count": int},
)
def has_signed_in_times(world: World, name: str, count: int) -> None:
    for _ in range(count):
        response = sign_in_with(world, name)
        assert response.status_code == 200, f"setup: passkey sign-in: {unexpected_status(200, response)}"


@given(phrase('"{name}" has registered as many passkeys as the target allows'))
def has_registered_the_limit(world: World, name: str) -> None:
    limit = world.target.passkeys.max_per_user
    if limit is None or limit > MAX_LIMIT:
        pytest.skip(f"not applicable: the target's passkey limit is {limit}, not at most {MAX_LIMIT}")
    for _ in range(limit):
        response = register(world, world.actor(name), VirtualAuthenticator())
        assert response.status_code == 200, f"setup: registering a passkey: {unexpected_status(200, response)}"


# --- when --------------------------------------------------------------------------------------------


@when(phrase('someone signs in with the passkey on the authenticator of "{name}"'))
def signs_in_with_passkey(world: World, name: str) -> None:
    sign_in_with(world, name)


@when(
    phrase(
        'someone signs in with the passkey on the authenticator of "{name}"'
        ' carrying the anonymous refresh token of "{anon}"'
    )
)
def signs_in_merging(world: World, name: str, anon: str) -> None:
    sign_in_with(world, name, {MERGE_FIELD: world.actor(anon).refresh_token()})


@when("the same sign-in challenge is answered again")
def answers_again(world: World) -> None:
    world.record(verify(world, "authentication", world.remembered["last sign-in"]))


@when(phrase('the passkey of "{name}" answers a registration challenge at the sign-in endpoint'))
def registration_challenge_at_sign_in(world: World, name: str) -> None:
    actor = world.actor(name)
    registration = options(world, "registration", actor.access_token())
    sign_in = options(world, "authentication")
    sign_in["options"]["challenge"] = registration["options"]["challenge"]
    credential = authenticator_of(world, name).get(sign_in["options"], origin(world))
    world.record(
        verify(world, "authentication", {"challenge_id": registration["challenge_id"], "credential": credential})
    )


@when(phrase('"{name}" answers a sign-in challenge at the registration endpoint'))
def sign_in_challenge_at_registration(world: World, name: str) -> None:
    actor = world.actor(name)
    sign_in = options(world, "authentication")
    registration = options(world, "registration", actor.access_token())
    registration["options"]["challenge"] = sign_in["options"]["challenge"]
    credential = VirtualAuthenticator().create(registration["options"], origin(world))
    body = {"challenge_id": sign_in["challenge_id"], "credential": credential}
    world.record(verify(world, "registration", body, actor.access_token()))


@when(phrase('"{name}" sends one registration answer {count:d} times in parallel'), converters={"count": int})
def registers_in_parallel(world: World, name: str, count: int) -> None:
    actor = world.actor(name)
    offered = options(world, "registration", actor.access_token())
    credential = authenticator_of(world, name).create(offered["options"], origin(world))
    body = {"challenge_id": offered["challenge_id"], "credential": credential}
    world.parallel_responses = run_together([lambda: verify(world, "registration", body, actor.access_token())] * count)
    for response in world.parallel_responses:
        if response.status_code == 200:
            world.remembered[f"passkey:{name}"] = json_body(response)["id"]


@when(phrase('the passkey of "{name}" signs in without verifying the user'))
def signs_in_without_uv(world: World, name: str) -> None:
    device = authenticator_of(world, name)
    device.user_verified = False
    sign_in_with(world, name)


@when(phrase('the passkey of "{name}" answers a sign-in challenge after it expired'))
def answers_expired(world: World, name: str) -> None:
    ttl = world.target.passkeys.challenge_ttl
    if ttl is None or ttl > MAX_WAIT:
        pytest.skip(f"not applicable: the target's passkey challenge_ttl is {ttl}, not at most {MAX_WAIT:.0f} s")
    offered, credential = answer_sign_in(world, name)
    wait_out(ttl)
    world.record(verify(world, "authentication", {"challenge_id": offered["challenge_id"], "credential": credential}))


@when(phrase('the passkey of "{name}" signs in from the origin "{other}"'))
def signs_in_from_origin(world: World, name: str, other: str) -> None:
    sign_in_with(world, name, origin=other)


@when(phrase('the passkey of "{name}" signs in for the RP ID "{rp_id}"'))
def signs_in_for_rp(world: World, name: str, rp_id: str) -> None:
    sign_in_with(world, name, rp_id=rp_id)


@when(phrase('the passkey of "{name}" signs in with a tampered signature'))
def signs_in_tampered(world: World, name: str) -> None:
    sign_in_with(world, name, tamper_signature=True)


@when(phrase('a clone of the authenticator of "{name}" from before that sign-in signs in'))
def clone_signs_in(world: World, name: str) -> None:
    offered, credential = answer_sign_in(world, name, authenticator=world.remembered["clone"])
    world.record(verify(world, "authentication", {"challenge_id": offered["challenge_id"], "credential": credential}))


@when(phrase('the kept clone of the authenticator of "{name}" signs in twice'))
def kept_clone_signs_in_twice(world: World, name: str) -> None:
    clone = world.remembered[f"kept clone:{name}"]
    world.remembered["clone sign-ins"] = [sign_in_with(world, name, authenticator=clone) for _ in range(2)]


@when(phrase('"{name}" registers the same credential again'))
def registers_again(world: World, name: str) -> None:
    actor = world.actor(name)
    offered = options(world, "registration", actor.access_token())
    ignoring_exclusions = copy.deepcopy(offered)
    ignoring_exclusions["options"]["excludeCredentials"] = []
    device = authenticator_of(world, name)
    credential = device.create(ignoring_exclusions["options"], origin(world), reuse_credential=True)
    world.record(
        verify(
            world,
            "registration",
            {"challenge_id": offered["challenge_id"], "credential": credential},
            actor.access_token(),
        )
    )


@when(phrase('"{name}" registers a passkey on their authenticator'))
def registers(world: World, name: str) -> None:
    world.record(register(world, world.actor(name)))


@when(phrase('"{name}" registers a passkey on an authenticator that does not verify the user'))
def registers_without_uv(world: World, name: str) -> None:
    world.record(register(world, world.actor(name), VirtualAuthenticator(user_verified=False)))


@when(phrase('"{name}" registers one more passkey'))
def registers_another(world: World, name: str) -> None:
    world.record(register(world, world.actor(name), VirtualAuthenticator()))


@when(phrase('"{name}" deletes the passkey of "{owner}"'))
def deletes_others(world: World, name: str, owner: str) -> None:
    passkey_id = world.remembered[f"passkey:{owner}"]
    world.record(world.client.request("DELETE", f"/passkeys/{passkey_id}", token=world.actor(name).access_token()))


@when(phrase('"{name}" renames the passkey of "{owner}"'))
def renames_others(world: World, name: str, owner: str) -> None:
    passkey_id = world.remembered[f"passkey:{owner}"]
    world.record(
        world.client.request(
            "PATCH",
            f"/passkeys/{passkey_id}",
            token=world.actor(name).access_token(),
            json={"friendly_name": "mine now"},
        )
    )


@when(phrase('"{name}" renames their passkey to "{new_name}"'))
def renames(world: World, name: str, new_name: str) -> None:
    passkey_id = world.remembered[f"passkey:{name}"]
    world.record(
        world.client.request(
            "PATCH", f"/passkeys/{passkey_id}", token=world.actor(name).access_token(), json={"friendly_name": new_name}
        )
    )


@when(phrase('"{name}" deletes their passkey'))
def deletes(world: World, name: str) -> None:
    deletes_others(world, name, name)


@when(
    parsers.re(r'the passkey of "(?P<name>[^"]+)" answers one sign-in challenge (?P<count>\d+) times in parallel$'),
    converters={"count": int},
)
def answers_in_parallel(world: World, name: str, count: int) -> None:
    offered, credential = answer_sign_in(world, name)
    body = {"challenge_id": offered["challenge_id"], "credential": credential}
    world.parallel_responses = run_together([lambda: verify(world, "authentication", body)] * count)


# --- then --------------------------------------------------------------------------------------------


@then(phrase('"{name}" lists exactly {count:d} passkey named "{friendly_name}"'), converters={"count": int})
def lists_passkeys(world: World, name: str, count: int, friendly_name: str) -> None:
    response = world.client.request("GET", "/passkeys", token=world.actor(name).access_token())
    assert response.status_code == 200, unexpected_status(200, response)
    names = [passkey.get("friendly_name") for passkey in json_body(response)]
    assert names == [friendly_name] * count, f"GET /passkeys lists {names}"


@given("a target where anonymous users cannot register passkeys")
def upgrade_disabled_target(world: World) -> None:
    """The target's passkey_upgrade_disabled variant, else the target itself if it claims no passkey-upgrade."""
    base_url = world.target.variants.get(UPGRADE_DISABLED)
    if base_url is None and world.target.claims("passkey-upgrade"):
        pytest.skip("not applicable: the target upgrades anonymous users by passkey and names no variant that does not")
    world.client.base_url = (base_url or world.target.base_url).rstrip("/")
    world.remembered["base_url"] = world.client.base_url


@given("the target requires user verification for passkeys")
def requires_uv(world: World) -> None:
    if world.target.passkeys.user_verification != "required":
        pytest.skip('not applicable: the target file does not say [passkeys] user_verification = "required"')


@then("exactly one registration succeeded")
def one_registration(world: World) -> None:
    statuses = [response.status_code for response in world.parallel_responses]
    assert statuses.count(200) == 1, f"the parallel registrations answered {statuses}"
    for response in world.parallel_responses:
        if response.status_code != 200:
            assert_refused(response, 400, "webauthn_challenge_not_found")


@then("exactly one passkey sign-in succeeded")
def one_sign_in(world: World) -> None:
    statuses = [response.status_code for response in world.parallel_responses]
    assert statuses.count(200) == 1, f"the parallel sign-ins answered {statuses}"
    for response in world.parallel_responses:
        if response.status_code != 200:
            assert_refused(response, 400, "webauthn_challenge_not_found", "webauthn_verification_failed")


@then(phrase('each clone sign-in is a session or refused with {status:d} "{code}"'), converters={"status": int})
def clone_sign_ins_answered(world: World, status: int, code: str) -> None:
    for response in world.remembered["clone sign-ins"]:
        if response.status_code == 200:
            assert "access_token" in json_body(response), f"the clone's 200 carries no session: {json_body(response)}"
        else:
            assert_refused(response, status, code)


@then("the second clone sign-in is answered as the first")
def clone_answered_alike(world: World) -> None:
    first, second = [(response.status_code, error_code(response)) for response in world.remembered["clone sign-ins"]]
    assert second == first, (
        f"the clone's first sign-in answered {first}, its second {second}: a refused clone whose next count "
        "passes has lowered the stored counter to its own"
    )


@then(phrase('"{name}" is permanent with the same user id'))
def permanent_same_id(world: World, name: str) -> None:
    actor = world.actor(name)
    response = world.client.request("GET", "/user", token=actor.access_token())
    assert response.status_code == 200, unexpected_status(200, response)
    user = json_body(response)
    assert user["id"] == world.remembered.get(f"user_id:{name}", actor.user_id), f"the user id is now {user['id']}"
    assert user["is_anonymous"] is False, "the user is still anonymous"
