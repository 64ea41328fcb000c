"""Steps for core: sign-up, sign-in, tokens, refresh, logout and the user object."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from guestpass.conformance import jwt_tools
from guestpass.conformance.parallel import run_together
from guestpass.conformance.session_check import USER_FIELDS
from guestpass.conformance.steps.common import assert_refused, json_body, split_request, unexpected_status
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_out
from guestpass.conformance.world import DEFAULT_DEVICE, Actor, World, unique_email

ON_DEVICE = r'(?: on "(?P<device>[^"]+)")?'
UUID_LENGTH = 36


def new_password() -> str:
    return "gp-" + secrets.token_urlsafe(12)


# --- helpers shared by the step modules ------------------------------------------------------------


def register(world: World, actor: Actor) -> None:
    """A confirmed email user, made through the admin API when the target shares its service key."""
    actor.email, actor.password = unique_email(actor.name), new_password()
    body = {"email": actor.email, "password": actor.password}
    if world.target.service_role_key:
        response = world.client.request(
            "POST", "/admin/users", token=world.target.service_role_key, json={**body, "email_confirm": True}
        )
    else:
        response = world.client.request("POST", "/signup", json=body)
    assert response.status_code == 200, f"setup: registering {actor.name}: {unexpected_status(200, response)}"
    body = json_body(response)
    if world.target.service_role_key:
        actor.user_id = body["id"]
    else:
        actor.user_id = end_signup_session(world, body)


def end_signup_session(world: World, body: dict[str, Any]) -> str:
    """A user registered through /signup starts with no session of its own, as one made by the admin API."""
    if "access_token" not in body:
        pytest.skip(
            "not applicable: the target file gives no service_role key and the server does not confirm "
            "addresses at signup, so the suite cannot register a confirmed user"
        )
    world.client.request("POST", "/logout?scope=local", token=body["access_token"])
    return body["user"]["id"]


def password_grant(world: World, email: str, password: str, **extra: Any) -> httpx.Response:
    body = {"email": email, "password": password, **extra}
    return world.client.request("POST", "/token?grant_type=password", json=body)


def sign_in(world: World, actor: Actor, device: str = DEFAULT_DEVICE) -> httpx.Response:
    assert actor.email and actor.password, f"{actor.name} has no email and password"
    response = world.record(password_grant(world, actor.email, actor.password))
    if response.status_code == 200:
        actor.adopt(json_body(response), device)
    return response


def refresh(world: World, refresh_token: str) -> httpx.Response:
    return world.client.request("POST", "/token?grant_type=refresh_token", json={"refresh_token": refresh_token})


def session_of_last_response(world: World) -> dict[str, Any]:
    body = json_body(world.last())
    assert isinstance(body, dict) and "access_token" in body, "the response is not a session"
    return body


def last_claims(world: World) -> dict[str, Any]:
    return jwt_tools.claims_of(session_of_last_response(world)["access_token"])


SESSION_FIELDS: dict[str, type] = {
    "access_token": str,
    "refresh_token": str,
    "token_type": str,
    "expires_in": int,
    "expires_at": int,
}


def assert_fields(value: Any, name: str, fields: dict[str, type]) -> None:
    assert isinstance(value, dict), f"the {name} is not a JSON object"
    for key, kind in fields.items():
        actual = value.get(key)
        assert isinstance(actual, kind) and (kind is bool or not isinstance(actual, bool)), (
            f"{name}.{key} is {actual!r}, expected {kind.__name__}"
        )


def assert_user_shape(user: Any) -> None:
    assert_fields(user, "user", USER_FIELDS)
    assert len(user["id"]) == UUID_LENGTH, f"user.id {user['id']!r} is not a UUID"


def assert_session_shape(session: Any) -> None:
    assert_fields(session, "session", SESSION_FIELDS)
    assert session["token_type"].lower() == "bearer", f"token_type is {session['token_type']!r}"
    assert session["refresh_token"], "the refresh token is empty"
    assert_user_shape(session.get("user"))


# --- given -------------------------------------------------------------------------------------------


@given("the target confirms email sign-ups automatically")
def target_autoconfirms(world: World) -> None:
    response = world.client.request("GET", "/settings")
    if response.status_code != 200 or json_body(response).get("mailer_autoconfirm") is not True:
        pytest.skip("not applicable: the target does not confirm email sign-ups automatically")


@given(phrase('a registered user "{name}"'))
def registered_user(world: World, name: str) -> None:
    register(world, world.actor(name))


@given(phrase('a registered user "{name}" who has signed in'))
def registered_signed_in(world: World, name: str) -> None:
    actor = world.actor(name)
    register(world, actor)
    assert sign_in(world, actor).status_code == 200, f"setup: {name} could not sign in"


@given(phrase('a registered user "{name}" who is signed in on "{first}" and on "{second}"'))
def registered_two_devices(world: World, name: str, first: str, second: str) -> None:
    actor = world.actor(name)
    register(world, actor)
    for device in (first, second):
        assert sign_in(world, actor, device).status_code == 200, f"setup: {name} could not sign in on {device}"


@given(phrase('"{name}" has refreshed their session'))
def has_refreshed(world: World, name: str) -> None:
    actor = world.actor(name)
    response = world.record(refresh(world, actor.refresh_token()))
    assert response.status_code == 200, f"setup: refreshing failed with {response.status_code}"
    actor.adopt(json_body(response))


@given(phrase('"{name}" has set their user metadata to'))
def has_set_metadata(world: World, name: str, docstring: str) -> None:
    response = world.client.request(
        "PUT", "/user", token=world.actor(name).access_token(), json={"data": json.loads(docstring)}
    )
    assert response.status_code == 200, f"setup: PUT /user failed with {response.status_code}"
    world.remembered[f"user_metadata:{name}"] = json_body(response)["user_metadata"]


# --- when --------------------------------------------------------------------------------------------


@when(phrase('"{name}" signs up with a new email and a password'))
def signs_up(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    response = world.record(
        world.client.request("POST", "/signup", json={"email": actor.email, "password": actor.password})
    )
    if response.status_code == 200 and "access_token" in json_body(response):
        actor.adopt(json_body(response))
    elif response.status_code == 200:
        actor.user_id = json_body(response).get("id")


@when(phrase('"{name}" signs up with a new email and the password "{password}"'))
def signs_up_with_password(world: World, name: str, password: str) -> None:
    world.record(world.client.request("POST", "/signup", json={"email": unique_email(name), "password": password}))


@when(phrase('"{name}" signs up with the email of "{other}"'))
def signs_up_taken(world: World, name: str, other: str) -> None:
    world.record(
        world.client.request("POST", "/signup", json={"email": world.actor(other).email, "password": new_password()})
    )


@when(phrase('"{name}" signs in with their password'))
def signs_in(world: World, name: str) -> None:
    sign_in(world, world.actor(name))


@when(phrase('"{name}" signs in with the password "{password}"'))
def signs_in_with(world: World, name: str, password: str) -> None:
    world.record(password_grant(world, world.actor(name).email or "", password))


@when(phrase('"{name}" signs in with an unregistered email'))
def signs_in_unknown(world: World, name: str) -> None:
    world.record(password_grant(world, unique_email(name), new_password()))


@when(parsers.re(r'"(?P<name>[^"]+)"' + ON_DEVICE + r' (?:sends|requests) "(?P<request>[^"]+)"$'))
def actor_sends(world: World, name: str, device: str | None, request: str) -> None:
    token = world.actor(name).access_token(device or DEFAULT_DEVICE)
    world.record(world.client.request(*split_request(request), token=token))


@when(phrase('"{name}" sends "{request}" with JSON'))
def actor_sends_json(world: World, name: str, request: str, docstring: str) -> None:
    token = world.actor(name).access_token()
    world.record(world.client.request(*split_request(request), token=token, json=json.loads(docstring)))


FORGERIES = {
    "their access token tampered with": jwt_tools.tampered,
    "their claims in an unsigned token": jwt_tools.unsigned,
    "their claims signed by a foreign key": jwt_tools.foreign_signed,
}


# forgeries only the server's own key can sign
SERVER_SIGNED = {
    "their claims re-signed by the server's key and expired": jwt_tools.expired,
    "their claims re-signed by the server's key under an unknown key id": jwt_tools.with_unknown_key_id,
    "their claims re-signed by the server's key for a foreign issuer": jwt_tools.from_foreign_issuer,
    "their claims re-signed by the server's key for a foreign audience": jwt_tools.for_foreign_audience,
    "their claims re-signed by the server's key to be valid only from an hour ahead": jwt_tools.not_valid_yet,
}
KEYED_WITH_PUBLIC_KEY = "their claims signed HS256 with that public key"
JWKS_PATH = "/.well-known/jwks.json"


@when(phrase('"{name}" requests "{request}" with {forgery}'))
def actor_sends_forged(world: World, name: str, request: str, forgery: str) -> None:
    token = world.actor(name).access_token()
    if forgery == KEYED_WITH_PUBLIC_KEY:
        send_keyed_with_public_key(world, request, token)
        return
    if forgery in SERVER_SIGNED:
        key = jwt_tools.server_signing_key(world.target)
        if key is None:
            pytest.skip("not applicable: the target file shares no signing key to make such a token with")
        forged = SERVER_SIGNED[forgery](token, *key)
    else:
        forged = FORGERIES[forgery](token)
    world.record(world.client.request(*split_request(request), token=forged))


@given(phrase('"{name}"\'s access token names its signing key'))
def token_names_key(world: World, name: str) -> None:
    if not jwt_tools.header_of(world.actor(name).access_token()).get("kid"):
        pytest.skip("not applicable: the target's access tokens name no key (no kid header)")


@given(phrase('the public key that verifies "{name}"\'s access token'))
def verifying_public_key(world: World, name: str) -> None:
    """From the target's JWKS, or else from the private key the target file shares."""
    header = jwt_tools.header_of(world.actor(name).access_token())
    if str(header.get("alg", "")).startswith("HS"):
        pytest.skip("not applicable: the target signs its access tokens with a shared secret, not a key pair")
    response = world.client.request("GET", JWKS_PATH)
    try:
        jwks = response.json() if response.is_success else None
    except ValueError:
        jwks = None
    public_key = jwt_tools.published_public_key(jwks, header.get("kid")) or jwt_tools.shared_public_key(world.target)
    if public_key is None:
        pytest.skip(f"not applicable: the target publishes no key for its access tokens at {JWKS_PATH}")
    world.remembered["public_key"] = public_key


def send_keyed_with_public_key(world: World, request: str, token: str) -> None:
    """One request per form of the public key used as the HMAC secret."""
    world.remembered["forged_responses"] = {
        form: world.record(world.client.request(*split_request(request), token=jwt_tools.hs256_signed(token, secret)))
        for form, secret in jwt_tools.public_key_secrets(world.remembered["public_key"]).items()
    }


@when(phrase('"{name}"\'s account is deleted'))
def account_deleted(world: World, name: str) -> None:
    """By the user (self-delete) or else by the service role (admin), whichever the target claims."""
    actor = world.actor(name)
    if world.target.claims("self-delete"):
        expected, response = 204, world.client.request("DELETE", "/user", token=actor.access_token())
    elif world.target.claims("admin") and world.target.service_role_key:
        token = world.target.service_role_key
        expected, response = 200, world.client.request("DELETE", f"/admin/users/{actor.user_id}", token=token)
    else:
        pytest.skip("not applicable: the target claims neither self-delete nor admin, so no user can be deleted")
    world.record(response)
    assert response.status_code == expected, f"deleting {name}: {unexpected_status(expected, response)}"


@when(phrase('"{name}" refreshes their session'))
def refreshes(world: World, name: str) -> None:
    actor = world.actor(name)
    world.remembered["previous_session"] = actor.session()
    response = world.record(refresh(world, actor.refresh_token()))
    if response.status_code == 200:
        actor.adopt(json_body(response))


@when(phrase('"{name}" refreshes with their previous refresh token after the reuse interval'))
def refreshes_reused(world: World, name: str) -> None:
    wait_out(world.target.refresh_token_reuse_interval)
    world.record(refresh(world, world.actor(name).spent_refresh_tokens[-1]))


@when(phrase('"{name}" refreshes with their first refresh token after the reuse interval'))
def refreshes_first_token(world: World, name: str) -> None:
    wait_out(world.target.refresh_token_reuse_interval)
    world.record(refresh(world, world.actor(name).spent_refresh_tokens[0]))


@when(phrase('"{name}" refreshes with their first refresh token'))
def refreshes_first_token_at_once(world: World, name: str) -> None:
    world.record(refresh(world, world.actor(name).spent_refresh_tokens[0]))


@when("the reuse interval has passed")
def reuse_interval_passes(world: World) -> None:
    wait_out(world.target.refresh_token_reuse_interval)


@when(phrase('"{name}" refreshes {count:d} times in parallel with the same refresh token'), converters={"count": int})
def refreshes_in_parallel(world: World, name: str, count: int) -> None:
    actor = world.actor(name)
    token = actor.refresh_token()
    world.parallel_responses = run_together([lambda: refresh(world, token)] * count)
    successes = [r for r in world.parallel_responses if r.status_code == 200]
    if successes:
        actor.adopt(json_body(successes[-1]))


@when(parsers.re(r'"(?P<name>[^"]+)"' + ON_DEVICE + r" changes their password$"))
def changes_password(world: World, name: str, device: str | None) -> None:
    actor = world.actor(name)
    world.remembered["old_password"], actor.password = actor.password, new_password()
    world.record(
        world.client.request(
            "PUT", "/user", token=actor.access_token(device or DEFAULT_DEVICE), json={"password": actor.password}
        )
    )


@when(phrase("{count:d} clients sign up with the same new email in parallel"), converters={"count": int})
def parallel_signups(world: World, count: int) -> None:
    email = unique_email("race")
    calls = [lambda: world.client.request("POST", "/signup", json={"email": email, "password": new_password()})]
    world.parallel_responses = run_together(calls * count)


# --- then --------------------------------------------------------------------------------------------


@then("the response is a session")
def response_is_session(world: World) -> None:
    assert_session_shape(json_body(world.last()))


@then(phrase('the session\'s user is permanent with the email of "{name}"'))
def session_user_permanent(world: World, name: str) -> None:
    user = session_of_last_response(world)["user"]
    assert user["is_anonymous"] is False, "the user is anonymous"
    assert user["email"] == world.actor(name).email, f"user.email is {user['email']!r}"


def _providers(user: dict[str, Any]) -> list[str]:
    return sorted(identity.get("provider") for identity in user.get("identities") or [])


@then(phrase('the session\'s user has exactly the identities "{providers}"'))
def session_user_identities(world: World, providers: str) -> None:
    expected = sorted(p.strip() for p in providers.split(","))
    actual = _providers(session_of_last_response(world)["user"])
    assert actual == expected, f"identities are {actual}, expected {expected}"


@then(phrase('the response user has exactly the identities "{providers}"'))
def response_user_identities(world: World, providers: str) -> None:
    expected = sorted(p.strip() for p in providers.split(","))
    actual = _providers(json_body(world.last()))
    assert actual == expected, f"identities are {actual}, expected {expected}"


@then("the access token carries the full claim set")
def full_claim_set(world: World) -> None:
    claims = last_claims(world)
    missing = [claim for claim in jwt_tools.REQUIRED_CLAIMS if claim not in claims]
    assert not missing, f"the access token lacks the claims {missing}"
    assert claims["aal"] in ("aal1", "aal2"), f"aal is {claims['aal']!r}"
    assert isinstance(claims["amr"], list) and all(
        isinstance(entry, dict) and "method" in entry and isinstance(entry.get("timestamp"), int)
        for entry in claims["amr"]
    ), f"amr is not a list of {{method, timestamp}}: {claims['amr']!r}"
    assert claims["sub"] == session_of_last_response(world)["user"]["id"], "sub is not the session's user id"


@then(phrase('the access token claim "{claim}" is "{text}"'))
def claim_is_text(world: World, claim: str, text: str) -> None:
    actual = last_claims(world).get(claim)
    assert actual == text, f"claim {claim} is {actual!r}, expected {text!r}"


@then(parsers.re(r'the access token claim "(?P<claim>[^"]+)" is (?P<value>true|false)$'))
def claim_is_boolean(world: World, claim: str, value: str) -> None:
    actual = last_claims(world).get(claim)
    assert actual is (value == "true"), f"claim {claim} is {actual!r}, expected {value}"


@then(phrase('the access token\'s amr methods are "{methods}"'))
def amr_methods(world: World, methods: str) -> None:
    actual = [entry.get("method") for entry in last_claims(world).get("amr", [])]
    expected = [m.strip() for m in methods.split(",")]
    assert actual == expected, f"amr methods are {actual}, expected {expected}"


@then(phrase('the access token\'s subject is the user id of "{name}"'))
def subject_is(world: World, name: str) -> None:
    assert last_claims(world)["sub"] == world.actor(name).user_id, "sub is not the user's id"


@then(phrase('the session belongs to "{name}"'))
def session_belongs(world: World, name: str) -> None:
    session = session_of_last_response(world)
    expected = world.remembered.get(f"user_id:{name}", world.actor(name).user_id)
    assert session["user"]["id"] == expected, f"the session's user is {session['user']['id']}, expected {expected}"
    assert jwt_tools.claims_of(session["access_token"])["sub"] == expected, "sub is not the user's id"


@then("the new refresh token differs from the previous one")
def refresh_token_rotated(world: World) -> None:
    previous = world.remembered["previous_session"]["refresh_token"]
    assert session_of_last_response(world)["refresh_token"] != previous, "the refresh token did not rotate"


@then("the new access token has the same session_id as the previous one")
def same_session_id(world: World) -> None:
    previous = jwt_tools.claims_of(world.remembered["previous_session"]["access_token"])["session_id"]
    assert last_claims(world)["session_id"] == previous, "refreshing started a new session"


@then("the session's expiry matches its access token")
def expiry_matches(world: World) -> None:
    session = session_of_last_response(world)
    claims = jwt_tools.claims_of(session["access_token"])
    assert session["expires_at"] == claims["exp"], f"expires_at {session['expires_at']} != exp {claims['exp']}"
    assert session["expires_in"] == claims["exp"] - claims["iat"], "expires_in is not exp - iat"


@then(parsers.re(r'"(?P<name>[^"]+)"\'s access token' + ON_DEVICE + r" works$"))
def access_token_works(world: World, name: str, device: str | None) -> None:
    actor = world.actor(name)
    response = world.client.request("GET", "/user", token=actor.access_token(device or DEFAULT_DEVICE))
    assert response.status_code == 200, f"GET /user answered {response.status_code}"
    assert json_body(response)["id"] == actor.user_id, "GET /user returned another user"


REFUSED_WITH = r' is refused with (?P<status>\d+) "(?P<code>[^"]+)"(?: or "(?P<other>[^"]+)")?$'


@then(parsers.re(r'"(?P<name>[^"]+)"\'s access token' + ON_DEVICE + REFUSED_WITH), converters={"status": int})
def access_token_refused(
    world: World, name: str, device: str | None, status: int, code: str, other: str | None
) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token(device or DEFAULT_DEVICE))
    assert_refused(response, status, *filter(None, (code, other)))


REFUSED_BY = REFUSED_WITH.removesuffix("$") + r' by (?P<requests>".+")$'
REQUEST_BODIES: dict[str, Any] = {"PUT /user": {"data": {}}}


@then(parsers.re(r'"(?P<name>[^"]+)"\'s access token' + ON_DEVICE + REFUSED_BY), converters={"status": int})
def access_token_refused_by(
    world: World, name: str, device: str | None, status: int, code: str, other: str | None, requests: str
) -> None:
    token = world.actor(name).access_token(device or DEFAULT_DEVICE)
    for request in re.findall(r'"([^"]+)"', requests):
        response = world.client.request(*split_request(request), token=token, json=REQUEST_BODIES.get(request))
        try:
            assert_refused(response, status, *filter(None, (code, other)))
        except AssertionError as error:
            raise AssertionError(f"{request}: {error}") from None


@then(phrase('each of these requests is refused with {status:d} "{code}"'), converters={"status": int})
def each_forged_refused(world: World, status: int, code: str) -> None:
    for form, response in world.remembered["forged_responses"].items():
        try:
            assert_refused(response, status, code)
        except AssertionError as error:
            raise AssertionError(f"with the public key's {form} form as the HMAC secret: {error}") from None


@then(parsers.re(r'"(?P<name>[^"]+)"\'s refresh token' + ON_DEVICE + REFUSED_WITH), converters={"status": int})
def refresh_token_refused(
    world: World, name: str, device: str | None, status: int, code: str, other: str | None
) -> None:
    response = refresh(world, world.actor(name).refresh_token(device or DEFAULT_DEVICE))
    assert_refused(response, status, *filter(None, (code, other)))


@then(phrase('"{name}"\'s user metadata is'))
def user_metadata_is(world: World, name: str, docstring: str) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, f"GET /user answered {response.status_code}"
    actual = json_body(response)["user_metadata"]
    assert actual == json.loads(docstring), f"user_metadata is {actual}"


@then(phrase('"{name}"\'s user metadata is the earlier one updated with'))
def user_metadata_updated(world: World, name: str, docstring: str) -> None:
    """Keys the server itself keeps in user_metadata (GoTrue's email_verified) stay as they were."""
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, f"GET /user answered {response.status_code}"
    expected = world.remembered[f"user_metadata:{name}"] | json.loads(docstring)
    actual = json_body(response)["user_metadata"]
    assert actual == expected, f"user_metadata is {actual}, expected {expected}"


@then(phrase('the response carries "{name}"\'s current refresh token'))
def carries_current_refresh_token(world: World, name: str) -> None:
    issued = session_of_last_response(world)["refresh_token"]
    assert issued == world.actor(name).refresh_token(), "the server answered with a new refresh token: the chain forked"


@then("every parallel response carries the same refresh token")
def parallel_same_refresh_token(world: World) -> None:
    issued = {json_body(response).get("refresh_token") for response in world.parallel_responses}
    assert len(issued) == 1, f"{len(issued)} different refresh tokens for one refresh token: the chain forked"


@then(phrase('"{name}"\'s password is refused with {status:d} "{code}"'), converters={"status": int})
def password_refused(world: World, name: str, status: int, code: str) -> None:
    actor = world.actor(name)
    assert_refused(password_grant(world, actor.email or "", actor.password or ""), status, code)


@when(phrase('"{name}" deletes their account naming the user id of "{other}"'))
def deletes_naming_other(world: World, name: str, other: str) -> None:
    other_id = world.actor(other).user_id
    world.record(
        world.client.request(
            "DELETE",
            f"/user?user_id={other_id}&id={other_id}",
            token=world.actor(name).access_token(),
            json={"id": other_id, "user_id": other_id},
        )
    )


@then(phrase('"{name}" can sign in with their new password'))
def new_password_works(world: World, name: str) -> None:
    actor = world.actor(name)
    response = password_grant(world, actor.email or "", actor.password or "")
    assert response.status_code == 200, f"sign-in with the new password answered {response.status_code}"


@then(phrase('"{name}"\'s old password is refused with {status:d} "{code}"'), converters={"status": int})
def old_password_refused(world: World, name: str, status: int, code: str) -> None:
    response = password_grant(world, world.actor(name).email or "", world.remembered["old_password"])
    assert_refused(response, status, code)
