"""Steps of the oauth capability. The suite plays the browser: it asks the target's /authorize (or
/user/identities/authorize), signs in at the suite's OpenID provider by submitting its pages, then
follows the provider's redirect to the target's callback itself, so the callback and every request
to the target are in the transcript. Each person signs in at the provider with an address of their
own, so that every scenario meets the provider as somebody new."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from pytest_bdd import given, then, when

from guestpass.conformance.client import ApiClient, tls_context
from guestpass.conformance.jwt_tools import claims_of
from guestpass.conformance.steps.common import assert_refused, json_body, unexpected_status
from guestpass.conformance.steps.merge import MERGE_FIELD
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.waits import wait_until
from guestpass.conformance.world import World, unique_email
from guestpass.fixtures.oidc import login, misbehave

SESSION_KEYS = ("access_token", "refresh_token", "expires_in", "expires_at", "token_type")
CREDENTIALS = ("access_token", "refresh_token", "provider_token", "code")
MAX_WAIT = 30.0


def provider_login(world: World, name: str) -> str:
    """The address `name` signs in with at the provider; made up once per scenario."""
    key = f"provider login:{name}"
    if key not in world.remembered:
        world.remembered[key] = unique_email(name)
    return world.remembered[key]


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def root_of(world: World, url: str) -> str:
    root = world.client.instance_of(url)
    assert root, f"{url} is not on the target ({', '.join(world.client.instances)})"
    return root


def get(world: World, url: str) -> httpx.Response:
    """GET of a URL on the target (on the instance it names), through the client that records it."""
    root = root_of(world, url)
    return world.client.request("GET", url[len(root) :], base_url=root)


def other_browser_get(world: World, url: str) -> httpx.Response:
    """GET of a URL on the target by another browser: a client without the suite client's cookies, whose
    exchange still goes into the transcript."""
    root = root_of(world, url)
    own = world.client
    browser = ApiClient(
        root,
        own.transcript,
        apikey=own.apikey,
        rate_limit_header=own.rate_limit_header,
        sessions=own.sessions,
        request_lock=own.request_lock,
    )
    browser.client_key = own.client_key
    try:
        return browser.request("GET", url[len(root) :], api_version=False)
    finally:
        browser.close()


def through_provider(world: World, provider_url: str, login_name: str) -> str:
    """Signs in at the provider and returns the URL of the target's callback it redirects to."""

    async def browse() -> httpx.URL:
        async with httpx.AsyncClient(timeout=15, verify=tls_context()) as browser:
            callback = world.remembered["started at"] + "/callback"
            return await login(browser, provider_url, login_name, stop_at=callback)

    return str(asyncio.run(browse()))


def come_back(world: World, callback: str, *, other_browser: bool = False) -> httpx.Response:
    """The browser arriving at the callback (the suite's client, or another browser that has none of its
    cookies); the target's answer is the redirect to the site."""
    world.remembered["callback"] = callback
    response = world.record(other_browser_get(world, callback) if other_browser else get(world, callback))
    if response.is_redirect:
        world.remembered["site redirect"] = response.headers["location"]
    return response


# The suite's provider is an OpenID provider, and its userinfo endpoint (as Keycloak's since version 20)
# answers only access tokens granted the openid scope. A target's provider slot may not ask for it by itself
# (GoTrue's keycloak slot asks for "profile email" only), so the client adds it as GoTrue's documented
# `scopes` parameter of /authorize, as Supabase's Keycloak guide tells clients to; a slot that already asks
# for openid is unaffected.
EXTRA_SCOPES = "openid"


def authorize_query(world: World, *, redirect_to: str | None = None, pkce: bool = False) -> dict[str, str]:
    query = {"provider": world.target.oauth.provider or "", "redirect_to": redirect_to or site(world)}
    query["scopes"] = EXTRA_SCOPES
    if pkce:
        verifier = secrets.token_urlsafe(48)
        world.remembered["code verifier"] = verifier
        query |= {"code_challenge": s256(verifier), "code_challenge_method": "s256"}
    return query


def site(world: World) -> str:
    return world.target.oauth.redirect_to or "http://localhost:3000"


def begin(world: World, query: dict[str, str], token: str | None = None, linking: bool = False) -> str:
    """The provider URL the target sends the browser to; the instance that said so gets the callback."""
    if linking:
        path = "/user/identities/authorize?" + urlencode({**query, "skip_http_redirect": "true"})
        response = world.record(world.client.request("GET", path, token=token))
        assert response.status_code == 200, f"linking: {unexpected_status(200, response)}"
        location = json_body(response)["url"]
    else:
        response = world.record(world.client.request("GET", "/authorize?" + urlencode(query), api_version=False))
        assert response.is_redirect, f"/authorize: expected a redirect to the provider, got {response.status_code}"
        location = response.headers["location"]
    world.remembered["started at"] = root_of(world, str(response.request.url))
    world.remembered["provider request"] = location
    return location


def sign_in(world: World, name: str, *, login_name: str | None = None, **query_options: Any) -> httpx.Response:
    provider_url = begin(world, authorize_query(world, **query_options))
    response = come_back(world, through_provider(world, provider_url, login_name or provider_login(world, name)))
    adopt_from_fragment(world, name)
    return response


def site_values(world: World) -> tuple[dict[str, str], dict[str, str]]:
    """What the site receives: the query values and the fragment values of the redirect."""
    location = world.remembered.get("site redirect")
    assert location, f"the callback did not redirect: {unexpected_status(302, world.last())}"
    parts = urlsplit(location)
    return flat_query(parts.query), flat_query(parts.fragment)


def flat_query(raw: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(raw).items()}


def adopt_from_fragment(world: World, name: str) -> None:
    if "site redirect" not in world.remembered:
        return
    fragment = site_values(world)[1]
    if "access_token" not in fragment or "refresh_token" not in fragment:
        return
    actor = world.actor(name)
    if actor.user_id:
        world.remembered.setdefault(f"user_id before:{name}", actor.user_id)
    user = world.client.request("GET", "/user", token=fragment["access_token"])
    assert user.status_code == 200, f"GET /user with the fragment's access token: {unexpected_status(200, user)}"
    actor.adopt({**fragment, "user": json_body(user)})


def exchange(world: World, verifier: str, extra: dict[str, Any] | None = None) -> httpx.Response:
    code = site_values(world)[0].get("code")
    assert code, "the site received no auth code"
    body = {"auth_code": code, "code_verifier": verifier, **(extra or {})}
    return world.record(world.client.request("POST", "/token?grant_type=pkce", json=body))


def require_oauth(world: World) -> None:
    if not (world.target.oauth.provider and world.target.oauth.issuer):
        pytest.skip("not applicable: the target file names no [oauth] provider slot and issuer")
    if world.client.base_url != world.target.base_url.rstrip("/"):
        require_provider_on_variant(world)


def require_provider_on_variant(world: World) -> None:
    """A variant of the target (another server) may lack the provider slot of the target file."""
    settings = json_body(world.client.request("GET", "/settings")) or {}
    provider = world.target.oauth.provider
    if (settings.get("external") or {}).get(provider) is not True:
        pytest.skip(f"not applicable: the target's variant at {world.client.base_url} does not enable {provider!r}")


def require_id_token_checks(world: World) -> None:
    """A slot that reads the user from the provider's userinfo endpoint never looks at the ID token, so a
    wrong one changes nothing there (GoTrue's keycloak slot, for one)."""
    if not world.target.oauth.checks_id_token:
        pytest.skip(
            "not applicable: the target's provider slot reads the user from userinfo and never looks at the"
            " ID token ([oauth] checks_id_token = false)"
        )


def nonce_sent(world: World) -> str | None:
    """The nonce of the target's last authorization request to the provider, if it sent one."""
    return flat_query(urlsplit(world.remembered["provider request"]).query).get("nonce") or None


# --- given -------------------------------------------------------------------------------------------


@given("the target signs in through the suite's OpenID provider")
def target_uses_suite_provider(world: World) -> None:
    require_oauth(world)


@given(phrase("the target's OAuth flows expire within {seconds:d} seconds"), converters={"seconds": int})
def flows_expire_soon(world: World, seconds: int) -> None:
    ttl = world.target.oauth.flow_ttl
    if ttl is None or ttl > seconds:
        pytest.skip(f"not applicable: the target's [oauth] flow_ttl is {ttl}, not at most {seconds} s")


@given(phrase('"{name}" has signed in through the provider'))
def has_signed_in(world: World, name: str) -> None:
    sign_in(world, name)
    assert "access_token" in site_values(world)[1], f"setup: {name} signing in through the provider failed"
    world.remembered[f"user_id before:{name}"] = world.actor(name).user_id


@given("the target sends the provider a nonce")
def target_sends_nonce(world: World) -> None:
    """Begins a sign-in (left unfinished) to read the target's authorization request to the provider."""
    begin(world, authorize_query(world))
    if nonce_sent(world) is None:
        pytest.skip("not applicable: the target's authorization request carries no nonce (OPTIONAL in the code flow)")


@given(phrase('the provider issues the ID tokens of "{name}" for another audience'))
def wrong_audience(world: World, name: str) -> None:
    require_id_token_checks(world)
    misbehave(world.target.oauth.issuer, "wrong_audience", provider_login(world, name))  # type: ignore[arg-type]


@given(phrase('the provider issues the ID tokens of "{name}" with another nonce'))
def wrong_nonce(world: World, name: str) -> None:
    require_id_token_checks(world)
    misbehave(world.target.oauth.issuer, "wrong_nonce", provider_login(world, name))  # type: ignore[arg-type]


@given(phrase('"{name}" signed up with the provider address of "{owner}" and a password, unconfirmed'))
def signed_up_with_address_of(world: World, name: str, owner: str) -> None:
    """Someone who does not own the address signs it up with a password of their own; the target confirms
    addresses by mail, so the account waits unconfirmed with that password."""
    actor = world.actor(name)
    actor.email, actor.password = provider_login(world, owner), "gp-" + secrets.token_urlsafe(12)
    response = world.client.request("POST", "/signup", json={"email": actor.email, "password": actor.password})
    assert response.status_code == 200, f"setup: POST /signup: {unexpected_status(200, response)}"
    assert "access_token" not in json_body(response), "setup: the target signed the address up without confirming it"


# --- when --------------------------------------------------------------------------------------------


@when(phrase('"{name}" signs in through the provider'))
def signs_in(world: World, name: str) -> None:
    sign_in(world, name)


@when(phrase('"{name}" signs in through the provider with PKCE'))
def signs_in_with_pkce(world: World, name: str) -> None:
    sign_in(world, name, pkce=True)
    world.remembered["flow started"] = time.monotonic()


@when(phrase('"{name}" signs in through the provider asking to come back to "{url}"'))
def signs_in_redirecting(world: World, name: str, url: str) -> None:
    sign_in(world, name, redirect_to=url)


@when(phrase('"{name}" exchanges the auth code with their code verifier'))
def exchanges(world: World, name: str) -> None:
    response = exchange(world, world.remembered["code verifier"])
    if response.status_code == 200:
        world.actor(name).adopt(json_body(response))


@when(phrase('"{name}" exchanges the auth code with a wrong code verifier'))
def exchanges_wrongly(world: World, name: str) -> None:
    exchange(world, secrets.token_urlsafe(48))


@when(
    phrase(
        'someone signs in through the provider as "{name}" with PKCE carrying the anonymous refresh token of "{anon}"'
    )
)
def signs_in_merging(world: World, name: str, anon: str) -> None:
    sign_in(world, name, pkce=True)
    response = exchange(world, world.remembered["code verifier"], {MERGE_FIELD: world.actor(anon).refresh_token()})
    if response.status_code == 200:
        world.actor(name).adopt(json_body(response))


@when(phrase('"{name}" links their provider account'))
def links(world: World, name: str) -> None:
    links_account_of(world, name, name)


@when(phrase('"{name}" links the provider account of "{owner}"'))
def links_account_of(world: World, name: str, owner: str) -> None:
    actor = world.actor(name)
    world.remembered.setdefault(f"user_id:{name}", actor.user_id)
    provider_url = begin(world, authorize_query(world), token=actor.access_token(), linking=True)
    come_back(world, through_provider(world, provider_url, provider_login(world, owner)))
    adopt_from_fragment(world, name)


def start_link(world: World, name: str, *, pkce: bool) -> None:
    world.remembered.setdefault(f"user_id:{name}", world.actor(name).user_id)
    token = world.actor(name).access_token()
    world.remembered["link url"] = begin(world, authorize_query(world, pkce=pkce), token=token, linking=True)


@when(phrase('"{name}" starts linking a provider account'))
def starts_link(world: World, name: str) -> None:
    start_link(world, name, pkce=False)


@when(phrase('"{name}" starts linking a provider account with PKCE'))
def starts_link_pkce(world: World, name: str) -> None:
    start_link(world, name, pkce=True)


@when(phrase('"{name}" opens that link in their own browser and signs in at the provider'))
def completes_link_elsewhere(world: World, name: str) -> None:
    """The victim's browser: it signs in at the provider as `name` and follows the redirect to the
    target's callback, with none of the cookies of the client that started the link."""
    callback = through_provider(world, world.remembered["link url"], provider_login(world, name))
    come_back(world, callback, other_browser=True)


@when(phrase('"{name}" comes back from the provider with a forged state'))
def forged_state(world: World, name: str) -> None:
    provider_url = begin(world, authorize_query(world))
    callback = urlsplit(through_provider(world, provider_url, provider_login(world, name)))
    query = flat_query(callback.query)
    query["state"] = str(uuid.uuid4())  # shaped like GoTrue's own states, so it is looked up, not just parsed
    world.record(get(world, urlunsplit(callback._replace(query=urlencode(query)))))


@when(phrase('the callback of "{name}" is replayed'))
def replays_callback(world: World, name: str) -> None:
    world.record(get(world, world.remembered["callback"]))


@when("the OAuth flow's lifetime has passed")
def flow_lifetime_passes(world: World) -> None:
    ttl = world.target.oauth.flow_ttl
    assert ttl is not None and ttl <= MAX_WAIT, "the scenario must first check the target's flow lifetime"
    wait_until(world.remembered["flow started"] + ttl)


@when(phrase('"{name}" unlinks their provider identity'))
def unlinks(world: World, name: str) -> None:
    actor = world.actor(name)
    identities = [i for i in actor.session()["user"].get("identities") or [] if i.get("provider") != "email"]
    assert identities, f"{name}'s user lists no identity of the provider"
    path = f"/user/identities/{identities[0]['identity_id']}"
    world.record(world.client.request("DELETE", path, token=actor.access_token()))


# --- then --------------------------------------------------------------------------------------------


@then("the site receives a session in the URL fragment")
def session_in_fragment(world: World) -> None:
    query, fragment = site_values(world)
    missing = [key for key in SESSION_KEYS if key not in fragment]
    assert not missing, f"the fragment lacks {missing}: {sorted(fragment)} (error: {fragment.get('error_code')})"
    assert fragment["token_type"].lower() == "bearer", f"token_type is {fragment['token_type']!r}"
    leaked = [key for key in ("access_token", "refresh_token") if key in query]
    assert not leaked, f"the query string carries {leaked}: tokens in a query reach servers and logs"


@then("the site receives an auth code and no token")
def code_in_query(world: World) -> None:
    query, fragment = site_values(world)
    assert query.get("code"), f"the redirect's query has no code: {sorted(query)}"
    leaked = [key for key in ("access_token", "refresh_token") if key in query or key in fragment]
    assert not leaked, f"the redirect carries {leaked} besides the code"


@then(phrase('the callback is refused with {status:d} "{code}" or a redirect carrying it'), converters={"status": int})
def callback_refused(world: World, status: int, code: str) -> None:
    """Refused before any flow is known: an error answer, or a redirect (to the site) naming the error,
    with no credential anywhere in it."""
    response = world.last()
    if not response.is_redirect:
        assert_refused(response, status, code)
        tokens = [key for key in SESSION_KEYS[:2] if key in (json_body(response) or {})]
        assert not tokens, f"the refusal carries {tokens}"
        return
    parts = urlsplit(response.headers["location"])
    query, fragment = flat_query(parts.query), flat_query(parts.fragment)
    values = {**query, **fragment}
    assert values.get("error_code") == code, f"the callback redirected with error_code {values.get('error_code')!r}"
    leaked = [key for key in CREDENTIALS if key in query or key in fragment]
    assert not leaked, f"the error redirect carries {leaked}"


@then(phrase('that browser gets no session, and any error it gets is "{code}"'))
def other_browser_no_session(world: World, code: str) -> None:
    """Either refused, or given only what cannot become a session there (an auth code whose verifier
    only the client that started the flow holds)."""
    response = world.last()
    if not response.is_redirect:
        assert_refused(response, 400, code)
        return
    query, fragment = site_values(world)
    leaked = [key for key in ("access_token", "refresh_token", "provider_token") if key in query or key in fragment]
    assert not leaked, f"the browser that did not start the link received {leaked}"
    error_code = {**query, **fragment}.get("error_code")
    assert error_code in (None, code), f"the callback redirected with error_code {error_code!r}, not {code!r}"


@then(phrase('"{name}" is another user than "{other}"'))
def other_user(world: World, name: str, other: str) -> None:
    mine, theirs = world.actor(name).user_id, world.remembered.get(f"user_id:{other}") or world.actor(other).user_id
    assert mine and theirs, f"{name} or {other} has no user id"
    assert mine != theirs, f"{name} signed in to {other}'s user {theirs}"


@then(phrase('"{name}" has a confirmed address and only the identity of the provider'))
def only_provider_identity(world: World, name: str) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, unexpected_status(200, response)
    user = json_body(response)
    assert user.get("email_confirmed_at"), "the user's address is not confirmed"
    providers = [identity.get("provider") for identity in user.get("identities") or []]
    assert providers == [world.target.oauth.provider], f"the user's identities are {providers}"


@then("the target sent the provider a nonce")
def target_sent_nonce(world: World) -> None:
    assert nonce_sent(world), f"the authorization request carries no nonce: {world.remembered['provider request']}"


@then(phrase('the site receives the error "{code}"'))
def site_error(world: World, code: str) -> None:
    query, fragment = site_values(world)
    values = {**query, **fragment}
    assert values.get("error_code") == code, f"the site received {values.get('error_code')!r}: {values}"
    assert values.get("error"), "the redirect names no error"
    leaked = [key for key in CREDENTIALS if key in values]
    assert not leaked, f"the error redirect still carries {leaked}"


@then(phrase('the browser is not sent to "{url}"'))
def not_sent_to(world: World, url: str) -> None:
    location = world.remembered["site redirect"]
    assert not location.startswith(url), f"the session went to {location}"
    assert location.startswith(site(world)), f"the callback redirected to {location}, not to the site {site(world)}"


@then(phrase('"{name}"\'s access token has the amr method "{method}"'))
def amr_method(world: World, name: str, method: str) -> None:
    methods = [entry.get("method") for entry in claims_of(world.actor(name).access_token()).get("amr", [])]
    assert method in methods, f"amr methods are {methods}, without {method!r}"


@then(phrase('"{name}" is a permanent user with the provider\'s email and an identity of the provider'))
def permanent_with_identity(world: World, name: str) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, unexpected_status(200, response)
    user = json_body(response)
    assert user.get("is_anonymous") is False, "the user is anonymous"
    assert user.get("email") == provider_login(world, name), f"the user's email is {user.get('email')!r}"
    providers = [identity.get("provider") for identity in user.get("identities") or []]
    assert world.target.oauth.provider in providers, f"the user's identities are {providers}"


@then(phrase('"{name}" has no identity of the provider'))
def no_identity(world: World, name: str) -> None:
    response = world.client.request("GET", "/user", token=world.actor(name).access_token())
    assert response.status_code == 200, unexpected_status(200, response)
    providers = [identity.get("provider") for identity in json_body(response).get("identities") or []]
    assert world.target.oauth.provider not in providers, f"the user's identities are {providers}"


@then(phrase('"{name}" has the user id they had before'))
def same_user_id(world: World, name: str) -> None:
    before = world.remembered.get(f"user_id before:{name}")
    assert before, f"{name} had no user id before"
    assert world.actor(name).user_id == before, f"{name} is now {world.actor(name).user_id}, was {before}"


@then("the settings enable the provider")
def settings_enable_provider(world: World) -> None:
    external = json_body(world.last()).get("external") or {}
    provider = world.target.oauth.provider
    assert external.get(provider) is True, f"GET /settings external.{provider} is {external.get(provider)!r}"


# --- the manual linking switch -----------------------------------------------------------------------

MANUAL_LINKING_DISABLED = "manual_linking_disabled"


@given("a variant of the target with manual identity linking disabled")
def manual_linking_disabled_variant(world: World) -> None:
    url = world.target.variants.get(MANUAL_LINKING_DISABLED)
    if not url:
        pytest.skip(f"not applicable: the target file names no [variants] {MANUAL_LINKING_DISABLED} server")
    world.client.base_url = url.rstrip("/")


@given(phrase('a user "{name}" who signed up there with a password'))
def signed_up_there(world: World, name: str) -> None:
    """Through POST /signup, which a variant answers with a session when it confirms automatically; a
    variant's keys may differ from the target's."""
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), "gp-" + secrets.token_urlsafe(12)
    response = world.client.request("POST", "/signup", json={"email": actor.email, "password": actor.password})
    assert response.status_code == 200, f"setup: signing up {name}: {unexpected_status(200, response)}"
    if "access_token" not in json_body(response):
        pytest.skip("not applicable: the variant confirms addresses by mail, so a sign-up gives no session")
    actor.adopt(json_body(response))


@when(phrase('"{name}" asks to link an identity of the provider'))
def asks_to_link(world: World, name: str) -> None:
    provider = world.target.oauth.provider or "google"
    query = urlencode({"provider": provider, "skip_http_redirect": "true"})
    path = f"/user/identities/authorize?{query}"
    world.record(world.client.request("GET", path, token=world.actor(name).access_token()))


@when(phrase('"{name}" unlinks their email identity'))
def unlinks_email_identity(world: World, name: str) -> None:
    token = world.actor(name).access_token()
    user = json_body(world.client.request("GET", "/user", token=token)) or {}
    email_ids = [i.get("identity_id") for i in user.get("identities") or [] if i.get("provider") == "email"]
    assert email_ids, f"setup: {name} has no email identity"
    world.record(world.client.request("DELETE", f"/user/identities/{email_ids[0]}", token=token))


@then("the response carries the provider's authorization URL")
def carries_authorization_url(world: World) -> None:
    assert world.last().status_code == 200, unexpected_status(200, world.last())
    url = (json_body(world.last()) or {}).get("url")
    assert isinstance(url, str) and url.startswith("http"), f"the answer carries no URL: {json_body(world.last())}"
