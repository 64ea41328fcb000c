"""Steps for the service-role admin API."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_bdd import given, then, when

from guestpass.conformance.jwt_tools import server_signing_key
from guestpass.conformance.mailbox import MAIL_WAIT_SECONDS, Mail
from guestpass.conformance.steps.common import json_body, unexpected_status
from guestpass.conformance.steps.core import new_password
from guestpass.conformance.steps.mail import mail_of, receive_for, remember_mail
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World, unique_email


@when(phrase('the service role creates the confirmed user "{name}"'))
def service_role_creates(world: World, name: str) -> None:
    if not world.target.service_role_key:
        pytest.skip("not applicable: the target file gives no service_role key")
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    response = world.record(
        world.client.request(
            "POST",
            "/admin/users",
            token=world.target.service_role_key,
            json={"email": actor.email, "password": actor.password, "email_confirm": True},
        )
    )
    if response.status_code == 200:
        actor.user_id = response.json()["id"]


@when("the anon key is used to create a user through the admin API")
def anon_key_admin(world: World) -> None:
    if not world.target.anon_key:
        pytest.skip("not applicable: the target file gives no anon key")
    world.record(
        world.client.request(
            "POST",
            "/admin/users",
            token=world.target.anon_key,
            json={"email": unique_email("intruder"), "password": new_password()},
        )
    )


@when(phrase('the service role deletes the user "{name}"'))
def service_role_deletes(world: World, name: str) -> None:
    if not world.target.service_role_key:
        pytest.skip("not applicable: the target file gives no service_role key")
    world.record(
        world.client.request("DELETE", f"/admin/users/{world.actor(name).user_id}", token=world.target.service_role_key)
    )


@when(phrase('"{name}" deletes the user "{other}" through the admin API'))
def user_deletes_through_admin(world: World, name: str, other: str) -> None:
    world.record(
        world.client.request(
            "DELETE", f"/admin/users/{world.actor(other).user_id}", token=world.actor(name).access_token()
        )
    )


# --- admin keys --------------------------------------------------------------------------------------


def service_role(world: World) -> str:
    if not world.target.service_role_key:
        pytest.skip("not applicable: the target file gives no service_role key")
    return world.target.service_role_key


def server_key_id(world: World, key: Any, algorithm: str) -> str | None:
    """The id the server's JWKS gives the shared key pair (an HS256 secret has none)."""
    if algorithm == "HS256":
        return None
    jwks = json_body(world.client.request("GET", "/.well-known/jwks.json")) or {}
    public = key.public_key().public_numbers()
    for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
        try:
            if jwt.PyJWK(jwk).key.public_numbers() == public:
                return jwk.get("kid")
        except (jwt.PyJWTError, AttributeError):
            continue
    return None


def admin_key(world: World, claims: dict[str, Any], *, foreign: bool = False) -> str:
    """A key with exactly `claims`, signed as the server signs (or with a key it never saw)."""
    found = server_signing_key(world.target)
    if found is None:
        pytest.skip("not applicable: the target file shares no signing key (jwt_secret or jwt_private_key_file)")
    key, algorithm = found
    kid = server_key_id(world, key, algorithm)
    if foreign:
        key = (
            "guestpass-foreign-secret-" + "x" * 32 if algorithm == "HS256" else ec.generate_private_key(ec.SECP256R1())
        )
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def list_users_with(world: World, key: str, query: str = "") -> None:
    world.record(world.client.request("GET", "/admin/users" + query, token=key))


@when(phrase('a client lists the users with a server-signed key that carries only the role "{role}"'))
def lists_with_role_only(world: World, role: str) -> None:
    list_users_with(world, admin_key(world, {"role": role}))


@when(phrase('a client lists the users with a server-signed key of role "{role}" from the issuer "{issuer}"'))
def lists_with_issuer(world: World, role: str, issuer: str) -> None:
    list_users_with(world, admin_key(world, {"role": role, "iss": issuer, "iat": int(time.time())}))


@when(phrase('a client lists the users with an expired server-signed key of role "{role}"'))
def lists_with_expired(world: World, role: str) -> None:
    now = int(time.time())
    list_users_with(world, admin_key(world, {"role": role, "iat": now - 7200, "exp": now - 3600}))


@when(phrase('a client lists the users with a key of role "{role}" signed by a key the target never saw'))
def lists_with_foreign(world: World, role: str) -> None:
    list_users_with(world, admin_key(world, {"role": role}, foreign=True))


# --- listing, reading and updating users -------------------------------------------------------------


@given(
    phrase("the service role has created {count:d} confirmed users whose addresses share a new tag"),
    converters={"count": int},
)
def created_tagged_users(world: World, count: int) -> None:
    tag = "tag" + uuid.uuid4().hex[:12]
    world.remembered["tag"] = tag
    for index in range(count):
        body = {"email": f"{tag}-{index}@guestpass.test", "password": new_password(), "email_confirm": True}
        response = world.client.request("POST", "/admin/users", token=service_role(world), json=body)
        assert response.status_code == 200, f"setup: creating a user: {unexpected_status(200, response)}"


@when(
    phrase("the service role lists the users with that tag, page {page:d} at {per_page:d} per page"),
    converters={"page": int, "per_page": int},
)
def lists_tagged(world: World, page: int, per_page: int) -> None:
    query = "?" + urlencode({"filter": world.remembered["tag"], "page": page, "per_page": per_page})
    list_users_with(world, service_role(world), query)


@then(phrase("the response lists {count:d} users with that tag"), converters={"count": int})
def lists_count(world: World, count: int) -> None:
    listed = (json_body(world.last()) or {}).get("users")
    assert isinstance(listed, list), f"the answer has no users list: {json_body(world.last())}"
    emails = [user.get("email", "") for user in listed]
    assert len(listed) == count, f"the page lists {len(listed)} users: {emails}"
    assert all(email.startswith(world.remembered["tag"]) for email in emails), f"the page lists {emails}"


@then(phrase('the Link header names page {page:d} as "{rel}"'), converters={"page": int})
def link_names_page(world: World, page: int, rel: str) -> None:
    header = world.last().headers.get("link", "")
    pages = {
        match["rel"]: parse_qs(urlsplit(match["url"]).query).get("page", [""])[0]
        for match in re.finditer(r'<(?P<url>[^>]*)>;\s*rel="(?P<rel>[^"]+)"', header)
    }
    assert pages.get(rel) == str(page), f'the Link header {header!r} does not name page {page} as "{rel}"'


@then(phrase('the Link header names no "{rel}" page'))
def link_names_no_page(world: World, rel: str) -> None:
    header = world.last().headers.get("link", "")
    assert f'rel="{rel}"' not in header, f'the Link header {header!r} names a "{rel}" page'


@when(phrase('the service role reads the user "{name}"'))
def reads_user(world: World, name: str) -> None:
    path = f"/admin/users/{world.actor(name).user_id}"
    world.record(world.client.request("GET", path, token=service_role(world)))


@when("the service role reads a user id that no user has")
def reads_unknown_user(world: World) -> None:
    world.record(world.client.request("GET", f"/admin/users/{uuid.uuid4()}", token=service_role(world)))


@then(phrase('the response is the user "{name}"'))
def response_is_user(world: World, name: str) -> None:
    actor, body = world.actor(name), json_body(world.last()) or {}
    assert world.last().status_code == 200, unexpected_status(200, world.last())
    assert body.get("id") == actor.user_id, f"the answer is the user {body.get('id')!r}, not {actor.user_id!r}"
    assert body.get("email") == actor.email, f"the answer's email is {body.get('email')!r}, not {actor.email!r}"


def update_user(world: World, name: str, body: dict[str, Any]) -> None:
    path = f"/admin/users/{world.actor(name).user_id}"
    world.record(world.client.request("PUT", path, token=service_role(world), json=body))


@when(phrase('the service role updates the user "{name}" with JSON'))
def updates_user(world: World, name: str, docstring: str) -> None:
    update_user(world, name, json.loads(docstring))


@when(phrase('the service role sets a new password for "{name}"'))
def sets_password(world: World, name: str) -> None:
    actor = world.actor(name)
    password = new_password()
    update_user(world, name, {"password": password})
    if world.last().status_code == 200:
        actor.password = password


@when(phrase('the service role changes the email of "{name}" to a new confirmed address'))
def changes_email(world: World, name: str) -> None:
    actor = world.actor(name)
    email = unique_email(name)
    update_user(world, name, {"email": email, "email_confirm": True})
    if world.last().status_code == 200:
        actor.email = email


@given(phrase('the service role has created the unconfirmed user "{name}"'))
def created_unconfirmed(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    body = {"email": actor.email, "password": actor.password}
    response = world.client.request("POST", "/admin/users", token=service_role(world), json=body)
    assert response.status_code == 200, f"setup: creating {name}: {unexpected_status(200, response)}"
    actor.user_id = json_body(response)["id"]


@given(phrase('the service role has banned "{name}" for "{duration}"'))
def has_banned(world: World, name: str, duration: str) -> None:
    update_user(world, name, {"ban_duration": duration})
    assert world.last().status_code == 200, f"setup: banning {name}: {unexpected_status(200, world.last())}"


@when(phrase('the service role bans "{name}" for "{duration}"'))
def bans(world: World, name: str, duration: str) -> None:
    update_user(world, name, {"ban_duration": duration})


@when(phrase('the service role lifts the ban on "{name}"'))
def lifts_ban(world: World, name: str) -> None:
    update_user(world, name, {"ban_duration": "none"})


# --- invitations and links ---------------------------------------------------------------------------


@when(phrase('the service role invites a new address for "{name}"'))
def invites(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email = unique_email(name)
    world.record(world.client.request("POST", "/invite", token=service_role(world), json={"email": actor.email}))
    if world.last().status_code == 200:
        actor.user_id = json_body(world.last()).get("id")


@when(phrase('the service role invites the address of "{name}"'))
def invites_existing(world: World, name: str) -> None:
    body = {"email": world.actor(name).email}
    world.record(world.client.request("POST", "/invite", token=service_role(world), json=body))


@then(phrase('"{name}" receives an invitation mail with a link'))
def receives_invitation(world: World, name: str) -> None:
    address = world.actor(name).email
    assert address, f"{name} has no address"
    if world.mail is None:
        pytest.skip("not applicable: reading the invitation needs the capture SMTP server")
    found = world.mail.wait_for(address, 1, timeout=MAIL_WAIT_SECONDS)
    assert found, f"no invitation reached {address} within {MAIL_WAIT_SECONDS:.0f} s"
    assert found[-1].verify_link, "the invitation carries no /verify link"


@when(phrase('the service role generates an "{link_type}" link for "{name}" to a new address'))
def generates_email_change_link(world: World, name: str, link_type: str) -> None:
    actor = world.actor(name)
    actor.new_email = unique_email(name)
    body = {"type": link_type, "email": actor.email, "new_email": actor.new_email}
    world.record(world.client.request("POST", "/admin/generate_link", token=service_role(world), json=body))


# --- a user's factors and passkeys -------------------------------------------------------------------


def user_path(world: World, name: str, rest: str) -> str:
    return f"/admin/users/{world.actor(name).user_id}/{rest}"


@when(phrase('the service role lists the factors of "{name}"'))
def lists_factors(world: World, name: str) -> None:
    world.record(world.client.request("GET", user_path(world, name, "factors"), token=service_role(world)))


@when(phrase('the service role deletes the factor of "{name}"'))
def deletes_factor(world: World, name: str) -> None:
    factor = world.remembered.get(f"factor:{name}")
    assert factor, f"{name} has enrolled no factor"
    path = user_path(world, name, f"factors/{factor['id']}")
    world.record(world.client.request("DELETE", path, token=service_role(world)))


@when(phrase('the service role deletes a factor id that "{name}" does not have'))
def deletes_unknown_factor(world: World, name: str) -> None:
    path = user_path(world, name, f"factors/{uuid.uuid4()}")
    world.record(world.client.request("DELETE", path, token=service_role(world)))


@then(phrase('the response lists exactly the factor of "{name}"'))
def lists_the_factor(world: World, name: str) -> None:
    assert world.last().status_code == 200, unexpected_status(200, world.last())
    listed = json_body(world.last())
    factor = world.remembered.get(f"factor:{name}") or {}
    ids = [entry.get("id") for entry in listed] if isinstance(listed, list) else listed
    assert ids == [factor.get("id")], f"the answer lists {ids}, not [{factor.get('id')!r}]"


@when(phrase('the service role lists the passkeys of "{name}"'))
def lists_passkeys(world: World, name: str) -> None:
    world.record(world.client.request("GET", user_path(world, name, "passkeys"), token=service_role(world)))


@then(phrase("the response lists {count:d} passkey"), converters={"count": int})
def lists_passkey_count(world: World, count: int) -> None:
    assert world.last().status_code == 200, unexpected_status(200, world.last())
    listed = json_body(world.last())
    assert isinstance(listed, list) and len(listed) == count, f"the answer lists {listed!r}"
    world.remembered["listed passkeys"] = listed


@when(phrase('the service role deletes the passkey of "{name}"'))
def deletes_passkey(world: World, name: str) -> None:
    response = world.client.request("GET", user_path(world, name, "passkeys"), token=service_role(world))
    listed = json_body(response)
    assert response.status_code == 200 and listed, f"setup: the passkeys of {name}: {unexpected_status(200, response)}"
    path = user_path(world, name, f"passkeys/{listed[0]['id']}")
    world.record(world.client.request("DELETE", path, token=service_role(world)))


@when(phrase('the service role deletes a passkey id that "{name}" does not have'))
def deletes_unknown_passkey(world: World, name: str) -> None:
    path = user_path(world, name, f"passkeys/{uuid.uuid4()}")
    world.record(world.client.request("DELETE", path, token=service_role(world)))


@then(phrase('"{name}" has no passkeys'))
def has_no_passkeys(world: World, name: str) -> None:
    response = world.client.request("GET", "/passkeys", token=world.actor(name).access_token())
    assert response.status_code == 200, unexpected_status(200, response)
    assert json_body(response) == [], f"GET /passkeys still lists {json_body(response)}"


# --- settings ----------------------------------------------------------------------------------------

# GoTrue's Settings (internal/api/settings.go): every top-level field and its JSON type
SETTINGS_FIELDS: dict[str, type] = {
    "external": dict,
    "disable_signup": bool,
    "mailer_autoconfirm": bool,
    "phone_autoconfirm": bool,
    "sms_provider": str,
    "saml_enabled": bool,
    "saml_private_key_next_configured": bool,
    "passkeys_enabled": bool,
}


@then("the settings carry every top-level field of the dialect with its type")
def settings_fields(world: World) -> None:
    body = json_body(world.last())
    assert isinstance(body, dict), f"GET /settings answered {body!r}"
    missing = [name for name in SETTINGS_FIELDS if name not in body]
    assert not missing, f"GET /settings lacks {missing}"
    wrong = {name: body[name] for name, kind in SETTINGS_FIELDS.items() if not isinstance(body[name], kind)}
    assert not wrong, f"GET /settings has fields of the wrong type: {wrong}"


@then(phrase('the response JSON field "{path}" is missing'))
def field_missing(world: World, path: str) -> None:
    """Absent, or null: GoTrue leaves empty optional fields out."""
    value = json_body(world.last())
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    assert value is None, f"the response JSON field {path!r} is {value!r}"


# --- accepting an invitation -------------------------------------------------------------------------


@given(phrase('the service role has invited a new address for "{name}"'))
def has_invited(world: World, name: str) -> None:
    invites(world, name)
    assert world.last().status_code == 200, f"setup: POST /invite: {unexpected_status(200, world.last())}"
    world.remembered[f"user_id:{name}"] = world.actor(name).user_id


@given(phrase('"{name}" has received the invitation mail'))
def has_received_invitation(world: World, name: str) -> None:
    mail = receive_for(world, world.actor(name), "invitation")
    assert mail.code or mail.link, "the invitation carries neither a code nor a link"


@when(phrase('"{name}" verifies the invitation code from the mail with type "{verify_type}"'))
def verifies_invitation(world: World, name: str, verify_type: str) -> None:
    actor, mail = world.actor(name), mail_of(world, name, "invitation")
    if not mail.code:
        pytest.skip("not applicable: the target's invitation mail carries no code (only a link)")
    body = {"type": verify_type, "email": actor.email, "token": mail.code}
    response = world.record(world.client.request("POST", "/verify", json=body))
    if response.status_code == 200 and "access_token" in json_body(response):
        actor.adopt(json_body(response))


@when(phrase('the service role generates an invite link for a new address for "{name}"'))
def generates_invite_link(world: World, name: str) -> None:
    actor = world.actor(name)
    actor.email = unique_email(name)
    body = {"type": "invite", "email": actor.email}
    response = world.record(world.client.request("POST", "/admin/generate_link", token=service_role(world), json=body))
    if response.status_code == 200:
        properties = json_body(response).get("properties", json_body(response))
        actor.user_id = json_body(response).get("id") or (json_body(response).get("user") or {}).get("id")
        world.remembered[f"user_id:{name}"] = actor.user_id
        remember_mail(world, name, "invitation", Mail(properties.get("email_otp"), properties.get("action_link")))


@when(phrase('the service role generates an invite link for the address of "{name}"'))
def generates_invite_link_existing(world: World, name: str) -> None:
    body = {"type": "invite", "email": world.actor(name).email}
    world.record(world.client.request("POST", "/admin/generate_link", token=service_role(world), json=body))


@then(phrase('the response is an invite link for "{name}" in GoTrue\'s shape'))
def invite_link_shape(world: World, name: str) -> None:
    response = world.last()
    assert response.status_code == 200, unexpected_status(200, response)
    body = json_body(response)
    properties = body.get("properties", body)
    missing = [
        key for key in ("action_link", "email_otp", "hashed_token", "verification_type") if not properties.get(key)
    ]
    assert not missing, f"the answer lacks {missing}"
    assert properties["verification_type"] == "invite", f"verification_type is {properties['verification_type']!r}"
    link = urlsplit(properties["action_link"])
    assert link.path.endswith("/verify"), f"the action link goes to {link.path}, not /verify"
    assert parse_qs(link.query).get("type") == ["invite"], (
        f"the action link's type is {parse_qs(link.query).get('type')}"
    )
    user = body.get("user", body)
    assert user.get("email") == world.actor(name).email, f"the user's email is {user.get('email')!r}"
    assert user.get("invited_at"), "the user has no invited_at"
    assert not user.get("email_confirmed_at"), "the invited user is confirmed already"
