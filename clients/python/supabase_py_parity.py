"""Drives a guestpass server through the official Python client, supabase-py's auth client
(`supabase-auth`), unmodified, over the ten calls that client makes and a Supabase Auth server
answers: admin calls with a standard service key, resend, reauthenticate with a nonce for a password
change, generate_link for email changes, sign-in with an ID token, the admin API (users, invitations,
a user's factors), a connection kept alive across a pause, `identity_data.email_verified`, manual
identity linking and the settings fields, and a security notice.

The server must confirm addresses by mail, require reauthentication for password changes, send
security notices, sign in through `--provider`, and mail to a capture server that writes each message
to `--mail-spool` as JSON (`guestpass.fixtures.mail.MailCapture(spool=...)` does):

    python supabase_py_parity.py --base-url http://127.0.0.1:9999/auth/v1 --anon-key eyJ... \\
      --service-key eyJ... --mail-spool /tmp/mail --provider guestpass --id-token eyJ... --nonce RAW

Prints one line per item and exits non-zero if any failed."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from supabase_auth import SyncGoTrueClient
from supabase_auth.errors import AuthApiError

PASSWORD = "correct-horse-1"
MAIL_WAIT_SECONDS = 10.0
KEEP_ALIVE_PAUSE = 6.0  # longer than uvicorn's default idle timeout of 5 s
CODE = re.compile(r"(?<![\w/=&#-])(\d{6,10})(?![\w/=&-])")
LINK = re.compile(r"https?://[^\s\"'<>]+")


def factor_ids(listed: Any) -> list[str]:
    return [factor.id for factor in getattr(listed, "factors", listed)]


class Parity:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.spool = Path(args.mail_spool)

    # --- helpers -------------------------------------------------------------------------------------

    def client(self, key: str | None = None) -> SyncGoTrueClient:
        headers = {"apikey": key or self.args.anon_key}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return SyncGoTrueClient(
            url=self.args.base_url, headers=headers, auto_refresh_token=False, persist_session=key is None
        )

    def admin(self) -> Any:
        return self.client(self.args.service_key).admin

    @staticmethod
    def address(label: str) -> str:
        return f"py-{label}-{uuid.uuid4().hex[:10]}@guestpass.test"

    def mails_to(self, address: str, count: int) -> list[dict[str, Any]]:
        """The messages to `address` in the spool once there are `count` (fails after the wait)."""
        deadline = time.monotonic() + MAIL_WAIT_SECONDS
        while True:
            found = []
            for path in sorted(self.spool.glob("*.json")):
                mail = json.loads(path.read_text())
                if address.lower() in mail["recipients"]:
                    found.append(mail)
            if len(found) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(found) >= count, f"{len(found)} mail(s) reached {address}, expected {count}"
        return found

    @staticmethod
    def code_of(mail: dict[str, Any]) -> str | None:
        match = CODE.search(LINK.sub(" ", mail["text"]))
        return match.group(1) if match else None

    def confirmed_user(self, label: str) -> tuple[str, str]:
        address = self.address(label)
        created = self.admin().create_user({"email": address, "password": PASSWORD, "email_confirm": True})
        return address, created.user.id

    def signed_in(self, address: str) -> SyncGoTrueClient:
        auth = self.client()
        auth.sign_in_with_password({"email": address, "password": PASSWORD})
        return auth

    # --- the ten items --------------------------------------------------------------------------------

    def admin_keys(self) -> str:
        users = self.admin().list_users(page=1, per_page=1)
        assert isinstance(users, list)
        return "a standard service key (no exp) lists users"

    def resend(self) -> str:
        address = self.address("resend")
        self.client().sign_up({"email": address, "password": PASSWORD})
        self.mails_to(address, 1)
        time.sleep(1.1)  # the send interval of the test profile
        self.client().resend({"type": "signup", "email": address})
        assert self.code_of(self.mails_to(address, 2)[-1]), "the resent confirmation carries no code"
        return "a confirmation mailed again"

    def reauthenticate(self) -> str:
        address, _ = self.confirmed_user("reauth")
        auth = self.signed_in(address)
        try:
            auth.update_user({"password": "another-password-1"})
        except AuthApiError as error:
            assert error.code == "reauthentication_needed", f"refused with {error.code}"
        else:
            raise AssertionError("the password changed without a nonce")
        auth.reauthenticate()
        nonce = self.code_of(self.mails_to(address, 1)[-1])
        assert nonce, "the reauthentication mail carries no code"
        auth.update_user({"password": "another-password-1", "nonce": nonce})
        self.client().sign_in_with_password({"email": address, "password": "another-password-1"})
        self.notice_address = address
        return "the mailed nonce changes the password"

    def generate_link(self) -> str:
        address, _ = self.confirmed_user("link")
        for link_type in ("email_change_current", "email_change_new"):
            params = {"type": link_type, "email": address, "new_email": self.address("new")}
            answer = self.admin().generate_link(params)
            assert answer.properties.verification_type == link_type, answer.properties.verification_type
        return "email_change_current and email_change_new echoed"

    def id_token(self) -> str:
        auth = self.client()
        credentials = {"provider": self.args.provider, "token": self.args.id_token, "nonce": self.args.nonce}
        answer = auth.sign_in_with_id_token(credentials)  # type: ignore[arg-type]
        assert answer.session is not None and answer.user is not None
        assert self.args.provider in [identity.provider for identity in answer.user.identities or []]
        return "signInWithIdToken gives a session"

    def admin_api(self) -> str:
        admin = self.admin()
        address, user_id = self.confirmed_user("admin")
        assert admin.get_user_by_id(user_id).user.email == address
        updated = admin.update_user_by_id(user_id, {"app_metadata": {"plan": "pro"}, "ban_duration": "none"})
        assert updated.user.app_metadata.get("plan") == "pro"
        auth = self.signed_in(address)
        factor = auth.mfa.enroll({"factor_type": "totp", "friendly_name": "phone"})
        assert factor_ids(admin.mfa.list_factors({"user_id": user_id})) == [factor.id]
        admin.mfa.delete_factor({"id": factor.id, "user_id": user_id})
        assert factor_ids(admin.mfa.list_factors({"user_id": user_id})) == []
        invited = self.address("invited")
        invitation = admin.invite_user_by_email(invited)
        assert invitation.user.invited_at, "the invited user has no invited_at"
        assert self.mails_to(invited, 1)[-1]["text"], "no invitation mail"
        admin.delete_user(invitation.user.id)
        try:
            admin.get_user_by_id(invitation.user.id)
        except AuthApiError as error:
            assert error.status == 404, error.status
        else:
            raise AssertionError("the deleted user is still there")
        return "get, update, factors, invite and delete"

    def keep_alive(self) -> str:
        address, _ = self.confirmed_user("idle")
        auth = self.signed_in(address)
        auth.get_user()
        time.sleep(KEEP_ALIVE_PAUSE)
        assert auth.get_user().user.email == address
        return f"a call after {KEEP_ALIVE_PAUSE:.0f} s idle"

    def email_verified(self) -> str:
        address = self.address("verified")
        answer = self.client().sign_up({"email": address, "password": PASSWORD})
        assert answer.session is None, "a sign-up that needs confirmation answered a session"
        data = [identity.identity_data for identity in answer.user.identities or []]
        assert data and data[0].get("email_verified") is False, data
        return "false until the address is confirmed"

    def linking_and_settings(self) -> str:
        address, _ = self.confirmed_user("linking")
        auth = self.signed_in(address)
        answer = auth.link_identity({"provider": self.args.provider})  # type: ignore[arg-type]
        assert answer.url.startswith("http"), answer.url
        settings = httpx.get(f"{self.args.base_url}/settings", headers={"apikey": self.args.anon_key}).json()
        missing = {"passkeys_enabled", "saml_private_key_next_configured"} - set(settings)
        assert not missing, f"/settings lacks {missing}"
        return "linkIdentity answers a URL; /settings has GoTrue's fields"

    def security_notice(self) -> str:
        address = getattr(self, "notice_address", None)
        assert address, "the reauthentication item did not change a password"
        notices = [m for m in self.mails_to(address, 2) if "password" in (m["subject"] + m["text"]).lower()]
        notices = [m for m in notices if self.code_of(m) is None]
        assert notices, "no password notice without a code"
        return "the password change is notified"


ITEMS: list[tuple[str, Callable[[Parity], str]]] = [
    ("1 admin keys", Parity.admin_keys),
    ("2 resend", Parity.resend),
    ("3 reauthenticate", Parity.reauthenticate),
    ("4 generate_link email change", Parity.generate_link),
    ("5 id_token sign-in", Parity.id_token),
    ("6 admin API", Parity.admin_api),
    ("7 keep-alive", Parity.keep_alive),
    ("8 email_verified", Parity.email_verified),
    ("9 manual linking and settings", Parity.linking_and_settings),
    ("10 security notice", Parity.security_notice),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--base-url", "--anon-key", "--service-key", "--mail-spool", "--provider", "--id-token", "--nonce"):
        parser.add_argument(name, required=True)
    parity = Parity(parser.parse_args(argv))
    failed = 0
    for name, item in ITEMS:
        try:
            print(f"ok    {name}: {item(parity)}", flush=True)
        except Exception as error:
            failed += 1
            print(f"FAIL  {name}: {error!r}", flush=True)
            traceback.print_exc(file=sys.stderr)
    print(f"{failed} of {len(ITEMS)} items failed" if failed else f"all {len(ITEMS)} items passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
