"""Steps for merging an anonymous user into an existing account."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, then, when

from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.anonymous import sign_in_anonymously
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.core import password_grant, register, session_of_last_response
from guestpass.conformance.steps.data import contribute, items_of
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World

MERGE_FIELD = "anonymous_refresh_token"


def sign_in_carrying(world: World, name: str, extra: dict[str, Any]) -> None:
    actor = world.actor(name)
    response = world.record(password_grant(world, actor.email or "", actor.password or "", **extra))
    if response.status_code == 200:
        actor.adopt(json_body(response))


@given(phrase('"{name}" has signed in carrying the anonymous refresh token of "{anon}"'))
def has_merged(world: World, name: str, anon: str) -> None:
    sign_in_carrying(world, name, {MERGE_FIELD: world.actor(anon).refresh_token()})
    outcome = json_body(world.last()).get("anonymous_merge", {})
    assert outcome.get("status") == "merged", f"setup: the merge answered {outcome}"


@when(phrase('"{name}" signs in with their password carrying the anonymous refresh token of "{anon}"'))
def signs_in_merging(world: World, name: str, anon: str) -> None:
    sign_in_carrying(world, name, {MERGE_FIELD: world.actor(anon).refresh_token()})


@when(phrase('"{name}" signs in with their password carrying the previous anonymous refresh token of "{anon}"'))
def signs_in_with_rotated(world: World, name: str, anon: str) -> None:
    sign_in_carrying(world, name, {MERGE_FIELD: world.actor(anon).spent_refresh_tokens[-1]})


@when(phrase('"{name}" signs in with their password carrying the refresh token of "{other}"'))
def signs_in_with_permanent_token(world: World, name: str, other: str) -> None:
    sign_in_carrying(world, name, {MERGE_FIELD: world.actor(other).refresh_token()})


@when(phrase('"{name}" signs in with their password carrying the anonymous refresh token "{token}"'))
def signs_in_with_literal_token(world: World, name: str, token: str) -> None:
    sign_in_carrying(world, name, {MERGE_FIELD: token})


@when(phrase('"{name}" signs in with their password carrying their refresh token from "{device}"'))
def signs_in_with_own_token(world: World, name: str, device: str) -> None:
    sign_in_carrying(world, name, {MERGE_FIELD: world.actor(name).refresh_token(device)})


@when(phrase('"{name}" signs in with their password naming the user id of "{anon}" as the merge source'))
def signs_in_naming_user(world: World, name: str, anon: str) -> None:
    sign_in_carrying(
        world, name, {"anonymous_user_id": world.actor(anon).user_id, MERGE_FIELD: "guestpass-not-a-refresh-token"}
    )


@given(phrase('{count:d} registered users "{prefix}"'), converters={"count": int})
def registered_users(world: World, count: int, prefix: str) -> None:
    world.remembered[f"group:{prefix}"] = [f"{prefix}{number}" for number in range(1, count + 1)]
    for name in world.remembered[f"group:{prefix}"]:
        register(world, world.actor(name))


@when(
    phrase(
        'the {count:d} "{prefix}" users race {rounds:d} times to merge a new anonymous contributor '
        "owning {items:d} items"
    ),
    converters={"count": int, "rounds": int, "items": int},
)
def concurrent_merges(world: World, count: int, prefix: str, rounds: int, items: int) -> None:
    accounts = [world.actor(name) for name in world.remembered[f"group:{prefix}"][:count]]
    races = []
    for round_number in range(1, rounds + 1):
        contributor = world.actor(f"Contributor{round_number}")
        response = sign_in_anonymously(world)
        assert response.status_code == 200, f"setup: anonymous sign-in: {unexpected_status(200, response)}"
        contributor.adopt(json_body(response))
        for number in range(items):
            assert contribute(world, contributor, f"race {round_number} item {number}").status_code == 201
        token = contributor.refresh_token()
        responses = run_together(
            [
                lambda a=account, t=token: password_grant(world, a.email or "", a.password or "", **{MERGE_FIELD: t})
                for account in accounts
            ]
        )
        for account, answer in zip(accounts, responses, strict=True):
            if answer.status_code == 200:
                account.adopt(json_body(answer))
        races.append(responses)
    world.parallel_responses = [answer for responses in races for answer in responses]
    world.remembered["races"] = (accounts, races, items)


@then(phrase('the merge came from "{anon}" and moved {count:d} items'), converters={"count": int})
def merge_outcome(world: World, anon: str, count: int) -> None:
    outcome = session_of_last_response(world)["anonymous_merge"]
    expected = world.remembered.get(f"user_id:{anon}", world.actor(anon).user_id)
    assert outcome.get("from_user_id") == expected, f"from_user_id is {outcome.get('from_user_id')}"
    assert (outcome.get("moved") or {}).get("items") == count, f"moved is {outcome.get('moved')}"


@then(phrase('the response has no "{field}"'))
def response_lacks(world: World, field: str) -> None:
    body = json_body(world.last())
    assert field not in body, f"the response carries {field}: {body.get(field)!r}"


@then("every sign-in succeeded")
def every_sign_in_succeeded(world: World) -> None:
    statuses = [response.status_code for response in world.parallel_responses]
    assert set(statuses) == {200}, f"sign-in statuses: {statuses}"


@then(
    phrase('in every race exactly one racer reported "{status}" and received all {count:d} items'),
    converters={"count": int},
)
def one_winner_per_race(world: World, status: str, count: int) -> None:
    accounts, races, _ = world.remembered["races"]
    owned = {account.name: [item["body"] for item in items_of(world, account)] for account in accounts}
    for round_number, responses in enumerate(races, 1):
        outcomes = [json_body(answer).get("anonymous_merge", {}).get("status") for answer in responses]
        assert outcomes.count(status) == 1, f"race {round_number}: merge outcomes {outcomes}"
        received = {
            name: sum(body.startswith(f"race {round_number} ") for body in bodies) for name, bodies in owned.items()
        }
        winner = accounts[outcomes.index(status)].name
        assert received == {name: count if name == winner else 0 for name in received}, (
            f"race {round_number}: rows received {received}, winner {winner}"
        )
