"""Steps of the mail capabilities: recovery, sign-in by mail, email change and email confirmation."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pytest_bdd import given, parsers, then, when

from guestpass.conformance.jwt_tools import claims_of
from guestpass.conformance.mailbox import Mail, assert_no_mail, open_link, receive
from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import (
    assert_refused,
    error_code,
    from_new_addresses,
    json_body,
    unexpected_status,
)
from guestpass.conformance.steps.core import new_password, password_grant, register, sign_in
from guestpass.conformance.steps.merge import MERGE_FIELD
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_out
from guestpass.conformance.world import Actor, World, unique_email

RECOVERED = "recovered"
EMAIL_CONFIRMATION = "email_confirmation"
MAX_EXPIRY_WAIT = 30.0
VERIFY_TYPE_OF_MAIL = {"sign-in": "email", "recovery": "recovery"}


def remember_mail(world: World, name: str, kind: str, mail: Mail) -> Mail:
    world.remembered[f"mail:{name}:{kind}"] = mail
    return mail


def mail_of(world: World, name: str, kind: str) -> Mail:
    mail = world.remembered.get(f"mail:{name}:{kind}")
    assert mail is not None, f"{name} has received no {kind} mail in this scenario"
    return mail


def receive_for(world: World, actor: Actor, kind: str) -> Mail:
    address = actor.new_email if kind == "email change (new)" else actor.email
    assert address, f"{actor.name} has no address for a {kind} mail"
    mail = receive(world, address, kind, email=actor.email or "", new_email=actor.new_email)
    return remember_mail(world, actor.name, kind, mail)


def verify(world: World, body: dict[str, Any]) -> httpx.Response:
    return world.client.request("POST", "/verify", json=body)


def verify_code(world: World, actor: Actor, kind: str, verify_type: str, **extra: Any) -> httpx.Response:
    mail = mail_of(world, actor.name, kind)
    address = actor.new_email if kind == "email change (new)" else actor.email
    return verify(world, {"type": verify_type, "email": address, "token": mail.code, **extra})


def adopt_session(world: World, actor: Actor, response: httpx.Response, device: str = RECOVERED) -> None:
    if response.status_code == 200 and "access_token" in json_body(response):
        actor.adopt(json_body(response), device)


def ask_recovery(world: World, email: str) -> httpx.Response:
    return world.client.request("POST", "/recover", json={"email": email})


# --- given -------------------------------------------------------------------------------------------


@given(phrase('a registered user "{name}" who has received a recovery mail'))
def registered_with_recovery_mail(world: World, name: str) -> None:
    register(world, world.actor(name))
    has_received_recovery_mail(world, name)


@given(phrase('"{name}" has received a recovery mail'))
def has_received_recovery_mail(world: World, name: str) -> None:
    actor = world.actor(name)
    response = ask_recovery(world, actor.email or "")
    assert response.status_code == 200, f"setup: POST /recover: {unexpected_status(200, response)}"
    receive_for(world, actor, "recovery")


@given(phrase('a registered user "{name}" who has received a sign-in mail'))
def registered_with_sign_in_mail(world: World, name: str) -> None:
    actor = world.actor(name)
    register(world, actor)
    response = ask_code(world, actor.email or "", create_user=False)
    assert response.status_code == 200, f"setup: POST /otp: {unexpected_status(200, response)}"
    receive_for(world, actor, "sign-in")


@given(phrase('"{name}" has verified the recovery code from the mail'))
def has_verified_recovery(world: World, name: str) -> None:
    response = verify_code(world, world.actor(name), "recovery", "recovery")
    assert response.status_code == 200, f"setup: POST /verify: {unexpected_status(200, response)}"


@given(phrase('the target claims the "{first}" and "{second}" capabilities'))
def target_claims(world: World, first: str, second: str) -> None:
    for capability in (first, second):
        if not world.target.claims(capability):
            pytest.skip(f"not applicable: the target does not claim the {capability!r} capability")


@given("a target that confirms email addresses by mail")
def confirming_target(world: World) -> None:
    """The target's email_confirmation variant if it names one, else the target itself when its
    settings say it does not confirm addresses automatically."""
    base_url = world.target.variants.get(EMAIL_CONFIRMATION)
    if base_url is None:
        settings = json_body(world.client.request("GET", "/settings"))
        if settings.get("mailer_autoconfirm") is not False:
            pytest.skip(
                "not applicable: the target confirms addresses automatically and names no variant that does not"
            )
        base_url = world.target.base_url
    world.client.base_url = base_url.rstrip("/")


@given(phrase('a user "{name}" who signed up and confirmed the address from the mail'))
def signed_up_and_confirmed(world: World, name: str) -> None:
    """A confirmed email user with a session, made through /signup and the mailed code, so that it works on
    a variant whose service key the target file does not give."""
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    response = world.client.request("POST", "/signup", json={"email": actor.email, "password": actor.password})
    assert response.status_code == 200, f"setup: POST /signup: {unexpected_status(200, response)}"
    if "access_token" not in json_body(response):
        receive_for(world, actor, "signup")
        response = verify_code(world, actor, "signup", "signup")
        assert response.status_code == 200, f"setup: POST /verify: {unexpected_status(200, response)}"
    actor.adopt(json_body(response))


# --- when: asking for mail --------------------------------------------------------------------------


@when(phrase('"{name}" asks for password recovery'))
def asks_recovery(world: World, name: str) -> None:
    world.remembered["recovery:known"] = world.record(ask_recovery(world, world.actor(name).email or ""))


@when(phrase('a client asks for password recovery of an unregistered address "{name}"'))
def asks_recovery_unknown(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email = unique_email(name)
    world.remembered["recovery:unknown"] = world.record(ask_recovery(world, actor.email))


@when(phrase('"{name}" asks for password recovery twice in a row'))
def asks_recovery_twice(world: World, name: str) -> None:
    email = world.actor(name).email or ""
    ask_recovery(world, email)
    world.remembered["second:known"] = world.record(ask_recovery(world, email))


@when(phrase('a client asks twice in a row for password recovery of an unregistered address "{name}"'))
def asks_recovery_unknown_twice(world: World, name: str) -> None:
    email = unique_email(name)
    ask_recovery(world, email)
    world.remembered["second:unknown"] = world.record(ask_recovery(world, email))


def ask_code(world: World, email: str, **options: Any) -> httpx.Response:
    return world.client.request("POST", "/otp", json={"email": email, **options})


@when(phrase('"{name}" asks for a sign-in code without creating a user'))
def asks_code(world: World, name: str) -> None:
    world.record(ask_code(world, world.actor(name).email or "", create_user=False))


@when(phrase('a client asks for a sign-in code for the unregistered address "{name}" without creating a user'))
def asks_code_unknown(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email = unique_email(name)
    world.record(ask_code(world, actor.email, create_user=False))


@when(phrase('"{name}" asks for a sign-in code for a new address'))
def asks_code_new(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email = unique_email(name)
    world.record(ask_code(world, actor.email))


@when(phrase('"{name}" changes their email to a new address'))
def changes_email(world: World, name: str) -> None:
    actor = world.actor(name)
    world.remembered[f"old_email:{name}"], actor.new_email = actor.email, unique_email(name)
    world.record(world.client.request("PUT", "/user", token=actor.access_token(), json={"email": actor.new_email}))


@when(phrase('"{name}" adds a new email address'))
def adds_email(world: World, name: str) -> None:
    changes_email(world, name)


@when(phrase('"{name}" changes their email to the email of "{other}"'))
def changes_email_to_taken(world: World, name: str, other: str) -> None:
    email = world.actor(other).email
    world.record(world.client.request("PUT", "/user", token=world.actor(name).access_token(), json={"email": email}))


# --- when: using the mail ---------------------------------------------------------------------------


@when(phrase('"{name}" verifies the recovery code from the mail'))
def verifies_recovery(world: World, name: str) -> None:
    actor = world.actor(name)
    adopt_session(world, actor, world.record(verify_code(world, actor, "recovery", "recovery")))


@when(phrase('"{name}" verifies the recovery code from the mail with a new password'))
def verifies_recovery_with_password(world: World, name: str) -> None:
    actor = world.actor(name)
    world.remembered["old_password"], actor.password = actor.password, new_password()
    response = world.record(verify_code(world, actor, "recovery", "recovery", password=actor.password))
    adopt_session(world, actor, response)


@when(phrase('"{name}" verifies a recovery code that was not mailed'))
def verifies_wrong_code(world: World, name: str) -> None:
    actor = world.actor(name)
    code = mail_of(world, name, "recovery").code or "0"
    wrong = f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"
    world.record(verify(world, {"type": "recovery", "email": actor.email, "token": wrong}))


def wrong_code(code: str, attempt: int) -> str:
    """The mailed code moved on by 1 + attempt: never the code itself, and different every attempt."""
    return f"{(int(code) + 1 + attempt) % 10 ** len(code):0{len(code)}d}"


def guess(world: World, name: str, kind: str, attempt: int) -> httpx.Response:
    code = mail_of(world, name, kind).code
    assert code and code.isdigit(), f"the {kind} mail carries no numeric code"
    body = {"type": VERIFY_TYPE_OF_MAIL[kind], "email": world.actor(name).email, "token": wrong_code(code, attempt)}
    return world.record(verify(world, body))


@when(phrase('"{name}" enters wrong {kind} codes until refused, past the target\'s verify attempts'))
def guesses_mailed_codes(world: World, name: str, kind: str) -> None:
    attempts = []
    for attempt in range(world.target.mail.verify_attempts + 1):
        attempts.append(guess(world, name, kind, attempt))
        if attempts[-1].status_code != 403:
            break
    world.remembered["attempts"] = attempts


@when(
    phrase(
        '"{name}" enters wrong {kind} codes from a new client address each time, as many as the target\'s verify '
        "attempts"
    )
)
def guesses_mailed_codes_from_many_addresses(world: World, name: str, kind: str) -> None:
    turns = from_new_addresses(world, world.target.mail.verify_attempts)
    world.remembered["attempts"] = [guess(world, name, kind, attempt) for attempt in turns]


@when(phrase('"{name}" verifies the token_hash from the mailed link'))
def verifies_token_hash(world: World, name: str) -> None:
    token_hash = mail_of(world, name, "recovery").token_hash
    assert token_hash, "the mailed link carries no token"
    world.record(verify(world, {"type": "recovery", "token_hash": token_hash}))


@when(phrase('"{name}" verifies the recovery code mailed to "{other}"'))
def verifies_others_code(world: World, name: str, other: str) -> None:
    code = mail_of(world, other, "recovery").code
    world.record(verify(world, {"type": "recovery", "email": world.actor(name).email, "token": code}))


@when(phrase('"{name}" sets a new password in the recovered session'))
def sets_password_after_recovery(world: World, name: str) -> None:
    actor = world.actor(name)
    world.remembered["old_password"], actor.password = actor.password, new_password()
    world.record(
        world.client.request("PUT", "/user", token=actor.access_token(RECOVERED), json={"password": actor.password})
    )


@when("the mailed codes of the target have expired")
def codes_expired(world: World) -> None:
    ttl = world.target.mail.token_ttl
    if ttl is None or ttl > MAX_EXPIRY_WAIT:
        pytest.skip(f"not applicable: the target's mail token_ttl is {ttl}, not at most {MAX_EXPIRY_WAIT:.0f} s")
    wait_out(ttl)


@when(phrase('"{name}" opens the link from the mail'))
def opens_link(world: World, name: str) -> None:
    mails = [mail for key, mail in world.remembered.items() if key.startswith(f"mail:{name}:")]
    assert mails and mails[-1].link, f"{name} has no mailed link"
    world.record(open_link(world, mails[-1].link))


@when(phrase('"{name}" verifies the sign-in code from the mail'))
def verifies_sign_in(world: World, name: str) -> None:
    actor = world.actor(name)
    adopt_session(world, actor, world.record(verify_code(world, actor, "sign-in", "email")), "default")


@when(phrase('"{name}" verifies the sign-in code from the mail carrying the anonymous refresh token of "{anon}"'))
def verifies_sign_in_merging(world: World, name: str, anon: str) -> None:
    actor = world.actor(name)
    extra = {MERGE_FIELD: world.actor(anon).refresh_token()}
    adopt_session(world, actor, world.record(verify_code(world, actor, "sign-in", "email", **extra)), "default")


@when(
    parsers.re(r'"(?P<name>[^"]+)" verifies the sign-in code from the mail (?P<count>\d+) times in parallel$'),
    converters={"count": int},
)
def verifies_in_parallel(world: World, name: str, count: int) -> None:
    actor = world.actor(name)
    world.parallel_responses = run_together([lambda: verify_code(world, actor, "sign-in", "email")] * count)


@when(phrase('"{name}" verifies the signup code from the mail'))
def verifies_signup(world: World, name: str) -> None:
    actor = world.actor(name)
    receive_for(world, actor, "signup")
    adopt_session(world, actor, world.record(verify_code(world, actor, "signup", "signup")), "default")


@when(phrase('"{name}" confirms the email change from the {side} address'))
def confirms_email_change(world: World, name: str, side: str) -> None:
    actor = world.actor(name)
    kind = f"email change ({side})"
    receive_for(world, actor, kind)
    response = world.record(verify_code(world, actor, kind, "email_change"))
    if response.status_code == 200 and "access_token" in json_body(response):
        actor.email, actor.new_email = actor.new_email, None
        actor.adopt(json_body(response))


# --- then --------------------------------------------------------------------------------------------


@then(phrase('"{name}" receives a {kind} mail with a code and a link'))
def receives_mail(world: World, name: str, kind: str) -> None:
    mail = receive_for(world, world.actor(name), kind)
    assert mail.code, f"the {kind} mail carries no code"
    assert mail.link, f"the {kind} mail carries no /verify link"


@then("both recovery answers are identical and are 200 with an empty object")
def recovery_answers_identical(world: World) -> None:
    known, unknown = world.remembered["recovery:known"], world.remembered["recovery:unknown"]
    assert known.status_code == 200, unexpected_status(200, known)
    assert json_body(known) == {}, f"the answer for a known address is {json_body(known)}"
    assert (unknown.status_code, json_body(unknown)) == (known.status_code, json_body(known)), (
        f"unknown address: {unknown.status_code} {json_body(unknown)}; known: {known.status_code} {json_body(known)}"
    )


@then(phrase('no mail reaches the address of "{name}"'))
def no_mail(world: World, name: str) -> None:
    assert_no_mail(world, world.actor(name).email or "")


@then(phrase('both second answers are refused with {status:d} "{code}"'), converters={"status": int})
def second_answers_refused(world: World, status: int, code: str) -> None:
    assert_refused(world.remembered["second:known"], status, code)
    assert_refused(world.remembered["second:unknown"], status, code)


def fragment_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), f"expected a redirect, got {response.status_code}"
    location = response.headers.get("location", "")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).fragment).items()}


@then(phrase('the response redirects with a session of "{name}" in the fragment'))
def redirect_with_session(world: World, name: str) -> None:
    fragment = fragment_of(world.last())
    for key in ("access_token", "refresh_token", "expires_in"):
        assert fragment.get(key), f"the fragment has no {key}: {sorted(fragment)}"
    claims = claims_of(fragment["access_token"])
    assert claims.get("sub") == world.actor(name).user_id, f"the session's subject is {claims.get('sub')}"
    assert [entry.get("method") for entry in claims.get("amr", [])] == ["otp"], f"amr is {claims.get('amr')}"


@then(phrase('the response redirects with the error code "{code}" in the fragment'))
def redirect_with_error(world: World, code: str) -> None:
    fragment = fragment_of(world.last())
    assert "access_token" not in fragment, "the fragment carries a session"
    assert fragment.get("error_code") == code, f"the fragment's error_code is {fragment.get('error_code')!r}"


@then("the session's user has a confirmed email")
def user_confirmed(world: World) -> None:
    user = json_body(world.last())["user"]
    assert user.get("email_confirmed_at"), "user.email_confirmed_at is not set"


@then(phrase('exactly one verify succeeded and the others were refused with {status:d} "{code}"'))
def one_verify_succeeded(world: World, status: str, code: str) -> None:
    responses = world.parallel_responses
    succeeded = [r for r in responses if r.status_code == 200]
    assert len(succeeded) == 1, f"{len(succeeded)} of {len(responses)} verifies succeeded"
    refused = [(r.status_code, error_code(r)) for r in responses if r.status_code != 200]
    assert all(answer == (int(status), code) for answer in refused), f"the others answered {refused}"


def current_email(world: World, name: str) -> str:
    actor = world.actor(name)
    token = actor.access_token()
    response = world.client.request("GET", "/user", token=token)
    assert response.status_code == 200, unexpected_status(200, response)
    return json_body(response)["email"]


@then(phrase('"{name}"\'s email is still the old one'))
def email_unchanged(world: World, name: str) -> None:
    """Compared with the address remembered before the change: a confirmation that answers a session
    has already moved the actor to the new address."""
    actual = current_email(world, name)
    old = world.remembered.get(f"old_email:{name}", world.actor(name).email)
    assert actual == old, f"the email is now {actual!r}, not the old {old!r}"


@then(phrase('"{name}"\'s email is the new one'))
def email_changed(world: World, name: str) -> None:
    actual = current_email(world, name)
    assert actual == world.actor(name).email, f"the email is {actual!r}, not the new address"


@then(phrase('"{name}" can sign in with the new address but not the old one'))
def new_address_signs_in(world: World, name: str) -> None:
    actor = world.actor(name)
    old = world.remembered.get(f"old_email:{name}")
    assert password_grant(world, actor.email or "", actor.password or "").status_code == 200, "the new address fails"
    if old:
        assert_refused(password_grant(world, old, actor.password or ""), 400, "invalid_credentials")


@then(phrase('"{name}" can sign in with their password'))
def signs_in_with_password(world: World, name: str) -> None:
    response = sign_in(world, world.actor(name))
    assert response.status_code == 200, unexpected_status(200, response)


@then("the response is a user without a session")
def user_without_session(world: World) -> None:
    body = json_body(world.last())
    assert "access_token" not in body, "the response carries a session"
    assert body.get("id") and body.get("email"), f"the response is not a user: {sorted(body)}"


@then(phrase('the session\'s user id is the user id of "{name}"'))
def same_user_id(world: World, name: str) -> None:
    user_id = json_body(world.last())["user"]["id"]
    assert user_id == world.remembered.get(f"user_id:{name}", world.actor(name).user_id), f"user id is {user_id}"
