"""Steps that spell out, for a reviewer, what the shared session check (`guestpass.conformance.session_check`)
asks of every session answer: its expiry in Unix seconds, and amr entries stamped at their authentication."""

from __future__ import annotations

import time
from typing import Any

from pytest_bdd import given, then, when

from guestpass.conformance import jwt_tools
from guestpass.conformance.session_check import CLOCK_SKEW, SERVER_SLACK, SessionAnswer
from guestpass.conformance.steps.common import json_body
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World

ROUNDING = 1  # a timestamp is whole seconds: two stamped `n` seconds apart may differ by `n - 1`


def last_answer(world: World) -> SessionAnswer:
    ledger = world.client.sessions
    assert ledger is not None and ledger.answers, "no session has been answered in this scenario"
    answer = ledger.answers[-1]
    assert answer.claims == jwt_tools.claims_of(json_body(world.last())["access_token"]), (
        "the last response is not the last session answered"
    )
    return answer


def amr_entry(claims: dict[str, Any], method: str) -> dict[str, Any]:
    entries = [entry for entry in claims.get("amr", []) if entry.get("method") == method]
    assert len(entries) == 1, f"amr has {len(entries)} entries of {method!r}: {claims.get('amr')}"
    return entries[0]


@given(phrase("{seconds:d} seconds have passed"), converters={"seconds": int})
@when(phrase("{seconds:d} seconds have passed"), converters={"seconds": int})
def seconds_pass(world: World, seconds: int) -> None:
    world.remembered["waited"] = seconds
    time.sleep(seconds)


@then("the session's expires_at is the access token's exp in Unix seconds")
def expires_at_in_seconds(world: World) -> None:
    answer = last_answer(world)
    session = json_body(world.last())
    assert session["expires_at"] == answer.claims["exp"], f"expires_at {session['expires_at']} is not exp"
    assert (
        answer.sent_at - CLOCK_SKEW
        <= session["expires_at"] - session["expires_in"]
        <= answer.received_at + (CLOCK_SKEW + SERVER_SLACK)
    ), f"expires_at {session['expires_at']} minus expires_in is not the time of the request (Unix seconds)"


@then(phrase('the access token\'s amr records "{method}" at the time of the request'))
def amr_stamped_now(world: World, method: str) -> None:
    answer = last_answer(world)
    stamp = amr_entry(answer.claims, method)["timestamp"]
    assert isinstance(stamp, int) and answer.sent_at - CLOCK_SKEW <= stamp <= answer.received_at + CLOCK_SKEW, (
        f"the {method!r} timestamp {stamp} is not the time of the request, {int(answer.sent_at)} in Unix seconds"
    )
    assert answer.claims["iat"] - SERVER_SLACK <= stamp <= answer.claims["iat"], (
        f"the {method!r} timestamp {stamp} is not the moment the token was issued ({answer.claims['iat']})"
    )


@then(phrase('the access token keeps the session_id and the amr of "{name}"\'s previous session'))
def keeps_previous_session(world: World, name: str) -> None:
    previous = jwt_tools.claims_of(world.remembered["previous_session"]["access_token"])
    claims = last_answer(world).claims
    assert claims["session_id"] == previous["session_id"], "the answer is another session"
    assert claims["amr"] == previous["amr"], f"amr moved from {previous['amr']} to {claims['amr']}"


@then(phrase('the access token\'s amr adds "{method}" stamped after the wait and keeps "{earlier}" as it was'))
def amr_stepped_up(world: World, method: str, earlier: str) -> None:
    previous = jwt_tools.claims_of(world.remembered["previous_session"]["access_token"])
    claims = last_answer(world).claims
    first = amr_entry(previous, earlier)
    assert amr_entry(claims, earlier) == first, (
        f"the {earlier!r} entry changed: {first} -> {amr_entry(claims, earlier)}"
    )
    stamp, waited = amr_entry(claims, method)["timestamp"], world.remembered.get("waited", 0)
    assert stamp >= first["timestamp"] + waited - ROUNDING, (
        f"the {method!r} entry is stamped {stamp}, not after the {waited} s wait since {earlier!r} at"
        f" {first['timestamp']}: a stale timestamp"
    )


@then("every session answered in this scenario forbids caching")
def sessions_not_cached(world: World) -> None:
    ledger = world.client.sessions
    assert ledger is not None and ledger.answers, "no session has been answered in this scenario"
    cached = [answer.request for answer in ledger.answers if not answer.uncached]
    assert not cached, (
        f"answers without Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1): {', '.join(cached)}"
    )
