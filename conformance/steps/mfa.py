"""Steps of the mfa-totp capability. Codes are computed from the secret the enrollment returned, as an
authenticator app would (SHA-1, 6 digits, 30-second steps)."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pyotp
import pytest
from pytest_bdd import given, parsers, then, when

from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import (
    assert_refused,
    error_code,
    from_new_addresses,
    json_body,
    unexpected_status,
)
from guestpass.conformance.steps.core import ON_DEVICE, last_claims, password_grant, refresh, sign_in
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_until
from guestpass.conformance.world import DEFAULT_DEVICE, World, unique_email

PERIOD = 30
MIN_SECRET_BITS = 128  # RFC 4226 §4, R6
BASE32 = re.compile(r"[A-Z2-7]+=*")
SVG_DATA_PREFIX = "data:image/svg+xml;utf-8,"


# --- codes -------------------------------------------------------------------------------------------


def code_at(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + steps_from_now * PERIOD)


def wrong_code(secret: str, attempt: int = 0) -> str:
    """A code no nearby time step produces."""
    valid = {code_at(secret, offset) for offset in range(-3, 4)}
    candidate = (int(code_at(secret)) + 1 + attempt * 7919) % 10**6
    while f"{candidate:06d}" in valid:
        candidate = (candidate + 1) % 10**6
    return f"{candidate:06d}"


# --- requests ----------------------------------------------------------------------------------------


def factor_of(world: World, name: str) -> dict[str, Any]:
    assert f"factor:{name}" in world.remembered, f"{name} has enrolled no factor"
    return world.remembered[f"factor:{name}"]


def challenge_of(world: World, name: str) -> dict[str, Any]:
    assert f"challenge:{name}" in world.remembered, f"{name} has created no challenge"
    return world.remembered[f"challenge:{name}"]


def enroll(world: World, name: str, friendly_name: str | None = None, device: str = DEFAULT_DEVICE) -> httpx.Response:
    body = {"factor_type": "totp", **({"friendly_name": friendly_name} if friendly_name else {})}
    response = world.record(
        world.client.request("POST", "/factors", token=world.actor(name).access_token(device), json=body)
    )
    if response.status_code == 200:
        enrolled = json_body(response)
        secret = enrolled["totp"]["secret"]
        world.remembered[f"factor:{name}"] = {"id": enrolled["id"], "type": "totp", "secret": secret}
    return response


def create_challenge(world: World, name: str, owner: str | None = None, device: str = DEFAULT_DEVICE) -> httpx.Response:
    owner = owner or name
    started = time.time()
    response = world.record(
        world.client.request(
            "POST",
            f"/factors/{factor_of(world, owner)['id']}/challenge",
            token=world.actor(name).access_token(device),
            json={},  # as the official clients send it; GoTrue refuses an empty body for WebAuthn factors
        )
    )
    if response.status_code == 200 and owner == name:
        world.remembered[f"challenge:{name}"] = {**json_body(response), "started": started}
    return response


def verify(
    world: World, name: str, body: dict[str, Any], owner: str | None = None, device: str = DEFAULT_DEVICE
) -> httpx.Response:
    factor_id = factor_of(world, owner or name)["id"]
    token = world.actor(name).access_token(device)
    return world.client.request("POST", f"/factors/{factor_id}/verify", token=token, json=body)


def verify_code(world: World, name: str, code: str, device: str = DEFAULT_DEVICE) -> httpx.Response:
    """Verifies `name`'s challenge with `code`; a success becomes the actor's session on `device`."""
    actor = world.actor(name)
    world.remembered["previous_session"] = actor.session(device)
    body = {"challenge_id": challenge_of(world, name)["id"], "code": code}
    response = world.record(verify(world, name, body, device=device))
    adopt_verified(world, name, response, code, device)
    return response


def adopt_verified(world: World, name: str, response: httpx.Response, code: str, device: str) -> None:
    if response.status_code == 200:
        actor = world.actor(name)
        world.remembered[f"aal1_refresh_token:{name}"] = actor.refresh_token(device)
        world.remembered[f"used_code:{name}"] = code
        actor.adopt(json_body(response), device)


def verify_on_new_challenge(world: World, name: str, code: str) -> None:
    """A fresh challenge answered with `code`; a refused challenge is the recorded answer."""
    if create_challenge(world, name).status_code == 200:
        verify_code(world, name, code)


def expect_ok(response: httpx.Response, what: str) -> None:
    assert response.status_code == 200, f"setup: {what}: {unexpected_status(200, response)}"


def verify_factor(world: World, name: str, device: str = DEFAULT_DEVICE) -> None:
    expect_ok(enroll(world, name, device=device), f"{name} enrolling a factor")
    expect_ok(create_challenge(world, name, device=device), f"{name} creating a challenge")
    expect_ok(verify_code(world, name, code_at(factor_of(world, name)["secret"]), device), f"{name} verifying")


def factors_listed(world: World, name: str) -> list[dict[str, Any]]:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, f"GET /user answered {response.status_code}"
    return json_body(response).get("factors") or []


def amr_methods(world: World) -> list[str]:
    return [entry.get("method") for entry in last_claims(world).get("amr", [])]


# --- given -------------------------------------------------------------------------------------------


@given(parsers.re(r'"(?P<name>[^"]+)"' + ON_DEVICE + r" has enrolled a TOTP factor"))
def has_enrolled(world: World, name: str, device: str | None) -> None:
    expect_ok(enroll(world, name, device=device or DEFAULT_DEVICE), f"{name} enrolling a factor")


@given(phrase('"{name}" has enrolled a TOTP factor named "{friendly_name}"'))
def has_enrolled_named(world: World, name: str, friendly_name: str) -> None:
    expect_ok(enroll(world, name, friendly_name), f"{name} enrolling a factor")


@given(parsers.re(r'"(?P<name>[^"]+)"' + ON_DEVICE + r" has created a challenge for their factor"))
def has_challenged(world: World, name: str, device: str | None) -> None:
    expect_ok(create_challenge(world, name, device=device or DEFAULT_DEVICE), f"{name} creating a challenge")


@given(phrase('"{name}" has verified the challenge'))
def has_verified_challenge(world: World, name: str) -> None:
    expect_ok(verify_code(world, name, code_at(factor_of(world, name)["secret"])), f"{name} verifying")


@given(parsers.re(r'"(?P<name>[^"]+)"' + ON_DEVICE + r" has verified a TOTP factor$"))
def has_verified_factor(world: World, name: str, device: str | None) -> None:
    verify_factor(world, name, device or DEFAULT_DEVICE)


@given(parsers.re(r'"(?P<name>[^"]+)"' + ON_DEVICE + r" has signed in again with their password$"))
def signed_in_again(world: World, name: str, device: str | None) -> None:
    expect_ok(sign_in(world, world.actor(name), device or DEFAULT_DEVICE), f"{name} signing in again")


@given(phrase('someone with the password of "{name}" has enrolled a TOTP factor from "{device}"'))
def planted_factor(world: World, name: str, device: str) -> None:
    """A factor enrolled from an aal1 session of one's own, while the user has no verified factor."""
    expect_ok(sign_in(world, world.actor(name), device), f"signing in as {name} from {device}")
    expect_ok(enroll(world, name, "planted", device), f"enrolling a factor for {name} from {device}")
    world.remembered[f"planted factor:{name}"] = factor_of(world, name)


@given(phrase("the target's MFA challenges expire within {seconds:d} seconds"), converters={"seconds": int})
def challenges_expire_soon(world: World, seconds: int) -> None:
    ttl = world.target.mfa_challenge_ttl
    if ttl is None:
        pytest.skip("not applicable: the target file gives no [mfa] challenge_ttl, so the suite cannot wait it out")
    if ttl > seconds:
        pytest.skip(f"not applicable: challenges live {ttl} s, longer than the {seconds} s the suite waits")


# --- when --------------------------------------------------------------------------------------------


@when(phrase('"{name}" enrolls a TOTP factor named "{friendly_name}"'))
def enrolls_named(world: World, name: str, friendly_name: str) -> None:
    enroll(world, name, friendly_name)


@when(phrase('"{name}" creates a challenge for the factor of "{owner}"'))
def challenges_other(world: World, name: str, owner: str) -> None:
    create_challenge(world, name, owner)


@when(parsers.re(r'"(?P<name>[^"]+)"' + ON_DEVICE + r" verifies the challenge with the current code"))
def verifies_current(world: World, name: str, device: str | None) -> None:
    verify_code(world, name, code_at(factor_of(world, name)["secret"]), device or DEFAULT_DEVICE)


@when(phrase('"{name}" verifies the challenge with a wrong code'))
def verifies_wrong(world: World, name: str) -> None:
    verify_code(world, name, wrong_code(factor_of(world, name)["secret"]))


@when(phrase('"{name}" verifies the challenge with the code of the next time step'))
def verifies_next_step(world: World, name: str) -> None:
    verify_code(world, name, code_at(factor_of(world, name)["secret"], 1))


@when(phrase('"{name}" verifies the challenge without a code'))
def verifies_without_code(world: World, name: str) -> None:
    world.record(verify(world, name, {"challenge_id": challenge_of(world, name)["id"]}))


@when(phrase('"{name}" verifies the challenge of "{owner}" with its current code'))
def verifies_other(world: World, name: str, owner: str) -> None:
    body = {"challenge_id": challenge_of(world, owner)["id"], "code": code_at(factor_of(world, owner)["secret"])}
    world.record(verify(world, name, body, owner=owner))


@when(phrase('"{name}" verifies a new challenge with the current code'))
def verifies_new_challenge(world: World, name: str) -> None:
    verify_on_new_challenge(world, name, code_at(factor_of(world, name)["secret"]))


@when(phrase('"{name}" verifies a new challenge with the code they used last'))
def replays_code(world: World, name: str) -> None:
    verify_on_new_challenge(world, name, world.remembered[f"used_code:{name}"])


@when(
    phrase('"{name}" verifies the challenge {count:d} times in parallel with the current code'),
    converters={"count": int},
)
def verifies_in_parallel(world: World, name: str, count: int) -> None:
    code = code_at(factor_of(world, name)["secret"])
    body = {"challenge_id": challenge_of(world, name)["id"], "code": code}
    world.parallel_responses = run_together([lambda: verify(world, name, body)] * count)
    for response in world.parallel_responses:
        adopt_verified(world, name, response, code, DEFAULT_DEVICE)


@when(phrase('"{name}" enters wrong codes until refused, past the target\'s verify attempts'))
def guesses_codes(world: World, name: str) -> None:
    secret, attempts = factor_of(world, name)["secret"], []
    for attempt in range(world.target.mfa_verify_attempts + 1):
        body = {"challenge_id": challenge_of(world, name)["id"], "code": wrong_code(secret, attempt)}
        response = verify(world, name, body)
        if response.status_code == 422 and error_code(response) == "mfa_challenge_expired":
            expect_ok(create_challenge(world, name), f"{name} replacing an expired challenge")
            continue
        attempts.append(world.record(response))
        if response.status_code != 422:
            break
    world.remembered["attempts"] = attempts


@when(
    phrase(
        '"{name}" enters wrong codes from a new client address each time until refused, past the target\'s verify '
        "attempts"
    )
)
def guesses_codes_from_many_addresses(world: World, name: str) -> None:
    secret, attempts = factor_of(world, name)["secret"], []
    for attempt in from_new_addresses(world, world.target.mfa_verify_attempts + 1):
        expect_ok(create_challenge(world, name), f"{name} creating a challenge from a new address")
        body = {"challenge_id": challenge_of(world, name)["id"], "code": wrong_code(secret, attempt)}
        attempts.append(world.record(verify(world, name, body)))
        if attempts[-1].status_code != 422:
            break
    world.remembered["attempts"] = attempts


@when(
    phrase('someone with the password of "{name}" signs in again from "{device}" and verifies the factor they enrolled')
)
def verifies_planted_factor(world: World, name: str, device: str) -> None:
    """A fresh aal1 session challenges the planted factor and answers with its current code; a refused
    challenge is the recorded answer."""
    expect_ok(sign_in(world, world.actor(name), device), f"signing in as {name} from {device}")
    factor, token = world.remembered[f"planted factor:{name}"], world.actor(name).access_token(device)
    path = f"/factors/{factor['id']}"
    challenge = world.record(world.client.request("POST", f"{path}/challenge", token=token, json={}))
    if challenge.status_code == 200:
        body = {"challenge_id": json_body(challenge)["id"], "code": code_at(factor["secret"])}
        world.record(world.client.request("POST", f"{path}/verify", token=token, json=body))


@when(parsers.re(r'"(?P<name>[^"]+)" on "(?P<device>[^"]+)" changes their email to a new address$'))
def changes_email_on(world: World, name: str, device: str) -> None:
    actor = world.actor(name)
    world.remembered[f"old_email:{name}"] = actor.email
    body = {"email": unique_email(name)}
    world.record(world.client.request("PUT", "/user", token=actor.access_token(device), json=body))


@when(
    phrase('"{name}" enters {times:d} times the target\'s verify attempts of wrong codes at once'),
    converters={"times": int},
)
def guesses_in_parallel(world: World, name: str, times: int) -> None:
    guess_in_parallel(world, name, times, with_right_code=False)


@when(
    phrase(
        '"{name}" enters {times:d} times the target\'s verify attempts of codes at once, one of them the current code'
    ),
    converters={"times": int},
)
def guesses_in_parallel_with_right_code(world: World, name: str, times: int) -> None:
    guess_in_parallel(world, name, times, with_right_code=True)


def guess_in_parallel(world: World, name: str, times: int, *, with_right_code: bool) -> None:
    """`times` x verify_attempts answers to one fresh challenge, released together."""
    secret = factor_of(world, name)["secret"]
    codes = [wrong_code(secret, attempt) for attempt in range(times * world.target.mfa_verify_attempts)]
    if with_right_code:
        codes[len(codes) // 2] = code_at(secret)
    expect_ok(create_challenge(world, name), f"{name} creating a challenge")
    challenge_id = challenge_of(world, name)["id"]
    calls = [lambda code=code: verify(world, name, {"challenge_id": challenge_id, "code": code}) for code in codes]
    world.parallel_responses = run_together(calls)
    for code, response in zip(codes, world.parallel_responses, strict=True):
        adopt_verified(world, name, response, code, DEFAULT_DEVICE)


@when("the challenge's lifetime has passed")
def challenge_lifetime_passes(world: World) -> None:
    ttl = world.target.mfa_challenge_ttl
    assert ttl is not None, "the scenario must first check that the target gives its challenge lifetime"
    started = max(value["started"] for key, value in world.remembered.items() if key.startswith("challenge:"))
    wait_until(started + ttl, time.time)


@when(phrase('"{name}" unenrolls their factor'))
def unenrolls(world: World, name: str) -> None:
    factor_id = factor_of(world, name)["id"]
    world.record(world.client.request("DELETE", f"/factors/{factor_id}", token=world.actor(name).access_token()))


@when(phrase('"{name}" refreshes with the refresh token they had before the verification'))
def refreshes_with_aal1_token(world: World, name: str) -> None:
    world.record(refresh(world, world.remembered[f"aal1_refresh_token:{name}"]))


# --- then --------------------------------------------------------------------------------------------


@then(phrase('the request is refused with {status:d} "{code}" or "{other}"'), converters={"status": int})
def refused_with_either(world: World, status: int, code: str, other: str) -> None:
    assert_refused(world.last(), status, code, other)


@then(phrase('the access token\'s amr methods include "{method}"'))
def amr_includes(world: World, method: str) -> None:
    assert method in amr_methods(world), f"amr methods are {amr_methods(world)}, without {method!r}"


@then(phrase('the access token\'s amr methods do not include "{method}"'))
def amr_excludes(world: World, method: str) -> None:
    assert method not in amr_methods(world), f"amr methods are {amr_methods(world)}, still with {method!r}"


@then(phrase('"{name}"\'s user lists their factor as "{status}"'))
def factor_listed(world: World, name: str, status: str) -> None:
    factor_id, factor_type = factor_of(world, name)["id"], factor_of(world, name)["type"]
    listed = {factor.get("id"): factor for factor in factors_listed(world, name)}
    assert factor_id in listed, f"GET /user does not list the factor {factor_id}"
    assert listed[factor_id].get("factor_type") == factor_type, f"the factor is listed as {listed[factor_id]}"
    assert listed[factor_id].get("status") == status, f"the factor's status is {listed[factor_id].get('status')!r}"


@then(phrase('"{name}"\'s user lists no factors'))
def no_factors_listed(world: World, name: str) -> None:
    listed = factors_listed(world, name)
    assert not listed, f"GET /user still lists the factors {[factor.get('id') for factor in listed]}"


@then(phrase('the response names the factor of "{name}"'))
def response_names_factor(world: World, name: str) -> None:
    actual = json_body(world.last()).get("id")
    assert actual == factor_of(world, name)["id"], f"the response names {actual!r}, not the factor"


@then(phrase('the response describes a TOTP factor named "{friendly_name}" that an authenticator app can use'))
def enrollment_usable(world: World, friendly_name: str) -> None:
    body = json_body(world.last())
    assert isinstance(body.get("id"), str) and body["id"], f"the factor id is {body.get('id')!r}"
    assert body.get("type") == "totp", f"type is {body.get('type')!r}"
    assert body.get("friendly_name") == friendly_name, f"friendly_name is {body.get('friendly_name')!r}"
    details = body.get("totp")
    assert isinstance(details, dict), f"totp is {details!r}"
    assert_usable_secret(details.get("secret"), details.get("uri"))
    assert_svg_markup(details.get("qr_code"))


def assert_usable_secret(secret: Any, uri: Any) -> None:
    assert isinstance(secret, str) and BASE32.fullmatch(secret), f"the secret {secret!r} is not base32"
    bits = len(secret.rstrip("=")) * 5
    assert bits >= MIN_SECRET_BITS, f"the secret has {bits} bits, fewer than RFC 4226's {MIN_SECRET_BITS}"
    assert isinstance(uri, str) and uri.startswith("otpauth://totp/"), f"the uri {uri!r} is not an otpauth TOTP URI"
    parts = urlsplit(uri)
    assert parse_qs(parts.query).get("secret") == [secret], "the uri does not carry the secret"
    # The label is "issuer:account"; an issuer with a colon (GoTrue's host:port) is not escaped in it.
    issuer = parse_qs(parts.query).get("issuer", [None])[0]
    label = unquote(parts.path.removeprefix("/"))
    assert issuer is None or label.startswith(issuer + ":"), f"the label {label!r} does not start with {issuer!r}"


def assert_svg_markup(qr_code: Any) -> None:
    """The clients show `data:image/svg+xml;utf-8,` + qr_code: it must be SVG markup, and a `#` would end
    the data URI early."""
    assert isinstance(qr_code, str) and "<svg" in qr_code, f"qr_code is not SVG markup: {str(qr_code)[:80]!r}"
    assert not qr_code.startswith("data:"), f"qr_code is already a data URI; clients prefix {SVG_DATA_PREFIX!r}"
    assert "#" not in qr_code, "qr_code contains '#', which ends the data URI the clients build"


@then(phrase('"{name}" can still sign in with their old password'))
def old_password_still_works(world: World, name: str) -> None:
    response = password_grant(world, world.actor(name).email or "", world.remembered["old_password"])
    assert response.status_code == 200, f"the old password no longer signs in: {unexpected_status(200, response)}"


@then(phrase('"{name}"\'s user on "{device}" still has the old email and no change pending'))
def email_change_not_started(world: World, name: str, device: str) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token(device))
    assert response.status_code == 200, unexpected_status(200, response)
    user, old = json_body(response), world.remembered[f"old_email:{name}"]
    assert user.get("email") == old, f"the email is now {user.get('email')!r}, not {old!r}"
    assert not user.get("new_email"), f"a change to {user.get('new_email')!r} is pending"


@then(
    phrase(
        "at most the target's verify attempts of the parallel answers were checked, every other one refused with "
        '429 "over_request_rate_limit"'
    )
)
def parallel_guesses_limited(world: World) -> None:
    """Checked: answered by comparing the code (200, or 422 mfa_verification_failed). Once one was accepted
    the challenge is spent, so later ones may also be refused as 422 mfa_ip_address_mismatch."""
    outcomes = [(response.status_code, error_code(response)) for response in world.parallel_responses]
    accepted = outcomes.count((200, None))
    checked = accepted + outcomes.count((422, "mfa_verification_failed"))
    limit = world.target.mfa_verify_attempts
    assert checked <= limit, f"{checked} answers were checked ({accepted} accepted), more than the {limit} allowed"
    allowed = {(200, None), (422, "mfa_verification_failed"), (429, "over_request_rate_limit")}
    allowed |= {(422, "mfa_ip_address_mismatch")} if accepted else set()
    unexpected = [outcome for outcome in outcomes if outcome not in allowed]
    assert not unexpected, f"unexpected answers {unexpected}; all answers {sorted(set(outcomes))}"


@then(
    phrase(
        'unless one of them was accepted, "{name}" verifying a new challenge with the current code is refused with '
        '429 "over_request_rate_limit"'
    )
)
def locked_unless_accepted(world: World, name: str) -> None:
    if any(response.status_code == 200 for response in world.parallel_responses):
        return
    verify_on_new_challenge(world, name, code_at(factor_of(world, name)["secret"]))
    assert_refused(world.last(), 429, "over_request_rate_limit")


@then(phrase('every earlier attempt was refused with {status:d} "{code}"'), converters={"status": int})
def earlier_attempts_refused(world: World, status: int, code: str) -> None:
    for response in world.remembered["attempts"][:-1]:
        assert_refused(response, status, code)
