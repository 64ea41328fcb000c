"""Real sessions for the fuzzer: an anonymous one and a permanent one, created through the API, refreshed
before they expire and replaced once a request may have ended them (a logout, a deletion, a 401/403)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from guestpass.conformance.target import Target

ANONYMOUS, PERMANENT = "anonymous", "permanent"
REFRESH_MARGIN = 60.0
PASSWORD_BYTES = 18


@dataclass
class Session:
    kind: str
    access_token: str
    refresh_token: str
    expires_at: float
    suspect: bool = False

    @classmethod
    def from_json(cls, kind: str, body: dict[str, Any]) -> Session:
        expires_at = body.get("expires_at") or time.time() + float(body.get("expires_in", 0))
        return cls(kind, body["access_token"], body["refresh_token"], float(expires_at))


def session_body(response: httpx.Response) -> dict[str, Any] | None:
    if response.status_code != 200:
        return None
    body = response.json()
    return body if isinstance(body, dict) and "access_token" in body and "refresh_token" in body else None


class Sessions:
    """Hands out bearer tokens, anonymous and permanent in turn, each alive when handed out."""

    def __init__(self, target: Target, client: httpx.Client, client_key: Callable[[], dict[str, str]]) -> None:
        self.target = target
        self.client = client
        self.client_key = client_key
        self.current: dict[str, Session | None] = {}
        self.turn = 0
        self.created = 0

    def user_token(self) -> str | None:
        kinds = (ANONYMOUS, PERMANENT) if self.turn % 2 == 0 else (PERMANENT, ANONYMOUS)
        self.turn += 1
        for kind in kinds:
            session = self.alive(kind)
            if session is not None:
                return session.access_token
        return None

    def service_role_token(self) -> str | None:
        return self.target.service_role_key

    def doubt(self, access_token: str) -> None:
        """A response suggests the session of this token may have ended: check it before its next use."""
        for session in self.current.values():
            if session is not None and session.access_token == access_token:
                session.suspect = True

    def alive(self, kind: str) -> Session | None:
        session = self.current.get(kind)
        if session is not None and session.suspect:
            session = session if self._still_valid(session) else None
        if session is not None and session.expires_at - time.time() < REFRESH_MARGIN:
            session = self._refreshed(session)
        if session is None:
            session = self._created(kind)
        self.current[kind] = session
        return session

    def _still_valid(self, session: Session) -> bool:
        response = self.client.get("/user", headers={"Authorization": f"Bearer {session.access_token}"})
        session.suspect = False
        return response.status_code == 200

    def _refreshed(self, session: Session) -> Session | None:
        response = self.client.post(
            "/token", params={"grant_type": "refresh_token"}, json={"refresh_token": session.refresh_token}
        )
        body = session_body(response)
        return Session.from_json(session.kind, body) if body else None

    def _created(self, kind: str) -> Session | None:
        body = self._anonymous_sign_in() if kind == ANONYMOUS else self._permanent_sign_in()
        if body is None:
            return None
        self.created += 1
        return Session.from_json(kind, body)

    def _anonymous_sign_in(self) -> dict[str, Any] | None:
        return session_body(self.client.post("/signup", json={}, headers=self.client_key()))

    def _permanent_sign_in(self) -> dict[str, Any] | None:
        """Sign-up with a fresh address; where addresses need confirming, the admin API creates a confirmed
        user instead (with the service-role key)."""
        email, password = f"fuzz-{uuid.uuid4().hex[:16]}@example.com", secrets.token_urlsafe(PASSWORD_BYTES)
        body = session_body(self.client.post("/signup", json={"email": email, "password": password}))
        if body is not None or not self.target.service_role_key:
            return body
        created = self.client.post(
            "/admin/users",
            json={"email": email, "password": password, "email_confirm": True},
            headers={"Authorization": f"Bearer {self.target.service_role_key}"},
        )
        if created.status_code != 200:
            return None
        credentials = {"email": email, "password": password}
        return session_body(self.client.post("/token", params={"grant_type": "password"}, json=credentials))
