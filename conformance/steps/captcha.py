"""Steps of the captcha scenarios: the target's captcha variant, the suite's stand-in verifier that
issues its tokens, and each protected entry point with what it would create, sign in or mail."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.mailbox import MAIL_WAIT_SECONDS, QUIET_SECONDS
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.core import new_password
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.target import Target
from guestpass.conformance.world import World, fresh_client_key, unique_email
from guestpass.fixtures.captcha import CaptchaVerifier, Outage, issue_token

CAPTCHA_VARIANT = "captcha"
SECURITY_FIELD = "gotrue_meta_security"
PROBE_FIELD = "full_name"  # the user metadata an anonymous sign-in is marked by: the admin list's filter finds it
EXPIRED_SINCE = 0.05  # a token issued to expire at once is used this long after
OUTAGES: dict[str, Outage] = {
    "an error page": "error-page",
    "a connection closed without an answer": "no-answer",
}


@dataclass(frozen=True)
class CaptchaAccess:
    """The stand-in verifier the target's captcha variant asks: its port, or why the suite has none."""

    port: int | None
    problem: str | None = None


@pytest.fixture(scope="session")
def guestpass_captcha(request: pytest.FixtureRequest, guestpass_target: Target) -> Iterator[CaptchaAccess]:
    """The suite's stand-in verifier on the target's siteverify port, started on first use; or, under
    `guestpass check --workers`, the one the controlling process runs for all workers."""
    settings = guestpass_target.captcha
    if not settings.drivable or not settings.siteverify_port:
        yield CaptchaAccess(None, "the target file's [captcha] gives no provider, siteverify_port, site_key and secret")
        return
    problem = request.config.getoption("guestpass_captcha_problem", None)
    if problem:
        yield CaptchaAccess(None, problem)
        return
    if request.config.getoption("guestpass_captcha_shared", False):
        yield CaptchaAccess(settings.siteverify_port)
        return
    verifier = CaptchaVerifier(settings.siteverify_port, sites={settings.secret or "": settings.site_key or ""})
    try:
        verifier.__enter__()
    except OSError as error:
        yield CaptchaAccess(None, f"cannot listen on the siteverify port {settings.siteverify_port}: {error}")
        return
    try:
        yield CaptchaAccess(settings.siteverify_port)
    finally:
        verifier.__exit__(None, None, None)


def new_token(world: World, *, ttl: float | None = None, outage: Outage | None = None) -> str:
    port = world.remembered["captcha_port"]
    return issue_token(port, world.target.captcha.site_key or "", ttl=ttl, outage=outage)


def with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    return {**body, SECURITY_FIELD: {"captcha_token": token}} if token is not None else body


# --- the captcha variant -----------------------------------------------------------------------------


@given("a variant of the target with captcha on")
def captcha_variant(world: World, guestpass_captcha: CaptchaAccess) -> None:
    url = world.target.variants.get(CAPTCHA_VARIANT)
    if not url:
        pytest.skip(f"not applicable: the target file names no [variants] {CAPTCHA_VARIANT} server")
    if guestpass_captcha.port is None:
        reason = guestpass_captcha.problem
        pytest.skip(f"not applicable: the suite cannot issue captcha tokens the server accepts: {reason}")
    world.client.base_url = url.rstrip("/")
    world.remembered["captcha_port"] = guestpass_captcha.port


def admin(world: World, method: str, path: str, **options: Any) -> httpx.Response:
    """An admin request to the captcha variant with the target's service key, or not applicable."""
    if not world.target.service_role_key:
        pytest.skip("not applicable: the target file gives no service_role key to look at the variant's users")
    response = world.client.request(method, path, token=world.target.service_role_key, **options)
    if response.status_code in (401, 403):
        pytest.skip("not applicable: the captcha variant does not take the target's service_role key")
    return response


def users_matching(world: World, search: str) -> list[dict[str, Any]]:
    """The variant's users that the admin list's `filter` finds for `search` (GoTrue's: the email or the
    user metadata's full_name containing it), every page of them."""
    users: list[dict[str, Any]] = []
    for page in range(1, 1000):
        query = urlencode({"filter": search, "page": page, "per_page": 100})
        response = admin(world, "GET", f"/admin/users?{query}")
        assert response.status_code == 200, f"listing the users: {unexpected_status(200, response)}"
        listed = json_body(response).get("users") or []
        users += listed
        if len(listed) < 100:
            return users
    return users


def users_where(world: World, search: str, test: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return [user for user in users_matching(world, search) if test(user)]


def created_user(world: World, *, confirmed: bool) -> dict[str, str]:
    email, password = unique_email("captcha"), new_password()
    body = {"email": email, "password": password, "email_confirm": confirmed}
    response = admin(world, "POST", "/admin/users", json=body)
    assert response.status_code == 200, f"setup: creating a user: {unexpected_status(200, response)}"
    return {"email": email, "password": password, "id": json_body(response)["id"]}


def last_sign_in(world: World, user_id: str) -> Any:
    response = admin(world, "GET", f"/admin/users/{user_id}")
    assert response.status_code == 200, f"reading the user: {unexpected_status(200, response)}"
    return json_body(response).get("last_sign_in_at")


def mail_count(world: World, address: str, *, wait: float) -> int:
    if world.mail is None:
        pytest.skip("not applicable: this entry point's effect is a mail, and the suite has no capture SMTP server")
    return len(world.mail.wait_for(address, world.mail_read.get(address, 0) + 1, timeout=wait))


# --- the entry points --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryPoint:
    """A protected request: what it needs beforehand, the request (fresh for each call), and how to
    tell whether it created a user, signed someone in or mailed."""

    prepare: Callable[[World], None]
    request: Callable[[World, dict[str, Any]], tuple[str, dict[str, Any]]]
    took_effect: Callable[[World, dict[str, Any]], bool]


def nothing_to_prepare(world: World) -> None:
    return None


def prepare_confirmed(world: World) -> None:
    world.remembered["captcha_user"] = created_user(world, confirmed=True)
    world.remembered["captcha_signed_in"] = last_sign_in(world, world.remembered["captcha_user"]["id"])


def prepare_unconfirmed(world: World) -> None:
    world.remembered["captcha_user"] = created_user(world, confirmed=False)


def anonymous_request(world: World, probe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    probe["marker"] = uuid.uuid4().hex
    return "/signup", {"data": {PROBE_FIELD: probe["marker"]}}


def anonymous_effect(world: World, probe: dict[str, Any]) -> bool:
    marker = probe["marker"]
    return bool(users_where(world, marker, lambda user: (user.get("user_metadata") or {}).get(PROBE_FIELD) == marker))


def signup_request(world: World, probe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    probe["email"] = unique_email("captcha-signup")
    return "/signup", {"email": probe["email"], "password": new_password()}


def new_address_effect(world: World, probe: dict[str, Any]) -> bool:
    return bool(users_where(world, probe["email"], lambda user: (user.get("email") or "").lower() == probe["email"]))


def password_request(world: World, probe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    user = world.remembered["captcha_user"]
    return "/token?grant_type=password", {"email": user["email"], "password": user["password"]}


def password_effect(world: World, probe: dict[str, Any]) -> bool:
    user = world.remembered["captcha_user"]
    now = last_sign_in(world, user["id"])
    changed = now != world.remembered["captcha_signed_in"]
    world.remembered["captcha_signed_in"] = now
    return changed


def otp_request(world: World, probe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    probe["email"] = unique_email("captcha-otp")
    return "/otp", {"email": probe["email"]}


def otp_effect(world: World, probe: dict[str, Any]) -> bool:
    return mail_effect(world, probe) or new_address_effect(world, probe)


def recover_request(world: World, probe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    probe["email"] = world.remembered["captcha_user"]["email"]
    return "/recover", {"email": probe["email"]}


def resend_request(world: World, probe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    probe["email"] = world.remembered["captcha_user"]["email"]
    return "/resend", {"type": "signup", "email": probe["email"]}


def mail_effect(world: World, probe: dict[str, Any]) -> bool:
    """Whether a new mail reached the probe's address: waited for as long as mail takes to come when it
    should, and for the suite's quiet period when it should not."""
    address = probe["email"]
    expected = world.mail_read.get(address, 0) + 1
    count = mail_count(world, address, wait=MAIL_WAIT_SECONDS if probe.get("expect_effect") else QUIET_SECONDS)
    world.mail_read[address] = count
    return count >= expected


ENTRY_POINTS = {
    "anonymous sign-in": EntryPoint(nothing_to_prepare, anonymous_request, anonymous_effect),
    "email sign-up": EntryPoint(nothing_to_prepare, signup_request, new_address_effect),
    "password sign-in": EntryPoint(prepare_confirmed, password_request, password_effect),
    "sign-in by mail": EntryPoint(nothing_to_prepare, otp_request, otp_effect),
    "recovery": EntryPoint(prepare_confirmed, recover_request, mail_effect),
    "resend": EntryPoint(prepare_unconfirmed, resend_request, mail_effect),
}


def entry_point(name: str) -> EntryPoint:
    assert name in ENTRY_POINTS, f"unknown entry point {name!r}: one of {', '.join(ENTRY_POINTS)}"
    return ENTRY_POINTS[name]


def ask(world: World, name: str, token: str | None) -> None:
    probe: dict[str, Any] = {"entry_point": name, "token": token}
    path, body = entry_point(name).request(world, probe)
    world.record(world.client.request("POST", path, json=with_token(body, token)))
    world.remembered["captcha_probe"] = probe


@given(phrase("what {entry} acts on is ready"))
def entry_point_ready(world: World, entry: str) -> None:
    entry_point(entry).prepare(world)


@when(phrase("a client asks for {entry} without a captcha token"))
def asks_without_token(world: World, entry: str) -> None:
    ask(world, entry, None)


@when(phrase("a client asks for {entry} with a captcha token the verifier never issued"))
def asks_with_unknown_token(world: World, entry: str) -> None:
    ask(world, entry, "gp0." + uuid.uuid4().hex + uuid.uuid4().hex)


@when(phrase("a client asks for {entry} with a valid captcha token"))
def asks_with_valid_token(world: World, entry: str) -> None:
    ask(world, entry, new_token(world))


@when(phrase("a client asks for {entry} again with the same captcha token"))
def asks_again_with_same_token(world: World, entry: str) -> None:
    ask(world, entry, world.remembered["captcha_probe"]["token"])


@when(phrase("a client asks for {entry} with a captcha token that has expired"))
def asks_with_expired_token(world: World, entry: str) -> None:
    token = new_token(world, ttl=0)
    time.sleep(EXPIRED_SINCE)
    ask(world, entry, token)


@when(phrase("a client asks for {entry} with a captcha token whose verification meets {outage}"))
def asks_during_outage(world: World, entry: str, outage: str) -> None:
    assert outage in OUTAGES, f"unknown outage {outage!r}: one of {', '.join(OUTAGES)}"
    ask(world, entry, new_token(world, outage=OUTAGES[outage]))


@then("the request was served and took effect")
def served_and_took_effect(world: World) -> None:
    response, probe = world.last(), world.remembered["captcha_probe"]
    assert response.status_code == 200, unexpected_status(200, response)
    probe["expect_effect"] = True
    assert entry_point(probe["entry_point"]).took_effect(world, probe), (
        f"{probe['entry_point']} answered 200 but created, signed in or mailed nothing"
    )


@then("that request changed nothing")
def changed_nothing(world: World) -> None:
    probe = world.remembered["captcha_probe"]
    assert not entry_point(probe["entry_point"]).took_effect(world, probe), (
        f"{probe['entry_point']} was refused, yet it created a user, signed someone in or mailed"
    )


# --- the rate limit, refresh, admin keys, passkeys, settings ----------------------------------------


def anonymous_sign_in_as(world: World, client_key: str, token: str | None) -> httpx.Response:
    headers = {world.target.rate_limits.header or "": client_key} if world.target.rate_limits.header else {}
    return world.client.request("POST", "/signup", json=with_token({}, token), headers=headers)


def use_anonymous_sign_ins(world: World, count: int) -> None:
    key = world.remembered["captcha_client"] = fresh_client_key()
    for _ in range(count):
        response = anonymous_sign_in_as(world, key, new_token(world))
        assert response.status_code == 200, f"setup: a sign-in within the limit: {unexpected_status(200, response)}"


@given("one client has used up its anonymous sign-ins there, each with a valid captcha token")
def used_up(world: World) -> None:
    use_anonymous_sign_ins(world, world.target.rate_limits.anonymous_sign_ins or 0)


@given("one client has used all but one of its anonymous sign-ins there, each with a valid captcha token")
def used_all_but_one(world: World) -> None:
    use_anonymous_sign_ins(world, (world.target.rate_limits.anonymous_sign_ins or 1) - 1)


@when("that client signs in anonymously once more with a valid captcha token")
def signs_in_once_more(world: World) -> None:
    world.record(anonymous_sign_in_as(world, world.remembered["captcha_client"], new_token(world)))


@when("that client signs in anonymously without a captcha token")
def signs_in_without_token(world: World) -> None:
    world.record(anonymous_sign_in_as(world, world.remembered["captcha_client"], None))


@given(phrase('a visitor "{name}" signed in anonymously there with a valid captcha token'))
def visitor_with_token(world: World, name: str) -> None:
    response = world.client.request("POST", "/signup", json=with_token({}, new_token(world)))
    assert response.status_code == 200, f"setup: anonymous sign-in: {unexpected_status(200, response)}"
    world.actor(name).adopt(json_body(response))


@when(phrase('"{name}" refreshes the session without a captcha token'))
def refreshes_without_token(world: World, name: str) -> None:
    body = {"refresh_token": world.actor(name).refresh_token()}
    world.record(world.client.request("POST", "/token?grant_type=refresh_token", json=body))


@when("the service role signs up a new address there without a captcha token")
def service_role_signs_up(world: World) -> None:
    body = {"email": unique_email("captcha-admin"), "password": new_password()}
    world.record(admin(world, "POST", "/signup", json=body))


@given("the target claims the passkeys capability")
def claims_passkeys(world: World) -> None:
    if not world.target.claims("passkeys"):
        pytest.skip("not applicable: the target does not claim the 'passkeys' capability")


@when('a client sends "POST /passkeys/authentication/options" without a captcha token')
def passkey_options_without_token(world: World) -> None:
    world.record(world.client.request("POST", "/passkeys/authentication/options", json={}))


@when('a client sends "POST /passkeys/authentication/options" with a valid captcha token')
def passkey_options_with_token(world: World) -> None:
    body = with_token({}, new_token(world))
    world.record(world.client.request("POST", "/passkeys/authentication/options", json=body))


@then('the response JSON field "captcha_provider" names the target\'s captcha provider')
def settings_name_provider(world: World) -> None:
    provider = json_body(world.last()).get("captcha_provider")
    assert provider == world.target.captcha.provider, (
        f"captcha_provider is {provider!r}, the target's provider is {world.target.captcha.provider!r}"
    )
