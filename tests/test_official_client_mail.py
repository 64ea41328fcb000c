"""The official Python client, unmodified, through the mail flows of the reference server over TCP,
with the codes read from the capture SMTP server the reference server mails to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from supabase_auth import SyncGoTrueClient
from supabase_auth.errors import AuthApiError
from support import served

from guestpass.fixtures.mail import MailCapture


@pytest.fixture(scope="module")
def mail() -> Iterator[MailCapture]:
    with MailCapture() as capture:
        yield capture


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, mail: MailCapture) -> Iterator[dict[str, Any]]:
    workdir: Path = tmp_path_factory.mktemp("client-mail")
    database = f"sqlite:///{workdir / 'client.db'}"
    with served(workdir, "--profile", "test", "--smtp-port", str(mail.port), "--database-url", database) as described:
        yield described


def client(target: dict[str, Any]) -> SyncGoTrueClient:
    return SyncGoTrueClient(
        url=target["base_url"],
        headers={"apikey": target["keys"]["anon"]},
        auto_refresh_token=False,
        persist_session=True,
        http_client=httpx.Client(headers={"Sb-Forwarded-For": f"10.8.{uuid.uuid4().int % 250}.1"}),
    )


def code_for(mail: MailCapture, address: str, count: int = 1) -> str:
    messages = mail.wait_for(address, count)
    assert len(messages) >= count, f"no mail reached {address}"
    code = messages[count - 1].code
    assert code is not None
    return code


def registered(target: dict[str, Any]) -> tuple[SyncGoTrueClient, str, str]:
    auth, email, password = client(target), f"client-{uuid.uuid4().hex[:10]}@guestpass.test", "first-password-1"
    assert auth.sign_up({"email": email, "password": password}).session is not None
    return auth, email, password


def test_reset_password_for_email_then_verify_otp(target: dict[str, Any], mail: MailCapture) -> None:
    auth, email, old_password = registered(target)
    other_device = client(target)
    other_device.sign_in_with_password({"email": email, "password": old_password})

    auth.reset_password_for_email(email, {"redirect_to": "http://localhost:3000/reset"})
    recovered = auth.verify_otp({"email": email, "token": code_for(mail, email), "type": "recovery"})
    assert recovered.session is not None and recovered.user is not None and recovered.user.email == email
    auth.update_user({"password": "second-password-2"})

    with pytest.raises(AuthApiError):
        client(target).sign_in_with_password({"email": email, "password": old_password})
    assert client(target).sign_in_with_password({"email": email, "password": "second-password-2"}).session
    with pytest.raises(AuthApiError):
        other_device.get_user()


def test_sign_in_with_otp_then_verify_otp(target: dict[str, Any], mail: MailCapture) -> None:
    _, email, _ = registered(target)
    auth = client(target)
    auth.sign_in_with_otp({"email": email, "options": {"should_create_user": False}})
    signed_in = auth.verify_otp({"email": email, "token": code_for(mail, email), "type": "email"})
    assert signed_in.session is not None and signed_in.user is not None and signed_in.user.email == email


def test_update_user_email_needs_both_confirmations(target: dict[str, Any], mail: MailCapture) -> None:
    auth, email, _ = registered(target)
    new_email = f"client-new-{uuid.uuid4().hex[:10]}@guestpass.test"
    auth.update_user({"email": new_email})
    half = auth.verify_otp({"email": email, "token": code_for(mail, email), "type": "email_change"})
    assert half.session is None
    done = auth.verify_otp({"email": new_email, "token": code_for(mail, new_email), "type": "email_change"})
    assert done.user is not None and done.user.email == new_email


def test_invite_user_by_email_with_a_standard_service_key(target: dict[str, Any], mail: MailCapture) -> None:
    key = jwt.encode({"iss": "supabase", "role": "service_role", "iat": 1767225600}, target["keys"]["jwt_secret"])
    admin = SyncGoTrueClient(
        url=target["base_url"], headers={"apikey": key, "Authorization": f"Bearer {key}"}, auto_refresh_token=False
    ).admin
    address = f"invited-{uuid.uuid4().hex[:10]}@guestpass.test"
    invited = admin.invite_user_by_email(address, {"data": {"team": "blue"}}).user
    assert invited.email == address and invited.invited_at is not None and invited.email_confirmed_at is None
    assert invited.user_metadata == {"team": "blue"}
    messages = mail.wait_for(address, 1)
    assert messages and messages[0].verify_link, f"no invitation with a link reached {address}"
