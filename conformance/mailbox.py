"""Reading the mail a target sends: from the capture SMTP server the suite runs, or, for a target
that offers it, from the admin generate_link endpoint (which hands out the code instead of mailing)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from guestpass.conformance.world import World

MAIL_WAIT_SECONDS = 10.0
QUIET_SECONDS = 0.5  # how long the suite watches for a mail that must not come

# the mail a step expects -> the generate_link type that yields its code
LINK_TYPES = {
    "recovery": "recovery",
    "sign-in": "magiclink",
    "signup": "signup",
    "email change (current)": "email_change_current",
    "email change (new)": "email_change_new",
    "invitation": "invite",
}


@dataclass(frozen=True)
class Mail:
    code: str | None
    link: str | None

    @property
    def token_hash(self) -> str | None:
        return parse_qs(urlsplit(self.link).query).get("token", [None])[0] if self.link else None


def receive(world: World, address: str, kind: str, *, email: str, new_email: str | None = None) -> Mail:
    """The next mail to `address`. `email` and `new_email` name the account for generate_link."""
    if world.mail is not None:
        expected = world.mail_read.get(address, 0) + 1
        found = world.mail.wait_for(address, expected, timeout=MAIL_WAIT_SECONDS)
        assert len(found) >= expected, f"no {kind} mail reached {address} within {MAIL_WAIT_SECONDS:.0f} s"
        world.mail_read[address] = len(found)
        return Mail(found[-1].code, found[-1].verify_link)
    return generated(world, kind, email, new_email)


def generated(world: World, kind: str, email: str, new_email: str | None) -> Mail:
    if not email:
        pytest.skip("not applicable: generate_link names an account by its email, and this one has none yet")
    body = {"type": LINK_TYPES[kind], "email": email, **({"new_email": new_email} if new_email else {})}
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while True:  # a server that mails after answering may create the account a moment later
        response = world.client.request("POST", "/admin/generate_link", token=world.target.service_role_key, json=body)
        if response.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(QUIET_SECONDS / 5)
    assert response.status_code == 200, f"generate_link answered {response.status_code}"
    properties = response.json().get("properties", response.json())
    return Mail(properties.get("email_otp"), properties.get("action_link"))


def assert_no_mail(world: World, address: str) -> None:
    if world.mail is None:
        pytest.skip("not applicable: checking that nothing was mailed needs the capture SMTP server")
    found = world.mail.wait_for(address, 1, timeout=QUIET_SECONDS)
    assert not found, f"{len(found)} mail(s) reached {address}: {found[0].subject!r}"


def open_link(world: World, link: str) -> httpx.Response:
    return world.client.request("GET", "", base_url=link)
