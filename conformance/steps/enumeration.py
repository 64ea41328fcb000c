"""Steps that look for an account's existence where it should not show: in how long an answer takes,
and in what a request answers while the mail server refuses mail."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.mailbox import MAIL_WAIT_SECONDS
from guestpass.conformance.steps.common import json_body, safe_error_code, unexpected_status
from guestpass.conformance.steps.core import new_password, password_grant, register
from guestpass.conformance.steps.mail import signed_up_and_confirmed
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.steps.resend import wait_send_interval
from guestpass.conformance.timing import ANSWER_TIMES_STEP, PAUSE_SECONDS, compare
from guestpass.conformance.world import World, fresh_client_key, unique_email

WARM_UP_REQUESTS = 3

Send = Callable[[str], httpx.Response]


def require_many_clients(world: World) -> None:
    """The timing scenarios send a hundred requests or so: from one client they would use up the target's
    rate limits (and other scenarios' share of them)."""
    if not world.target.rate_limits.header:
        pytest.skip("not applicable: the target names no rate-limit header, so the suite cannot be many clients")


@given(phrase("{count:d} registered users"), converters={"count": int})
def registered_users(world: World, count: int) -> None:
    require_many_clients(world)
    on_variant = world.client.base_url != world.target.base_url.rstrip("/")
    addresses = []
    for number in range(count):
        name = f"Registered{number}"
        if on_variant:
            register_on_variant(world, name)
        else:
            register(world, world.actor(name))
        addresses.append(world.actor(name).email)
    world.remembered["registered addresses"] = addresses


def register_on_variant(world: World, name: str) -> None:
    """A confirmed user of the variant the scenario talks to: made through the admin API when the
    target's service key is good there too, else signed up and confirmed by mail."""
    if world.target.service_role_key and world.remembered.get("variant takes the service key", True):
        actor = world.actor(name)
        actor.email, actor.password = unique_email(name), new_password()
        body = {"email": actor.email, "password": actor.password, "email_confirm": True}
        response = world.client.request("POST", "/admin/users", token=world.target.service_role_key, json=body)
        if response.status_code == 200:
            actor.user_id = json_body(response)["id"]
            return
        assert response.status_code in (401, 403), f"setup: registering {name}: {unexpected_status(200, response)}"
        world.remembered["variant takes the service key"] = False
    with as_new_client(world):  # so that the target's verify limit sees many clients
        signed_up_and_confirmed(world, name)


@given(phrase("{count:d} users who signed up and have not confirmed their address"), converters={"count": int})
def unconfirmed_users(world: World, count: int) -> None:
    require_many_clients(world)
    addresses = []
    for number in range(count):
        address = unique_email(f"unconfirmed{number}")
        response = world.client.request("POST", "/signup", json={"email": address, "password": new_password()})
        assert response.status_code == 200, f"setup: POST /signup: {unexpected_status(200, response)}"
        addresses.append(address)
    world.remembered["registered addresses"] = addresses
    wait_send_interval(world)  # a confirmation was just mailed to each: a resend now would be refused


@given(phrase('the mail server refuses mail for "{name}"'))
def mail_server_refuses(world: World, name: str) -> None:
    if world.mail is None:
        pytest.skip("not applicable: refusing mail needs the capture SMTP server")
    world.mail.refuse(world.actor(name).email or "")


@then(phrase('the mail server turns away a message for "{name}"'))
def mail_server_turned_away(world: World, name: str) -> None:
    assert world.mail is not None
    assert world.mail.wait_for_refusal(world.actor(name).email or "", timeout=MAIL_WAIT_SECONDS), (
        f"the server tried no delivery to {name} within {MAIL_WAIT_SECONDS:.0f} s"
    )


@when(phrase('the mail server accepts mail for "{name}" again'))
def mail_server_accepts(world: World, name: str) -> None:
    assert world.mail is not None
    world.mail.accept(world.actor(name).email or "")


@when(
    phrase("recovery is asked for each of them and for {count:d} unregistered addresses, in random order"),
    converters={"count": int},
)
def timed_recovery(world: World, count: int) -> None:
    timed(world, count, lambda address: world.client.request("POST", "/recover", json={"email": address}))


@when(
    phrase("a sign-in code is asked for each of them and for {count:d} new addresses, in random order"),
    converters={"count": int},
)
def timed_sign_in_codes(world: World, count: int) -> None:
    timed(world, count, lambda address: world.client.request("POST", "/otp", json={"email": address}))


@when(
    phrase(
        "the signup confirmation is resent for each of them and for {count:d} unregistered addresses, in random order"
    ),
    converters={"count": int},
)
def timed_resends(world: World, count: int) -> None:
    body = {"type": "signup"}
    timed(world, count, lambda address: world.client.request("POST", "/resend", json={**body, "email": address}))


@when(
    phrase("each of them and {count:d} unregistered addresses sign in with a wrong password, in random order"),
    converters={"count": int},
)
def timed_wrong_passwords(world: World, count: int) -> None:
    timed(world, count, lambda address: password_grant(world, address, "not-the-password-0"))


@when(
    phrase("each of their addresses and {count:d} new ones are signed up, in random order"), converters={"count": int}
)
def timed_signups(world: World, count: int) -> None:
    body = {"password": "a-new-password-0"}
    timed(world, count, lambda address: world.client.request("POST", "/signup", json={**body, "email": address}))


def timed(world: World, count: int, send: Send) -> None:
    """Sends `send` for every registered address and for `count` unregistered ones, one at a time in
    random order (each from a client address of its own where the target trusts a rate-limit header),
    and keeps each answer's time by kind."""
    require_many_clients(world)
    registered = world.remembered["registered addresses"]
    requests = [(True, address) for address in registered]
    requests += [(False, unique_email(f"unregistered{number}")) for number in range(count)]
    random.shuffle(requests)
    for number in range(WARM_UP_REQUESTS):
        _send_once(world, send, unique_email(f"warmup{number}"))
    durations: dict[bool, list[float]] = {True: [], False: []}
    answers: dict[bool, set[tuple[int, str | None]]] = {True: set(), False: set()}
    for is_registered, address in requests:
        response, seconds = _send_once(world, send, address)
        durations[is_registered].append(seconds)
        answers[is_registered].add((response.status_code, safe_error_code(response)))
    world.remembered["timed answers"] = answers
    world.remembered["timed durations"] = durations


@contextmanager
def as_new_client(world: World) -> Iterator[None]:
    """Requests from a client address of their own, where the target trusts a rate-limit header."""
    own_key = world.client.client_key
    if world.target.rate_limits.header:
        world.client.client_key = fresh_client_key()
    try:
        yield
    finally:
        world.client.client_key = own_key


def _send_once(world: World, send: Send, address: str) -> tuple[httpx.Response, float]:
    """One timed request, answered while no other request of the suite is in flight: how long it took
    from being sent to its answer having been read."""
    time.sleep(PAUSE_SECONDS)
    with as_new_client(world), world.client.alone():
        response = send(address)
    world.record(response)
    return response, world.client.last_seconds


@then(ANSWER_TIMES_STEP)
def times_tell_nothing(world: World) -> None:
    answers = world.remembered["timed answers"]
    assert answers[True] == answers[False] and len(answers[True]) == 1, (
        f"the answers themselves differ: (status, error code) {sorted(answers[True], key=str)} for registered "
        f"addresses, {sorted(answers[False], key=str)} for unregistered ones"
    )
    durations = world.remembered["timed durations"]
    comparison = compare(durations[True], durations[False])
    assert not comparison.tells_apart, comparison.describe("registered addresses", "unregistered ones")
    world.remembered["timing"] = comparison


@when(phrase('"{name}" signs up with the email of "{other}" and a password of their own'))
def signs_up_with_taken_email(world: World, name: str, other: str) -> None:
    actor = world.actor(name)
    actor.email, actor.password = world.actor(other).email, new_password()
    world.remembered["signup answers"] = [world.response]
    response = world.client.request("POST", "/signup", json={"email": actor.email, "password": actor.password})
    world.remembered["signup answers"].append(world.record(response))


@then(phrase('the response\'s user id is not the user id of "{name}"'))
def not_the_user_id(world: World, name: str) -> None:
    user_id = json_body(world.last()).get("id")
    assert user_id != world.actor(name).user_id, f"the answer names the account of {name}: id {user_id}"


@then("the last two answers have the same fields of the same types")
def same_shape(world: World) -> None:
    new, taken = (json_body(response) for response in world.remembered["signup answers"][-2:])
    assert shape(taken) == shape(new), (
        f"for a new address the answer has {shape(new)}; for a registered one {shape(taken)}"
    )


def shape(value: Any) -> Any:
    """Field names and JSON types, recursively; a list is described by how many items it has and
    the shape of each."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


@then("the response JSON is an empty object")
def empty_object(world: World) -> None:
    assert json_body(world.last()) == {}, f"the answer is {json_body(world.last())}"
