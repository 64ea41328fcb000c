"""Steps of mail-pkce: mailed links asked for with a code_challenge, opened, and their auth code exchanged."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.mailbox import open_link
from guestpass.conformance.steps.anonymous import adopt_anonymous, sign_in_anonymously
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.core import new_password, register
from guestpass.conformance.steps.mail import confirming_target, receive_for, signed_up_and_confirmed
from guestpass.conformance.steps.merge import MERGE_FIELD
from guestpass.conformance.steps.oauth import s256
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_out
from guestpass.conformance.world import Actor, World, unique_email

VERIFIER = "pkce verifier"
LINK_REDIRECT = "pkce link redirect"
MAX_FLOW_WAIT = 30.0
SESSION_KEYS = ("access_token", "refresh_token")


def require_capture(world: World) -> None:
    if world.mail is None:
        pytest.skip("not applicable: a PKCE link is read from the mail, which needs the capture SMTP server")


def challenge(world: World, method: str = "s256") -> dict[str, str]:
    """A new code verifier, remembered, and the body fields of its challenge."""
    verifier = secrets.token_urlsafe(48)
    world.remembered[VERIFIER] = verifier
    return {"code_challenge": s256(verifier) if method == "s256" else verifier, "code_challenge_method": method}


def expect_ok(response: httpx.Response, what: str) -> dict[str, Any]:
    assert response.status_code == 200, f"{what}: {unexpected_status(200, response)}"
    return json_body(response)


def open_mailed(world: World, actor: Actor, kind: str) -> httpx.Response:
    mail = receive_for(world, actor, kind)
    assert mail.link, f"the {kind} mail carries no link"
    response = world.record(open_link(world, mail.link))
    if response.is_redirect:
        world.remembered[LINK_REDIRECT] = response.headers.get("location", "")
    return response


def redirect_parts(world: World) -> tuple[dict[str, str], dict[str, str]]:
    location = world.remembered.get(LINK_REDIRECT)
    assert location, f"opening the link did not redirect: {unexpected_status(303, world.last())}"
    parts = urlsplit(location)
    flat = [{key: values[0] for key, values in parse_qs(raw).items()} for raw in (parts.query, parts.fragment)]
    return flat[0], flat[1]


def signup_confirmation(world: World, actor: Actor) -> None:
    confirming_target(world)
    actor.email, actor.password = unique_email(actor.name), new_password()
    body = {"email": actor.email, "password": actor.password, **challenge(world)}
    user = expect_ok(world.client.request("POST", "/signup", json=body), "POST /signup")
    assert "access_token" not in user, "the signup answered a session: the address was not left to confirm"
    actor.user_id = user.get("id")
    open_mailed(world, actor, "signup")


def magic_link(world: World, actor: Actor) -> None:
    register(world, actor)
    body = {"email": actor.email, "create_user": False, **challenge(world)}
    expect_ok(world.client.request("POST", "/otp", json=body), "POST /otp")
    open_mailed(world, actor, "sign-in")


def recovery(world: World, actor: Actor) -> None:
    register(world, actor)
    expect_ok(
        world.client.request("POST", "/recover", json={"email": actor.email, **challenge(world)}), "POST /recover"
    )
    open_mailed(world, actor, "recovery")


def change_email(world: World, actor: Actor) -> None:
    actor.new_email = unique_email(actor.name)
    body = {"email": actor.new_email, **challenge(world)}
    response = world.client.request("PUT", "/user", token=actor.access_token(), json=body)
    expect_ok(response, "PUT /user")


def email_change(world: World, actor: Actor) -> None:
    """Both addresses confirm when the target asks both (secure email change): the first link opened
    answers a message, the second the code."""
    confirming_target(world)
    signed_up_and_confirmed(world, actor.name)
    change_email(world, actor)
    open_mailed(world, actor, "email change (new)")
    query, fragment = redirect_parts(world)
    if "code" not in query and "error_code" not in query and "error_code" not in fragment:
        for values in (query, fragment):
            assert not set(SESSION_KEYS) & set(values), "the first of two confirmations redirected with a session"
        open_mailed(world, actor, "email change (current)")


def anonymous_conversion(world: World, actor: Actor) -> None:
    confirming_target(world)
    adopt_anonymous(world, actor.name, sign_in_anonymously(world))
    assert actor.user_id, "setup: the anonymous sign-in failed"
    actor.email = None
    change_email(world, actor)
    actor.email = actor.new_email
    open_mailed(world, actor, "email change (new)")


FLOWS = {
    "signup confirmation": signup_confirmation,
    "magic link": magic_link,
    "recovery": recovery,
    "email change": email_change,
    "anonymous conversion": anonymous_conversion,
}


def exchange(world: World, name: str, verifier: str, extra: dict[str, Any] | None = None) -> httpx.Response:
    code = redirect_parts(world)[0].get("code")
    assert code, "the link's redirect carries no code"
    body = {"auth_code": code, "code_verifier": verifier, **(extra or {})}
    world.remembered.setdefault(f"user_id:{name}", world.actor(name).user_id)
    response = world.record(world.client.request("POST", "/token?grant_type=pkce", json=body))
    if response.status_code == 200:
        world.actor(name).adopt(json_body(response))
    return response


# --- given -------------------------------------------------------------------------------------------


@given(phrase("the target's PKCE flows expire within {seconds:d} seconds"), converters={"seconds": int})
def flows_expire_soon(world: World, seconds: int) -> None:
    ttl = world.target.mail.flow_ttl
    if ttl is None or ttl > seconds:
        pytest.skip(f"not applicable: the target's [mail] flow_ttl is {ttl}, not at most {seconds} s")


@given("a target that confirms email addresses by mail, with its data API")
def confirming_target_with_data(world: World) -> None:
    """The data API of the server the scenario now talks to: the target's own, or the one a variant serves
    at the same place relative to its base URL (a variant on another origin gets none)."""
    require_capture(world)
    confirming_target(world)
    base, data, used = world.target.base_url, world.target.data_base_url, world.client.base_url
    if data and used != base:
        origin, data_origin = urlsplit(base), urlsplit(data)
        if (origin.scheme, origin.netloc) != (data_origin.scheme, data_origin.netloc):
            pytest.skip("not applicable: the variant's data API cannot be told from the target file")
        data = urlsplit(used)._replace(path=data_origin.path).geturl()
    world.target = dataclasses.replace(world.target, data_base_url=data)


# --- when --------------------------------------------------------------------------------------------


@when(phrase('"{name}" asks for a {flow} mail with PKCE and opens its link'))
def asks_with_pkce(world: World, name: str, flow: str) -> None:
    require_capture(world)
    assert flow in FLOWS, f"unknown flow {flow!r}: one of {', '.join(FLOWS)}"
    FLOWS[flow](world, world.actor(name))


@when(phrase('"{name}" adds a new email address with PKCE and opens the mailed link'))
def adds_email_with_pkce(world: World, name: str) -> None:
    actor = world.actor(name)
    change_email(world, actor)
    actor.email = actor.new_email
    open_mailed(world, actor, "email change (new)")


@when(phrase('"{name}" exchanges the auth code of the link with their code verifier'))
def exchanges(world: World, name: str) -> None:
    exchange(world, name, world.remembered[VERIFIER])


@when(phrase('"{name}" exchanges the auth code of the link with their code verifier again'))
def exchanges_again(world: World, name: str) -> None:
    exchange(world, name, world.remembered[VERIFIER])


@when(phrase('"{name}" exchanges the auth code of the link with a wrong code verifier'))
def exchanges_wrongly(world: World, name: str) -> None:
    exchange(world, name, secrets.token_urlsafe(48))


@when(phrase('"{name}" exchanges the auth code of the link carrying the anonymous refresh token of "{anon}"'))
def exchanges_merging(world: World, name: str, anon: str) -> None:
    exchange(world, name, world.remembered[VERIFIER], {MERGE_FIELD: world.actor(anon).refresh_token()})


@when("the PKCE flow's lifetime has passed")
def flow_lifetime_passed(world: World) -> None:
    ttl = world.target.mail.flow_ttl
    assert ttl is not None and ttl <= MAX_FLOW_WAIT
    wait_out(ttl)


@when(phrase('"{name}" asks for a recovery mail with PKCE'))
def asks_recovery_with_pkce(world: World, name: str) -> None:
    require_capture(world)
    actor = world.actor(name)
    expect_ok(
        world.client.request("POST", "/recover", json={"email": actor.email, **challenge(world)}), "POST /recover"
    )
    receive_for(world, actor, "recovery")


@when(phrase('"{name}" posts the code of the PKCE mail to /verify'))
def posts_code(world: World, name: str) -> None:
    actor = world.actor(name)
    mail = world.remembered[f"mail:{name}:recovery"]
    world.record(
        world.client.request("POST", "/verify", json={"type": "recovery", "email": actor.email, "token": mail.code})
    )


@when(phrase('"{name}" posts the token_hash of the PKCE mail\'s link to /verify'))
def posts_token_hash(world: World, name: str) -> None:
    mail = world.remembered[f"mail:{name}:recovery"]
    assert mail.token_hash, "the mail's link carries no token"
    world.record(world.client.request("POST", "/verify", json={"type": "recovery", "token_hash": mail.token_hash}))


# (request, what the body needs besides the PKCE fields)
REQUESTS = {
    "signup": ("/signup", lambda: {"email": unique_email("pkce"), "password": new_password()}),
    "sign-in": ("/otp", lambda: {"email": unique_email("pkce")}),
    "recovery": ("/recover", lambda: {"email": unique_email("pkce")}),
}


@when(phrase("a client asks for a {kind} mail with a code_challenge and no code_challenge_method"))
def asks_without_method(world: World, kind: str) -> None:
    path, body = REQUESTS[kind]
    fields = challenge(world)
    world.record(world.client.request("POST", path, json={**body(), "code_challenge": fields["code_challenge"]}))


@when(phrase('a client asks for a {kind} mail with the code_challenge_method "{method}"'))
def asks_with_method(world: World, kind: str, method: str) -> None:
    path, body = REQUESTS[kind]
    world.record(world.client.request("POST", path, json={**body(), **challenge(world, method)}))


# --- then --------------------------------------------------------------------------------------------


@then("the link redirects to the site with an auth code and no session")
def redirects_with_code(world: World) -> None:
    query, fragment = redirect_parts(world)
    assert query.get("code"), f"the redirect's query carries no code: {sorted(query)}, fragment {sorted(fragment)}"
    for where, values in (("query", query), ("fragment", fragment)):
        leaked = [key for key in (*SESSION_KEYS, "provider_token") if key in values]
        assert not leaked, f"the redirect's {where} carries {leaked}"
