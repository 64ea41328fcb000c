"""Steps for the spellings of one mailbox (Unicode and punycode domains, composed and decomposed local
parts) and for guessing passwords from one client."""

from __future__ import annotations

import uuid

import httpx
from pytest_bdd import then, when

from guestpass.conformance.jwt_tools import claims_of
from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import error_code, json_body, unexpected_status
from guestpass.conformance.steps.core import new_password, password_grant
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World

UNICODE_DOMAIN, PUNYCODE_DOMAIN = "b\u00fccher.test", "xn--bcher-kva.test"  # RFC 3492: the same label
COMPOSED, DECOMPOSED = "jos\u00e9", "jose\u0301"  # NFC and NFD of one name (RFC 6532 §3.1)
DOMAIN_FORMS = ("Unicode", "punycode")
LOCAL_FORMS = ("composed", "decomposed")


def spellings_of_domain(name: str) -> dict[str, str]:
    local = f"{name.lower()}-{uuid.uuid4().hex[:12]}"
    return {"Unicode": f"{local}@{UNICODE_DOMAIN}", "punycode": f"{local}@{PUNYCODE_DOMAIN}"}


def spellings_of_local_part(name: str) -> dict[str, str]:
    tail = f"-{name.lower()}-{uuid.uuid4().hex[:12]}@guestpass.test"
    return {"composed": COMPOSED + tail, "decomposed": DECOMPOSED + tail}


def spelling(world: World, name: str, form: str) -> str:
    spellings = world.remembered.get(f"spellings:{name}")
    assert spellings and form in spellings, f"{name} has no address written {form} in this scenario"
    return spellings[form]


def sign_up(world: World, name: str, email: str) -> httpx.Response:
    actor = world.actor(name)
    actor.email, actor.password = email, actor.password or new_password()
    response = world.record(world.client.request("POST", "/signup", json={"email": email, "password": actor.password}))
    world.remembered.setdefault("sign-ups", []).append(response)
    if response.status_code == 200 and "access_token" in json_body(response):
        actor.adopt(json_body(response))
    return response


# --- when --------------------------------------------------------------------------------------------


@when(phrase('"{name}" signs up with a new address whose domain is written in {form}'))
def signs_up_domain_form(world: World, name: str, form: str) -> None:
    assert form in DOMAIN_FORMS, f"a domain is written in one of {DOMAIN_FORMS}"
    world.remembered[f"spellings:{name}"] = spellings_of_domain(name)
    sign_up(world, name, spelling(world, name, form))


@when(phrase('"{name}" signs up with a new address whose local part is {form}'))
def signs_up_local_form(world: World, name: str, form: str) -> None:
    assert form in LOCAL_FORMS, f"a local part is one of {LOCAL_FORMS}"
    world.remembered[f"spellings:{name}"] = spellings_of_local_part(name)
    sign_up(world, name, spelling(world, name, form))


@when(phrase('"{other}" signs up with the address of "{name}" written {form}'))
def signs_up_other_spelling(world: World, other: str, name: str, form: str) -> None:
    sign_up(world, other, spelling(world, name, form.removeprefix("in ")))


@when(phrase('one client sends "{name}" wrong passwords at once, one more than the target\'s verify attempts'))
def guesses_passwords_at_once(world: World, name: str) -> None:
    email = world.actor(name).email or ""
    count = world.target.mail.verify_attempts + 1
    calls = [lambda i=i: password_grant(world, email, f"wrong-{i}-{new_password()}") for i in range(count)]
    world.parallel_responses = run_together(calls)


# --- then --------------------------------------------------------------------------------------------


ALREADY_REGISTERED = {(422, "user_already_exists"), (400, "validation_failed")}


@then(
    "at most one of the sign-ups succeeded and the others were refused with "
    '422 "user_already_exists" or 400 "validation_failed"'
)
def one_account_at_most(world: World) -> None:
    answers = [(response.status_code, error_code(response)) for response in world.remembered["sign-ups"]]
    succeeded = [answer for answer in answers if answer[0] == 200]
    assert len(succeeded) <= 1, f"{len(succeeded)} sign-ups of one mailbox succeeded: {answers}"
    refused = [answer for answer in answers if answer[0] != 200]
    assert all(answer in ALREADY_REGISTERED for answer in refused), f"the sign-ups answered {answers}"


@then(phrase('"{name}" can sign in with their address written {form}'))
def signs_in_with_spelling(world: World, name: str, form: str) -> None:
    actor = world.actor(name)
    response = password_grant(world, spelling(world, name, form.removeprefix("in ")), actor.password or "")
    assert response.status_code == 200, unexpected_status(200, response)
    subject = claims_of(json_body(response)["access_token"]).get("sub")
    assert subject == actor.user_id, f"signed in as {subject}, not as {name} ({actor.user_id})"


@then(phrase('the wrong passwords were refused with 400 "invalid_credentials" until one got {status:d} "{code}"'))
def passwords_stopped(world: World, status: str, code: str) -> None:
    answers = [(response.status_code, error_code(response)) for response in world.parallel_responses]
    allowed = {(400, "invalid_credentials"), (int(status), code)}
    assert all(answer in allowed for answer in answers), f"the wrong passwords answered {sorted(set(answers))}"
    assert (int(status), code) in answers, f"none of {len(answers)} wrong passwords was refused with {status} {code}"
