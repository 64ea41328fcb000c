"""The official Python client, unmodified, against the reference server over TCP."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pyotp
import pytest
from supabase_auth import SyncGoTrueClient
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError
from support import served

from guestpass.conformance.embedded import OIDC_CALLBACK
from guestpass.fixtures.mail import MailCapture
from guestpass.fixtures.oidc import OidcProvider, native_id_token, node_available


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("client")
    with served(workdir, "--profile", "test", "--database-url", f"sqlite:///{workdir / 'client.db'}") as described:
        yield described


def client(target: dict[str, Any]) -> SyncGoTrueClient:
    return SyncGoTrueClient(
        url=target["base_url"],
        headers={"apikey": target["keys"]["anon"]},
        auto_refresh_token=False,
        persist_session=True,
        http_client=httpx.Client(headers={"Sb-Forwarded-For": f"10.9.{uuid.uuid4().int % 250}.1"}),
    )


def email() -> str:
    return f"client-{uuid.uuid4().hex[:10]}@guestpass.test"


def test_anonymous_sign_in_then_conversion_keeps_the_user(target: dict[str, Any]) -> None:
    auth = client(target)
    signed_in = auth.sign_in_anonymously({"options": {"data": {"dog": "Bentley"}}})
    assert signed_in.user is not None and signed_in.session is not None
    assert signed_in.user.is_anonymous is True
    assert signed_in.user.user_metadata == {"dog": "Bentley"}
    anonymous_id = signed_in.user.id

    address = email()
    updated = auth.update_user({"email": address})
    assert updated.user.id == anonymous_id and updated.user.email == address
    updated = auth.update_user({"password": "a-new-password-1"})
    assert updated.user.is_anonymous is False

    refreshed = auth.refresh_session()
    assert refreshed.user is not None and refreshed.user.id == anonymous_id
    assert refreshed.session is not None and refreshed.session.refresh_token != signed_in.session.refresh_token

    fresh = client(target)
    again = fresh.sign_in_with_password({"email": address, "password": "a-new-password-1"})
    assert again.user is not None and again.user.id == anonymous_id


def test_sign_up_sign_in_get_user_and_sign_out(target: dict[str, Any]) -> None:
    auth = client(target)
    address = email()
    signed_up = auth.sign_up({"email": address, "password": "correct-horse-1"})
    assert signed_up.user is not None and signed_up.user.email == address
    assert signed_up.session is not None

    signed_in = auth.sign_in_with_password({"email": address, "password": "correct-horse-1"})
    assert signed_in.session is not None
    access_token = signed_in.session.access_token
    user = auth.get_user()
    assert user is not None and user.user.id == signed_up.user.id
    assert [identity.provider for identity in user.user.identities or []] == ["email"]

    auth.sign_out({"scope": "local"})
    assert auth.get_session() is None
    with pytest.raises(AuthApiError) as refused:
        auth.get_user(access_token)
    assert refused.value.status == 403 and refused.value.code == "session_not_found"


def test_errors_carry_their_codes(target: dict[str, Any]) -> None:
    auth = client(target)
    with pytest.raises(AuthApiError) as refused:
        auth.sign_in_with_password({"email": email(), "password": "whatever-password"})
    assert refused.value.status == 400 and refused.value.code == "invalid_credentials"

    with pytest.raises(AuthWeakPasswordError) as weak:
        auth.sign_up({"email": email(), "password": "abc"})
    assert weak.value.status == 422 and weak.value.reasons == ["length"]


def test_mfa_totp_enrollment_challenge_and_verify_reach_aal2(target: dict[str, Any]) -> None:
    auth = client(target)
    signed_up = auth.sign_up({"email": email(), "password": "correct-horse-1"})
    assert signed_up.session is not None

    enrolled = auth.mfa.enroll({"factor_type": "totp", "friendly_name": "phone", "issuer": "guestpass"})
    assert enrolled.type == "totp" and enrolled.friendly_name == "phone" and enrolled.totp is not None
    assert enrolled.totp.qr_code.startswith("data:image/svg+xml;utf-8,<svg")
    assert auth.mfa.get_authenticator_assurance_level().current_level == "aal1"

    challenge = auth.mfa.challenge({"factor_id": enrolled.id})
    code = pyotp.TOTP(enrolled.totp.secret).now()
    verified = auth.mfa.verify({"factor_id": enrolled.id, "challenge_id": challenge.id, "code": code})
    assert verified.user is not None and verified.user.id == signed_up.session.user.id

    level = auth.mfa.get_authenticator_assurance_level()
    assert level.current_level == "aal2" and level.next_level == "aal2"
    assert level.current_authentication_methods[0].method == "totp"
    assert [factor.id for factor in auth.mfa.list_factors().totp] == [enrolled.id]


def standard_service_key(target: dict[str, Any]) -> str:
    """A service-role key as Supabase hands them out: HS256 over the shared secret, issuer "supabase",
    no expiry."""
    return jwt.encode({"iss": "supabase", "role": "service_role", "iat": 1767225600}, target["keys"]["jwt_secret"])


def admin_client(target: dict[str, Any]) -> SyncGoTrueClient:
    key = standard_service_key(target)
    return SyncGoTrueClient(
        url=target["base_url"],
        headers={"apikey": key, "Authorization": f"Bearer {key}"},
        auto_refresh_token=False,
        persist_session=False,
    )


def test_admin_calls_with_a_standard_service_key(target: dict[str, Any]) -> None:
    admin = admin_client(target).admin
    address = email()
    created = admin.create_user({"email": address, "password": "admin-made-1", "email_confirm": True}).user
    assert created.email == address

    listed = admin.list_users(page=1, per_page=500)
    assert created.id in [user.id for user in listed]
    assert admin.get_user_by_id(created.id).user.email == address

    updated = admin.update_user_by_id(
        created.id, {"user_metadata": {"plan": "pro"}, "app_metadata": {"tier": "gold"}, "password": "admin-set-2"}
    ).user
    assert updated.user_metadata["plan"] == "pro" and updated.app_metadata["tier"] == "gold"
    user = client(target)
    signed_in = user.sign_in_with_password({"email": address, "password": "admin-set-2"})
    assert signed_in.session is not None

    enrolled = user.mfa.enroll({"factor_type": "totp", "friendly_name": "phone"})
    factors = admin.mfa.list_factors({"user_id": created.id})
    assert [factor.id for factor in factors] == [enrolled.id]
    assert admin.mfa.delete_factor({"user_id": created.id, "id": enrolled.id}).id == enrolled.id

    for link_type in ("email_change_current", "email_change_new"):
        link = admin.generate_link({"type": link_type, "email": address, "new_email": email()})
        assert link.properties.verification_type == link_type

    banned = admin.update_user_by_id(created.id, {"ban_duration": "24h"}).user
    assert banned.banned_until is not None
    with pytest.raises(AuthApiError) as refused:
        client(target).sign_in_with_password({"email": address, "password": "admin-set-2"})
    assert refused.value.code == "user_banned"

    admin.delete_user(created.id)
    with pytest.raises(AuthApiError) as gone:
        admin.get_user_by_id(created.id)
    assert gone.value.status == 404 and gone.value.code == "user_not_found"


# --- resend, reauthenticate and the id_token grant, on a server that mails and has an OpenID provider -----


SEND_INTERVAL = 1.2  # the test profile's mail_send_interval, and a little


@pytest.fixture(scope="module")
def mail() -> Iterator[MailCapture]:
    with MailCapture() as capture:
        yield capture


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    if not node_available():
        pytest.skip("Node.js and npm are needed for the OpenID provider")
    with OidcProvider([OIDC_CALLBACK], any_loopback_port=True, client_secret=secrets.token_urlsafe(24)) as running:
        yield running


@pytest.fixture(scope="module")
def full_target(
    tmp_path_factory: pytest.TempPathFactory, mail: MailCapture, provider: OidcProvider
) -> Iterator[dict[str, Any]]:
    """A server that mails to `mail`, signs in through `provider` and requires reauthentication."""
    workdir = tmp_path_factory.mktemp("client-full")
    settings = {"issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret}
    env = {
        "GUESTPASS_OIDC_PROVIDERS": json.dumps({"guestpass": settings}),
        "GUESTPASS_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION": "true",
    }
    args = ("--profile", "test", "--smtp-port", str(mail.port), "--database-url", f"sqlite:///{workdir / 'full.db'}")
    with served(workdir, *args, env=env) as described:
        yield described


def test_resend_and_reauthenticate_before_a_password_change(full_target: dict[str, Any], mail: MailCapture) -> None:
    auth, address = client(full_target), email()
    assert auth.sign_up({"email": address, "password": "correct-horse-1"}).session is not None
    auth.resend({"type": "signup", "email": address})  # already confirmed: nothing to send, no error
    with pytest.raises(AuthApiError) as refused:
        auth.update_user({"password": "correct-horse-2"})
    assert refused.value.status == 400 and refused.value.code == "reauthentication_needed"
    time.sleep(SEND_INTERVAL)  # one mail per address per send interval, resends included
    auth.reauthenticate()
    messages = mail.wait_for(address, 1)
    assert len(messages) == 1 and messages[0].code, "no reauthentication code was mailed"
    updated = auth.update_user({"password": "correct-horse-2", "nonce": messages[0].code})
    assert updated.user.email == address
    assert client(full_target).sign_in_with_password({"email": address, "password": "correct-horse-2"}).session


def test_sign_in_with_id_token(full_target: dict[str, Any], provider: OidcProvider) -> None:
    raw_nonce, account = secrets.token_urlsafe(24), email()
    token = native_id_token(provider, full_target["base_url"], account, raw_nonce)
    auth = client(full_target)
    signed_in = auth.sign_in_with_id_token({"provider": "guestpass", "token": token, "nonce": raw_nonce})
    assert signed_in.session is not None and signed_in.user is not None and signed_in.user.email == account
    assert auth.get_user().user.id == signed_in.user.id
