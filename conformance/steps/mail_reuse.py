"""Steps that redeem a mailed code through each form the dialect accepts (POST /verify with the code and
its address, POST /verify with the link's token_hash, GET on the mailed link), once or in parallel, and
check that it works exactly once whatever the form."""

from __future__ import annotations

import httpx
from pytest_bdd import given, parsers, then, when

from guestpass.conformance.mailbox import open_link
from guestpass.conformance.parallel import run_together
from guestpass.conformance.steps.common import assert_refused, unexpected_status
from guestpass.conformance.steps.core import new_password
from guestpass.conformance.steps.mail import changes_email, fragment_of, mail_of, receive_for, verify, verify_code
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World, unique_email

CODE, TOKEN_HASH, LINK = "POST /verify with the code", "POST /verify with the token_hash", "GET on the mailed link"
FORMS = (CODE, TOKEN_HASH, LINK)
# the mail -> the /verify type that redeems it
VERIFY_TYPES = {
    "recovery": "recovery",
    "sign-in": "email",
    "signup": "signup",
    "email change (current)": "email_change",
    "email change (new)": "email_change",
}
KIND = r"(?P<kind>recovery|sign-in|signup|email change \((?:current|new)\))"
FORM = "(?P<form>" + "|".join(FORMS) + ")"
BY_LINK = r" \(by the link: in the redirect's fragment\)"
REFUSAL = r'refused with (?P<status>\d+) "(?P<code>[^"]+)"'


def redeem(world: World, name: str, kind: str, form: str) -> httpx.Response:
    actor, mail = world.actor(name), mail_of(world, name, kind)
    if form == CODE:
        assert mail.code, f"the {kind} mail carries no code"
        return verify_code(world, actor, kind, VERIFY_TYPES[kind])
    assert mail.link and mail.token_hash, f"the {kind} mail carries no /verify link"
    if form == TOKEN_HASH:
        return verify(world, {"type": VERIFY_TYPES[kind], "token_hash": mail.token_hash})
    return open_link(world, mail.link)


def assert_redeemed(response: httpx.Response) -> None:
    """A session or, for one half of an email change, the confirmation; by the link, in the redirect."""
    if response.request.method == "GET":
        fragment = fragment_of(response)
        assert "error_code" not in fragment, f"the link was refused: error_code {fragment['error_code']!r}"
    else:
        assert response.status_code == 200, unexpected_status(200, response)


def assert_refused_as(response: httpx.Response, status: int, code: str) -> None:
    if response.request.method == "GET":
        actual = fragment_of(response).get("error_code")
        assert actual == code, f"the link answered error_code {actual!r} in the fragment, expected {code!r}"
    else:
        assert_refused(response, status, code)


@given(phrase('"{name}" has signed up and received the signup mail'))
def signed_up_with_mail(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    response = world.client.request("POST", "/signup", json={"email": actor.email, "password": actor.password})
    assert response.status_code == 200, f"setup: POST /signup: {unexpected_status(200, response)}"
    actor.user_id = response.json().get("id")
    receive_for(world, actor, "signup")


@given(phrase('"{name}" has changed their email and received both confirmation mails'))
def changed_email_with_mails(world: World, name: str) -> None:
    changes_email(world, name)
    assert world.last().status_code == 200, f"setup: PUT /user: {unexpected_status(200, world.last())}"
    for side in ("current", "new"):
        receive_for(world, world.actor(name), f"email change ({side})")


@when(parsers.re(rf'"(?P<name>[^"]+)" redeems the {KIND} mail by {FORM}$'))
def redeems(world: World, name: str, kind: str, form: str) -> None:
    world.record(redeem(world, name, kind, form))


@when(parsers.re(rf'"(?P<name>[^"]+)" redeems the {KIND} mail by {FORM} (?P<count>\d+) times in parallel$'))
def redeems_in_parallel(world: World, name: str, kind: str, form: str, count: str) -> None:
    world.parallel_responses = run_together([lambda: redeem(world, name, kind, form)] * int(count))


@then("the redemption succeeded")
def redemption_succeeded(world: World) -> None:
    assert_redeemed(world.last())


@then(
    parsers.re(
        rf'"(?P<name>[^"]+)"\'s {KIND} mail is refused with (?P<status>\d+) "(?P<code>[^"]+)" by every form{BY_LINK}$'
    )
)
def refused_by_every_form(world: World, name: str, kind: str, status: str, code: str) -> None:
    for form in FORMS:
        try:
            assert_refused_as(world.record(redeem(world, name, kind, form)), int(status), code)
        except AssertionError as error:
            raise AssertionError(f"the {kind} mail again by {form}: {error}") from None


@then(parsers.re(rf"exactly one redemption succeeded and the others were {REFUSAL}{BY_LINK}$"))
def one_redemption_succeeded(world: World, status: str, code: str) -> None:
    succeeded, refused = [], []
    for response in world.parallel_responses:
        try:
            assert_redeemed(response)
            succeeded.append(response)
        except AssertionError:
            refused.append(response)
    assert len(succeeded) == 1, f"{len(succeeded)} of {len(world.parallel_responses)} redemptions succeeded"
    for response in refused:
        assert_refused_as(response, int(status), code)
