"""Steps of the security-notifications capability: the mail a server sends when a password, an email
address, an identity or an MFA factor of an account changes, read from the capture SMTP server."""

from __future__ import annotations

import re
import secrets

import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.mailbox import MAIL_WAIT_SECONDS, QUIET_SECONDS
from guestpass.conformance.steps.core import new_password
from guestpass.conformance.steps.oauth import links, provider_login, site_values
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.steps.reauthentication import change_password
from guestpass.conformance.world import World
from guestpass.fixtures.mail import LINK, CapturedMail

SIGN_IN_PARAMETERS = re.compile(r"[?&#](token|token_hash|code|access_token|refresh_token)=", re.IGNORECASE)


def require_capture(world: World) -> None:
    if world.mail is None:
        pytest.skip("not applicable: a notice is read from the capture SMTP server, and generate_link has none")


def unread(world: World, address: str, timeout: float) -> list[CapturedMail]:
    """The mail to `address` that no step has read yet, waiting up to `timeout` for at least one."""
    assert world.mail is not None
    read = world.mail_read.get(address, 0)
    return world.mail.wait_for(address, read + 1, timeout=timeout)[read:]


def assert_notice(world: World, address: str, topic: str, what: str) -> None:
    """The next mail to `address` that mentions `topic` is a notice: no code and no link that signs in.
    Every mail to the address up to it counts as read."""
    require_capture(world)
    assert address, "the scenario has no address to look at"
    read = world.mail_read.get(address, 0)
    found = world.mail.wait_for(address, read + 1, timeout=MAIL_WAIT_SECONDS)  # type: ignore[union-attr]
    for index, mail in enumerate(found[read:], start=read + 1):
        if topic.lower() not in f"{mail.subject}\n{mail.text}".lower():
            continue
        world.mail_read[address] = index
        assert mail.code is None, f"the notice {mail.subject!r} carries the code {mail.code}"
        signing_in = [link for link in LINK.findall(mail.text) if "/verify" in link or SIGN_IN_PARAMETERS.search(link)]
        assert not signing_in, f"the notice {mail.subject!r} carries a link that signs in: {signing_in[0]}"
        return
    subjects = [mail.subject for mail in found[read:]]
    raise AssertionError(f"no notice {what} reached {address} within {MAIL_WAIT_SECONDS:.0f} s (unread: {subjects})")


def assert_nothing_more(world: World, address: str | None) -> None:
    require_capture(world)
    assert address, "the scenario has no address to look at"
    arrived = unread(world, address, QUIET_SECONDS)
    assert not arrived, f"{len(arrived)} more mail(s) reached {address}: {arrived[0].subject!r}"


# --- given and when ----------------------------------------------------------------------------------


@given(phrase('"{name}" has linked their provider account and been told so by mail'))
def has_linked(world: World, name: str) -> None:
    links(world, name)
    assert "access_token" in site_values(world)[1], "setup: the link gave the site no session"
    assert_notice(world, world.actor(name).email or "", world.target.oauth.provider or "", "naming the provider")


@given(phrase('"{name}" has been told by mail that a "{factor_type}" factor was added'))
def told_factor_added(world: World, name: str, factor_type: str) -> None:
    assert_notice(world, world.actor(name).email or "", factor_type, f"naming {factor_type}")


@when(phrase('"{name}" changes their password with a made-up nonce before asking for one'))
def changes_password_made_up_nonce(world: World, name: str) -> None:
    change_password(world, name, f"{secrets.randbelow(10**6):06d}")


@when(phrase('"{name}" changes their password to a one-character password'))
def changes_to_short_password(world: World, name: str) -> None:
    actor = world.actor(name)
    world.record(world.client.request("PUT", "/user", token=actor.access_token(), json={"password": "x"}))


@when(phrase('"{name}" changes their password to the one they have'))
def changes_to_same_password(world: World, name: str) -> None:
    actor = world.actor(name)
    body = {"password": actor.password}
    world.record(world.client.request("PUT", "/user", token=actor.access_token(), json=body))


@when(phrase('"{name}" changes their password to a new one'))
def changes_to_new_password(world: World, name: str) -> None:
    actor = world.actor(name)
    password = new_password()
    response = world.record(
        world.client.request("PUT", "/user", token=actor.access_token(), json={"password": password})
    )
    if response.status_code == 200:
        actor.password = password


# --- then --------------------------------------------------------------------------------------------


@then(phrase('"{name}" is mailed a notice that their password was changed'))
def password_notice(world: World, name: str) -> None:
    assert_notice(world, world.actor(name).email or "", "password", "about the password")


@then(phrase('the old address of "{name}" is mailed a notice that names the new address'))
def email_notice(world: World, name: str) -> None:
    actor = world.actor(name)
    old = world.remembered.get(f"old_email:{name}")
    assert old and actor.email != old, f"{name}'s email has not changed"
    assert_notice(world, old, actor.email or "", "naming the new address")


@then(phrase('no further mail reaches the old address of "{name}"'))
def nothing_more_to_old_address(world: World, name: str) -> None:
    assert_nothing_more(world, world.remembered.get(f"old_email:{name}"))


@then(phrase('"{name}" is mailed a notice that names the provider'))
def provider_notice(world: World, name: str) -> None:
    assert_notice(world, world.actor(name).email or "", world.target.oauth.provider or "", "naming the provider")


@then(phrase('the provider address of "{name}" is mailed a notice that names the provider'))
def provider_address_notice(world: World, name: str) -> None:
    address = provider_login(world, name)
    assert_notice(world, address, world.target.oauth.provider or "", "naming the provider")


@then(phrase('"{name}" is mailed a notice that names the factor type "{factor_type}"'))
def factor_notice(world: World, name: str, factor_type: str) -> None:
    assert_notice(world, world.actor(name).email or "", factor_type, f"naming {factor_type}")


@then(phrase('no further mail reaches "{name}"'))
def nothing_more(world: World, name: str) -> None:
    assert_nothing_more(world, world.actor(name).email)
