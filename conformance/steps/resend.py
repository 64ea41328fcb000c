"""Steps of POST /resend (signup confirmations and email changes mailed again) and of the email identity's
email_verified flag. Resends wait out the target's per-address send interval first."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import then, when

from guestpass.conformance.mailbox import QUIET_SECONDS, receive
from guestpass.conformance.steps.common import assert_refused, json_body, unexpected_status
from guestpass.conformance.steps.mail import mail_of, remember_mail, verify_code
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_out
from guestpass.conformance.world import Actor, World, unique_email

MAX_INTERVAL_WAIT = 30.0


def needs_capture(world: World) -> None:
    if world.mail is None:
        pytest.skip("not applicable: counting the mails a resend sends needs the capture SMTP server")


def wait_send_interval(world: World) -> None:
    interval = world.target.mail.send_interval
    if interval is None or interval > MAX_INTERVAL_WAIT:
        pytest.skip(f"not applicable: the target's mail send_interval is {interval}, not at most 30 s")
    wait_out(interval)


def ask_resend(world: World, kind: str, email: str) -> None:
    """POST /resend, remembering how many mails the address had had before it."""
    if world.mail is not None:
        world.remembered[f"mails before resend:{email}"] = len(world.mail.messages_to(email))
    world.record(world.client.request("POST", "/resend", json={"type": kind, "email": email}))


def latest_mail(world: World, actor: Actor, address: str, kind: str) -> None:
    """Reads every mail to `address` so far; the latest is the one the next verify uses."""
    needs_capture(world)
    remember_mail(world, actor.name, kind, receive(world, address, kind, email=actor.email or ""))


@when(phrase('"{name}" receives the signup mail'))
def receives_signup_mail(world: World, name: str) -> None:
    actor = world.actor(name)
    latest_mail(world, actor, actor.email or "", "signup")
    world.remembered[f"first signup code:{name}"] = mail_of(world, name, "signup").code


@when(phrase('"{name}" asks again for the signup confirmation once the send interval has passed'))
def resends_signup(world: World, name: str) -> None:
    wait_send_interval(world)
    address = world.actor(name).email or ""
    if world.mail is not None:  # the resent mail is one that comes after the request, not a late or repeated first
        world.remembered[f"mails before the resend:{name}"] = len(world.mail.messages_to(address))
    ask_resend(world, "signup", address)


@when(phrase('"{name}" asks again for the signup confirmation right away'))
def resends_signup_now(world: World, name: str) -> None:
    ask_resend(world, "signup", world.actor(name).email or "")


@when(phrase('"{name}" asks again for the email change mails once the send interval has passed'))
def resends_email_change(world: World, name: str) -> None:
    wait_send_interval(world)
    current = world.actor(name).email or ""
    if world.mail is not None:  # a server may mail after answering: wait for the resent mail, not the first
        world.remembered["resend:current"] = (current, len(world.mail.messages_to(current)))
    ask_resend(world, "email_change", world.actor(name).email or "")


@when(phrase('a client asks for the signup confirmation of the unregistered address "{name}"'))
def resends_unknown(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email = unique_email(name)
    ask_resend(world, "signup", actor.email)


@then(phrase('"{name}" receives a second signup mail with another code'))
def second_signup_mail(world: World, name: str) -> None:
    actor = world.actor(name)
    first = world.remembered.get(f"first signup code:{name}")
    before = world.remembered.get(f"mails before the resend:{name}", 0)
    world.mail_read[actor.email or ""] = max(world.mail_read.get(actor.email or "", 0), before)
    latest_mail(world, actor, actor.email or "", "signup")
    assert world.mail_read.get(actor.email or "", 0) >= 2, f"no second signup mail reached {actor.email}"
    assert mail_of(world, name, "signup").code != first, "the resent mail carries the first code again"


@when(phrase('"{name}" verifies the code of the first signup mail'))
def verifies_first_code(world: World, name: str) -> None:
    actor = world.actor(name)
    body = {"type": "signup", "email": actor.email, "token": world.remembered[f"first signup code:{name}"]}
    world.record(world.client.request("POST", "/verify", json=body))


@when(phrase('"{name}" verifies the code of the latest signup mail'))
def verifies_latest_code(world: World, name: str) -> None:
    actor = world.actor(name)
    response = world.record(verify_code(world, actor, "signup", "signup"))
    if response.status_code == 200 and "access_token" in json_body(response):
        actor.adopt(json_body(response))


@then("the response is 200 with an empty object")
def empty_object(world: World) -> None:
    response = world.last()
    assert response.status_code == 200, unexpected_status(200, response)
    assert json_body(response) == {}, f"expected {{}}, got {response.text[:200]!r}"


@then(phrase('the resend mails nothing to the address of "{name}"'))
def resend_mailed_nothing(world: World, name: str) -> None:
    needs_capture(world)
    assert world.mail is not None
    address = world.actor(name).email or ""
    before = world.remembered[f"mails before resend:{address}"]
    found = world.mail.wait_for(address, before + 1, timeout=QUIET_SECONDS)
    assert len(found) <= before, f"the resend mailed {address}: {found[-1].subject!r}"


@then(phrase('the resend is refused with {status:d} "{code}"'), converters={"status": int})
def resend_refused(world: World, status: int, code: str) -> None:
    assert_refused(world.last(), status, code)


# --- the email identity ------------------------------------------------------------------------------


def email_identity(user: dict[str, Any]) -> dict[str, Any]:
    found = [identity for identity in user.get("identities") or [] if identity.get("provider") == "email"]
    assert found, f"the user has no email identity: {user.get('identities')!r}"
    return found[0].get("identity_data") or {}


@then(phrase("the email identity of the response says email_verified is {value}"))
def identity_verified_in_response(world: World, value: str) -> None:
    body = json_body(world.last())
    user = body.get("user", body)
    actual = email_identity(user).get("email_verified")
    assert actual is (value == "true"), f"identity_data.email_verified is {actual!r}, expected {value}"


@then(phrase('the email identity of "{name}" says email_verified is {value}'))
def identity_verified_of(world: World, name: str, value: str) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, f"GET /user: {unexpected_status(200, response)}"
    actual = email_identity(json_body(response)).get("email_verified")
    assert actual is (value == "true"), f"identity_data.email_verified is {actual!r}, expected {value}"


@then(phrase('the resend mails the new address of "{name}" again'))
def resend_mailed_new_address(world: World, name: str) -> None:
    needs_capture(world)
    assert world.mail is not None
    address = world.actor(name).new_email or ""
    found = world.mail.wait_for(address, 2)
    assert len(found) >= 2, f"{len(found)} mail(s) reached {address}: the pending change was not mailed again"
    current, before = world.remembered.get("resend:current", ("", 0))
    if before and world.mail.messages_to(current):  # secure email change: the current address is mailed again
        found = world.mail.wait_for(current, before + 1)
        assert len(found) > before, f"{len(found)} mail(s) reached {current}: the pending change was not mailed again"
