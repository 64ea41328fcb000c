"""Steps for the owned-data probe API (the target's `data_base_url`)."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import assert_refused, json_body, split_request, unexpected_status
from guestpass.conformance.steps.core import password_grant
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import DEFAULT_DEVICE, Actor, World


def data_request(world: World, request: str, *, token: str | None = None, json_body_: object = None) -> httpx.Response:
    if not world.target.data_base_url:
        pytest.skip("not applicable: the target file gives no data_base_url")
    method, path = split_request(request)
    return world.client.request(method, path, token=token, json=json_body_, base_url=world.target.data_base_url)


def contribute(world: World, actor: Actor, text: str, device: str | None = None) -> httpx.Response:
    token = actor.access_token(device or DEFAULT_DEVICE)
    return data_request(world, "POST /items", token=token, json_body_={"body": text})


def items_of(world: World, actor: Actor) -> list[dict]:
    response = data_request(world, "GET /items", token=actor.access_token())
    assert response.status_code == 200, f"GET /items for {actor.name}: {unexpected_status(200, response)}"
    return json_body(response)["items"]


@given(
    parsers.re(r'"(?P<name>[^"]+)"(?: on "(?P<device>[^"]+)")? has contributed (?P<count>\d+) items?$'),
    converters={"count": int},
)
def has_contributed(world: World, name: str, device: str | None, count: int) -> None:
    actor = world.actor(name)
    for number in range(count):
        response = contribute(world, actor, f"{name}'s item {number + 1}", device)
        assert response.status_code == 201, f"setup: contributing: {unexpected_status(201, response)}"


@when(phrase('"{name}" contributes the item "{text}"'))
def contributes(world: World, name: str, text: str) -> None:
    world.record(contribute(world, world.actor(name), text))


@when(phrase('"{name}" requests the data endpoint "{request}"'))
def actor_requests_data(world: World, name: str, request: str) -> None:
    world.record(data_request(world, request, token=world.actor(name).access_token()))


@when(phrase('"{name}" sends the data endpoint "{request}" with JSON'))
def actor_sends_data_json(world: World, name: str, request: str, docstring: str) -> None:
    world.record(data_request(world, request, token=world.actor(name).access_token(), json_body_=json.loads(docstring)))


@when(phrase('a client requests the data endpoint "{request}"'))
def client_requests_data(world: World, request: str) -> None:
    world.record(data_request(world, request))


RACE_DELAY = 0.02  # the owner's deletion or merge is sent once the writes are under way
MAX_WRITES_PER_WRITER = 50


def contribute_while(world: World, name: str, writers: int, racing: Callable[[], httpx.Response]) -> None:
    """`writers` clients of `name` keep contributing until `racing` (sent at the same moment) is answered, so
    that writes are in flight whenever it takes effect; its answer becomes the last response."""
    actor, answered = world.actor(name), threading.Event()

    def keep_writing(writer: int) -> list[httpx.Response]:
        answers: list[httpx.Response] = []
        while not answers or (not answered.is_set() and len(answers) < MAX_WRITES_PER_WRITER):
            answers.append(contribute(world, actor, f"{name}'s racing item {writer}.{len(answers)}"))
        return answers

    def race() -> list[httpx.Response]:
        time.sleep(RACE_DELAY)
        try:
            return [racing()]
        finally:
            answered.set()

    *writes, last = run_together([*(functools.partial(keep_writing, n) for n in range(writers)), race])
    world.parallel_responses = [answer for answers in writes for answer in answers]
    world.record(last[0])


@when(
    phrase('"{name}" deletes their account while {count:d} of their clients keep contributing'),
    converters={"count": int},
)
def deletes_while_contributing(world: World, name: str, count: int) -> None:
    token = world.actor(name).access_token()
    contribute_while(world, name, count, lambda: world.client.request("DELETE", "/user", token=token))


@when(
    phrase(
        '"{target}" signs in with their password carrying the anonymous refresh token of "{name}" while {count:d} '
        "of that visitor's clients keep contributing"
    ),
    converters={"count": int},
)
def merges_while_contributing(world: World, target: str, name: str, count: int) -> None:
    account, source = world.actor(target), world.actor(name)
    assert account.email and account.password, f"{target} has no email and password"
    world.remembered["items before the race"] = {item["id"] for item in items_of(world, source)}
    carried = source.refresh_token()

    def sign_in() -> httpx.Response:
        return password_grant(world, account.email or "", account.password or "", anonymous_refresh_token=carried)

    contribute_while(world, name, count, sign_in)
    if world.last().status_code == 200:
        account.adopt(json_body(world.last()))


@then("no parallel response is a server error")
def no_server_error(world: World) -> None:
    statuses = [response.status_code for response in [*world.parallel_responses, world.last()]]
    errors = [status for status in statuses if status >= 500]
    assert not errors, f"{len(errors)} of {len(statuses)} parallel requests answered a server error: {statuses}"


@then(
    phrase('every parallel contribution was stored, or refused with {status:d} "{code}" or "{other}"'),
    converters={"status": int},
)
def contributions_stored_or_refused(world: World, status: int, code: str, other: str) -> None:
    for response in world.parallel_responses:
        if response.status_code != 201:
            assert_refused(response, status, code, other)


@then(phrase('"{name}" owns every item stored before and during the race'))
def owns_race_items(world: World, name: str) -> None:
    stored = {json_body(r)["id"] for r in world.parallel_responses if r.status_code == 201}
    expected = world.remembered["items before the race"] | stored
    owned = {item["id"] for item in items_of(world, world.actor(name))}
    assert owned == expected, (
        f"{name} owns {len(owned)} items, expected the {len(expected)} stored before and during the race; "
        f"missing {len(expected - owned)}, unexpected {len(owned - expected)}"
    )


@then(phrase('the item belongs to "{name}"'))
def item_belongs(world: World, name: str) -> None:
    owner = json_body(world.last()).get("user_id")
    assert owner == world.actor(name).user_id, f"the item belongs to {owner}, not to {name}"


@then(parsers.re(r'"(?P<name>[^"]+)" owns exactly (?P<count>\d+) items?$'), converters={"count": int})
def owns_exactly(world: World, name: str, count: int) -> None:
    actor = world.actor(name)
    owned = items_of(world, actor)
    assert len(owned) == count, f"{name} owns {len(owned)} items, expected {count}"
    assert all(item["user_id"] == actor.user_id for item in owned), f"GET /items listed rows of others: {owned}"


@then(phrase('the response lists exactly {count:d} items of "{name}"'), converters={"count": int})
def response_lists(world: World, count: int, name: str) -> None:
    listed = json_body(world.last()).get("items")
    assert isinstance(listed, list) and len(listed) == count, f"the response lists {listed!r}"
    assert all(item["user_id"] == world.actor(name).user_id for item in listed), "it lists rows of another user"


@then(
    phrase('"{name}"\'s access token is refused by the data endpoint "{request}" with {status:d} "{code}"'),
    converters={"status": int},
)
def token_refused_by_data(world: World, name: str, request: str, status: int, code: str) -> None:
    assert_refused(data_request(world, request, token=world.actor(name).access_token()), status, code)
