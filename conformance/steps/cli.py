"""Steps for the CLI login hand-off and for the caller's sessions."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from pytest_bdd import given, then, when

from guestpass.conformance import jwt_tools
from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.core import new_password, refresh
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_out, wait_until
from guestpass.conformance.world import DEFAULT_DEVICE, World, unique_email

CLI = "CLI"
MODES = ("check", "claim-anon-session", "complete")
MIN_CODE_CHARACTERS = 22


def create_attempt(world: World, **body: Any) -> httpx.Response:
    response = world.record(world.client.request("POST", "/cli", json=body))
    if response.status_code == 200:
        world.remembered["attempt"] = json_body(response)
    return response


def attempt(world: World) -> dict[str, Any]:
    assert "attempt" in world.remembered, "no login attempt was created"
    return world.remembered["attempt"]


def poll(world: World, polling_code: str | None = None) -> httpx.Response:
    code = polling_code or attempt(world)["polling_code"]
    return world.client.request("POST", "/cli/poll", json={"polling_code": code})


def complete(world: World, mode: str, **extra: Any) -> httpx.Response:
    return world.client.request(
        "POST", "/cli/complete", json={"login_code": attempt(world)["login_code"], "mode": mode, **extra}
    )


def browser_complete(world: World, name: str, **extra: Any) -> httpx.Response:
    return complete(world, "complete", refresh_token=world.actor(name).refresh_token(), **extra)


def wait_interval(world: World) -> None:
    wait_out(attempt(world)["interval"])


def adopt_success(world: World, response: httpx.Response, name: str = CLI) -> None:
    if response.status_code == 200 and json_body(response).get("status") == "success":
        world.actor(name).adopt(json_body(response))


# --- given -------------------------------------------------------------------------------------------


@given("a CLI has created a login attempt")
def cli_created(world: World) -> None:
    assert create_attempt(world).status_code == 200, "setup: POST /cli failed"


@given(phrase("a CLI has created a login attempt that expires in {seconds:d} seconds"), converters={"seconds": int})
def cli_created_expiring(world: World, seconds: int) -> None:
    assert create_attempt(world, expires_in_millis=seconds * 1000).status_code == 200, "setup: POST /cli failed"


@given(phrase('"{name}" has created a login attempt carrying its anonymous refresh token'))
def cli_created_with_anonymous(world: World, name: str) -> None:
    response = create_attempt(world, anon_refresh_token=world.actor(name).refresh_token())
    assert response.status_code == 200, f"setup: POST /cli: {unexpected_status(200, response)}"


@given(
    phrase(
        '"{name}" has created a login attempt carrying its anonymous refresh token that expires in {seconds:d} seconds'
    ),
    converters={"seconds": int},
)
def cli_created_with_anonymous_expiring(world: World, name: str, seconds: int) -> None:
    response = create_attempt(
        world, anon_refresh_token=world.actor(name).refresh_token(), expires_in_millis=seconds * 1000
    )
    assert response.status_code == 200, f"setup: POST /cli: {unexpected_status(200, response)}"


@given(phrase('"{name}" has completed the attempt in the browser'))
def has_completed(world: World, name: str) -> None:
    response = world.record(browser_complete(world, name))
    assert response.status_code == 200, f"setup: completing: {unexpected_status(200, response)}"


@given(phrase('"{name}" has claimed the CLI\'s anonymous session'))
def has_claimed(world: World, name: str) -> None:
    response = world.record(complete(world, "claim-anon-session"))
    assert response.status_code == 200, f"setup: claiming: {unexpected_status(200, response)}"
    world.actor(name).adopt(json_body(response))


@given(phrase('"{name}" has made their account permanent with an email and a password'))
def made_permanent(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    for change in ({"email": actor.email}, {"password": actor.password}):
        response = world.client.request("PUT", "/user", token=actor.access_token(), json=change)
        assert response.status_code == 200, f"setup: PUT /user: {unexpected_status(200, response)}"


@given(phrase('"{name}" has signed the CLI "{cli}" in through the browser'))
def signed_cli_in(world: World, name: str, cli: str) -> None:
    assert create_attempt(world).status_code == 200, "setup: POST /cli failed"
    assert browser_complete(world, name).status_code == 200, "setup: completing failed"
    wait_interval(world)
    response = world.record(poll(world))
    assert json_body(response).get("status") == "success", f"setup: the poll answered {response.text[:200]}"
    adopt_success(world, response, cli)


@given(phrase('the target also claims the "{capability}" capability'))
def also_claims(world: World, capability: str) -> None:
    if not world.target.claims(capability):
        pytest.skip(f"not applicable: the target does not claim the {capability!r} capability")


# --- when --------------------------------------------------------------------------------------------


@when("a CLI creates a login attempt")
def cli_creates(world: World) -> None:
    create_attempt(world)


@when(phrase('"{name}" creates a login attempt carrying their refresh token as the anonymous one'))
def creates_with_permanent_token(world: World, name: str) -> None:
    create_attempt(world, anon_refresh_token=world.actor(name).refresh_token())


@when(phrase('a CLI creates a login attempt carrying the anonymous refresh token "{token}"'))
def creates_with_literal_token(world: World, token: str) -> None:
    create_attempt(world, anon_refresh_token=token)


@when("the CLI polls")
def cli_polls(world: World) -> None:
    adopt_success(world, world.record(poll(world)))


@when("the CLI polls after the interval")
def cli_polls_after_interval(world: World) -> None:
    wait_interval(world)
    adopt_success(world, world.record(poll(world)))


@when("the CLI polls twice without waiting")
def cli_polls_twice(world: World) -> None:
    poll(world)
    world.record(poll(world))


@when(phrase('a CLI polls with the polling code "{code}"'))
def polls_unknown(world: World, code: str) -> None:
    world.record(poll(world, code))


@when(phrase("the CLI polls {count:d} times in parallel"), converters={"count": int})
def polls_in_parallel(world: World, count: int) -> None:
    world.parallel_responses = run_together([lambda: poll(world)] * count)


@when("the attempt's lifetime has passed")
def lifetime_passed(world: World) -> None:
    expires_at = datetime.fromisoformat(attempt(world)["expires_at"].replace("Z", "+00:00")).timestamp()
    wait_until(expires_at, time.time)


@when(phrase('"{name}" completes the attempt in the browser'))
def completes(world: World, name: str) -> None:
    world.record(browser_complete(world, name))


@when(phrase('"{name}" completes the attempt in the browser merging the anonymous session'))
def completes_merging(world: World, name: str) -> None:
    world.record(browser_complete(world, name, anonymous_merge=True))


@when(phrase('"{name}" completes the attempt {count:d} times in parallel'), converters={"count": int})
def completes_in_parallel(world: World, name: str, count: int) -> None:
    world.parallel_responses = run_together([lambda: browser_complete(world, name)] * count)


@when("the browser checks the attempt")
def browser_checks(world: World) -> None:
    world.record(complete(world, "check"))


@when(phrase('"{name}" claims the CLI\'s anonymous session'))
def claims(world: World, name: str) -> None:
    response = world.record(complete(world, "claim-anon-session"))
    if response.status_code == 200:
        world.actor(name).adopt(json_body(response))


@when(phrase("the browser claims the CLI's anonymous session {count:d} times in parallel"), converters={"count": int})
def claims_in_parallel(world: World, count: int) -> None:
    world.parallel_responses = run_together([lambda: complete(world, "claim-anon-session")] * count)


@when("the browser completes the attempt without a refresh token")
def completes_without_token(world: World) -> None:
    world.record(complete(world, "complete"))


@when(phrase('the browser completes the attempt with the refresh token "{token}"'))
def completes_with_literal_token(world: World, token: str) -> None:
    world.record(complete(world, "complete", refresh_token=token))


@when(phrase('"{name}" ends the session of "{other}" from their list of sessions'))
def ends_from_list(world: World, name: str, other: str) -> None:
    listed = world.client.request("GET", "/sessions", token=world.actor(name).access_token())
    assert listed.status_code == 200, f"GET /sessions: {unexpected_status(200, listed)}"
    target_id = jwt_tools.claims_of(world.actor(other).access_token())["session_id"]
    assert target_id in [s["id"] for s in json_body(listed)["sessions"]], f"GET /sessions does not list {other}'s"
    world.record(world.client.request("DELETE", f"/sessions/{target_id}", token=world.actor(name).access_token()))


@when(phrase('"{name}" on "{device}" ends their session on "{other_device}"'))
def ends_own_device(world: World, name: str, device: str, other_device: str) -> None:
    actor = world.actor(name)
    session_id = jwt_tools.claims_of(actor.access_token(other_device))["session_id"]
    world.record(world.client.request("DELETE", f"/sessions/{session_id}", token=actor.access_token(device)))


@when(phrase('"{name}" ends the session of "{other}"'))
def ends_other_users(world: World, name: str, other: str) -> None:
    session_id = jwt_tools.claims_of(world.actor(other).access_token())["session_id"]
    world.record(world.client.request("DELETE", f"/sessions/{session_id}", token=world.actor(name).access_token()))


# --- then --------------------------------------------------------------------------------------------


@then("the attempt has two distinct high-entropy codes, an expiry and a positive interval")
def attempt_shape(world: World) -> None:
    created = attempt(world)
    codes = [created.get("polling_code"), created.get("login_code")]
    assert all(isinstance(code, str) and len(code) >= MIN_CODE_CHARACTERS for code in codes), f"codes: {codes}"
    assert codes[0] != codes[1], "the polling code and the login code are the same"
    assert isinstance(created.get("interval"), int) and created["interval"] > 0, f"interval: {created.get('interval')}"
    expires_at = datetime.fromisoformat(str(created.get("expires_at")).replace("Z", "+00:00"))
    assert expires_at.timestamp() > time.time(), f"expires_at {created['expires_at']} is not in the future"


@then(phrase('the poll status is "{status}"'))
def poll_status(world: World, status: str) -> None:
    response = world.last()
    assert response.status_code == 200, unexpected_status(200, response)
    assert json_body(response).get("status") == status, f"the poll answered {json_body(response).get('status')!r}"


@then(phrase('exactly {count:d} parallel poll reports "{status}"'), converters={"count": int})
def parallel_polls(world: World, count: int, status: str) -> None:
    statuses = [json_body(r).get("status") if r.status_code == 200 else r.status_code for r in world.parallel_responses]
    assert statuses.count(status) == count, f"parallel polls answered {statuses}"


@then(phrase('every mode of "{name}" on the attempt is refused with {status:d} "{code}"'), converters={"status": int})
def every_mode_refused(world: World, name: str, status: int, code: str) -> None:
    from guestpass.conformance.steps.common import assert_refused

    for mode in MODES:
        extra = {"refresh_token": world.actor(name).refresh_token()} if mode == "complete" else {}
        response = complete(world, mode, **extra)
        assert_refused(response, status, code)


@then("the CLI's anonymous user was not merged")
def anonymous_not_merged(world: World) -> None:
    outcome = json_body(world.last()).get("anonymous_merge")
    assert outcome is None or outcome.get("status") != "merged", f"the complete answered anonymous_merge {outcome}"


@then(phrase('"{cli}" has a session of its own, not the browser\'s'))
def cli_session_is_its_own(world: World, cli: str) -> None:
    terminal, browser = world.actor(cli), world.actor("Dana")
    assert terminal.user_id == browser.user_id, "the CLI was signed in as another user"
    assert terminal.refresh_token() != browser.refresh_token(), "the CLI received the browser's refresh token"
    own, theirs = (jwt_tools.claims_of(a.access_token())["session_id"] for a in (terminal, browser))
    assert own != theirs, "the CLI received the browser's session"


@then(phrase('"{name}"\'s refresh token still refreshes'))
def refresh_still_works(world: World, name: str) -> None:
    actor = world.actor(name)
    response = refresh(world, actor.refresh_token())
    assert response.status_code == 200, f"refreshing {name}: {unexpected_status(200, response)}"
    actor.adopt(json_body(response))


@then(
    phrase('the response lists {count:d} sessions of "{name}", the current one being their session on "{device}"'),
    converters={"count": int},
)
def sessions_listed(world: World, count: int, name: str, device: str) -> None:
    listed = json_body(world.last()).get("sessions")
    assert isinstance(listed, list) and len(listed) == count, f"sessions: {listed!r}"
    current = [s["id"] for s in listed if s.get("current") is True]
    expected = jwt_tools.claims_of(world.actor(name).access_token(device or DEFAULT_DEVICE))["session_id"]
    assert current == [expected], f"the current session is {current}, expected [{expected}]"
