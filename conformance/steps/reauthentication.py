"""Steps of the reauthentication capability: GET /reauthenticate mails a nonce, and a server that requires
reauthentication (the target's password_reauthentication variant) takes it with a password change."""

from __future__ import annotations

import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.mailbox import receive
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.core import new_password, sign_in
from guestpass.conformance.steps.mail import codes_expired, mail_of, remember_mail
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World

PASSWORD_REAUTHENTICATION = "password_reauthentication"
KIND = "reauthentication"


@given("a target that requires reauthentication for password changes")
def reauthenticating_target(world: World) -> None:
    url = world.target.variants.get(PASSWORD_REAUTHENTICATION)
    if not url:
        pytest.skip("not applicable: the target names no password_reauthentication variant")
    world.client.base_url = url.rstrip("/")


@when(phrase('"{name}" asks for a reauthentication code'))
def asks_reauthentication(world: World, name: str) -> None:
    world.record(world.client.request("GET", "/reauthenticate", token=world.actor(name).access_token()))


@given(phrase('"{name}" has received a reauthentication code'))
def has_reauthentication_code(world: World, name: str) -> None:
    asks_reauthentication(world, name)
    assert world.last().status_code == 200, f"setup: GET /reauthenticate: {unexpected_status(200, world.last())}"
    receives_nonce(world, name)


@then(phrase('"{name}" receives a reauthentication mail with a six-digit code'))
def receives_nonce(world: World, name: str) -> None:
    if world.mail is None:
        pytest.skip("not applicable: the reauthentication code is only mailed (generate_link has no such type)")
    actor = world.actor(name)
    mail = remember_mail(world, name, KIND, receive(world, actor.email or "", KIND, email=actor.email or ""))
    assert mail.code and mail.code.isdigit() and len(mail.code) == 6, f"no six-digit code in the mail: {mail.code!r}"


def change_password(world: World, name: str, nonce: str | None) -> None:
    actor = world.actor(name)
    password = new_password()
    body = {"password": password, **({"nonce": nonce} if nonce is not None else {})}
    response = world.record(world.client.request("PUT", "/user", token=actor.access_token(), json=body))
    if response.status_code == 200:
        world.remembered[f"old password:{name}"], actor.password = actor.password, password


@when(phrase('"{name}" changes their password without a nonce'))
def changes_password_without_nonce(world: World, name: str) -> None:
    change_password(world, name, None)


@when(phrase('"{name}" changes their password with a nonce that was not mailed'))
def changes_password_wrong_nonce(world: World, name: str) -> None:
    code = mail_of(world, name, KIND).code or "000000"
    change_password(world, name, f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}")


@when(phrase('"{name}" changes their password with the mailed nonce'))
def changes_password_with_nonce(world: World, name: str) -> None:
    change_password(world, name, mail_of(world, name, KIND).code)


@when("the mailed nonce has expired")
def nonce_expired(world: World) -> None:
    codes_expired(world)


@then(phrase('"{name}" can sign in with the new password'))
def signs_in_with_new_password(world: World, name: str) -> None:
    response = sign_in(world, world.actor(name))
    assert response.status_code == 200, f"the new password: {unexpected_status(200, response)}"
    assert "access_token" in json_body(response)
