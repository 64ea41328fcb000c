"""The one check every session the suite receives goes through, whatever issued it: a sign-in of any
kind, a refresh, an MFA step-up, a session handed over in a redirect's fragment. The client runs it on
each answer that carries an access token (a JSON body, or the fragment of a redirect), so no scenario
can receive a session without it.

What it asks of every session:
- `token_type` is "bearer" and the refresh token is a non-empty string;
- `expires_at` is the access token's `exp`, in Unix seconds; `expires_in` is `exp - iat` (GoTrue counts
  it from the moment of its answer, so it may be a few seconds less); `iat` is the time of the request;
- the user object (absent from a fragment) has its fields, with the token's subject as its id and the
  token's `is_anonymous`;
- `aal` is aal1 or aal2, and aal2 only with a second factor in `amr`; an anonymous session names the
  anonymous method;
- `amr` lists `{method, timestamp}`, each timestamp in Unix seconds, none later than `iat`.
What it asks of the three kinds of answer:
- a sign-in: the newest `amr` entry is this authentication, stamped within a few seconds of `iat`;
- a refresh: the same `session_id` as the session of the refresh token sent, and every method the
  session had keeps its timestamp (refreshing authenticates nobody);
- a step-up (`POST /factors/{id}/verify`): the same `session_id` as the caller's token, aal2, a second
  factor stamped afresh (not before the caller's token was issued), and every earlier entry of another
  method kept with its timestamp."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

CLOCK_SKEW = 30  # seconds the target's clock may differ from the suite's
SERVER_SLACK = 5  # seconds a server may take between stamping an authentication and issuing the token
EARLIEST = 1_000_000_000  # 2001-09-09: a timestamp before it is not Unix seconds
SECOND_FACTORS = frozenset({"totp", "mfa/phone", "mfa/webauthn"})
ANONYMOUS = "anonymous"
SIGN_IN, REFRESH, STEP_UP = "sign-in", "refresh", "step-up"
STEP_UP_PATH = re.compile(r"/factors/[^/]+/verify$")
USER_FIELDS: dict[str, type] = {
    "id": str,
    "aud": str,
    "role": str,
    "email": str,
    "phone": str,
    "app_metadata": dict,
    "user_metadata": dict,
    "identities": list,
    "created_at": str,
    "updated_at": str,
    "is_anonymous": bool,
}
NO_STORE = "no-store"
NO_CACHE = "no-cache"


class SessionCheckError(AssertionError):
    pass


@dataclass(frozen=True)
class Issue:
    """How a session answer came: its kind, when it was asked for and answered (the suite's clock), and the
    claims of the session it continues (the refresh token's, or the caller's token at a step-up)."""

    kind: str
    sent_at: float
    received_at: float
    before: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SessionAnswer:
    request: str
    claims: dict[str, Any]
    sent_at: float
    received_at: float
    uncached: bool
    """whether the answer said Cache-Control: no-store and Pragma: no-cache"""


def kind_of(request: httpx.Request) -> str:
    path = request.url.path
    if request.method == "POST" and path.endswith("/token") and request.url.params.get("grant_type") == "refresh_token":
        return REFRESH
    if request.method == "POST" and STEP_UP_PATH.search(request.url.path):
        return STEP_UP
    return SIGN_IN


def session_in(response: httpx.Response) -> dict[str, Any] | None:
    """The session a response carries: its JSON body, or the fragment of the redirect it answers."""
    if response.is_redirect:
        fragment = urlsplit(response.headers.get("location", "")).fragment
        values = {key: found[0] for key, found in parse_qs(fragment).items()}
        if "access_token" not in values:
            return None
        for key in ("expires_in", "expires_at"):
            if key in values:
                values[key] = int(values[key]) if values[key].isdigit() else values[key]
        return values
    if not response.is_success or "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and "access_token" in body else None


def require(condition: bool, message: str) -> None:
    if not condition:
        raise SessionCheckError(message)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_session(session: Mapping[str, Any], issue: Issue) -> dict[str, Any]:
    """Every rule above; the access token's claims."""
    token_type = session.get("token_type")
    require(isinstance(token_type, str) and token_type.lower() == "bearer", f"token_type is {token_type!r}")
    refresh_token = session.get("refresh_token")
    require(isinstance(refresh_token, str) and bool(refresh_token), f"the refresh token is {refresh_token!r}")
    claims = claims_of(session.get("access_token"))
    check_expiry(session, claims, issue)
    if "user" in session:
        check_user(session["user"], claims)
    check_assurance(claims)
    check_amr(claims, issue)
    return claims


def claims_of(token: Any) -> dict[str, Any]:
    require(isinstance(token, str) and token.count(".") == 2, "the access token is not a JWT")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise SessionCheckError(f"the access token cannot be read: {error}") from None
    missing = [name for name in ("sub", "exp", "iat", "aal", "amr", "session_id", "is_anonymous") if name not in claims]
    require(not missing, f"the access token lacks the claims {missing}")
    try:
        uuid.UUID(str(claims["session_id"]))
    except ValueError:
        raise SessionCheckError(f"session_id {claims['session_id']!r} is not a UUID") from None
    return claims


def check_expiry(session: Mapping[str, Any], claims: dict[str, Any], issue: Issue) -> None:
    exp, iat = claims["exp"], claims["iat"]
    require(is_int(exp) and is_int(iat), f"exp {exp!r} and iat {iat!r} are not whole seconds")
    require(
        issue.sent_at - CLOCK_SKEW <= iat <= issue.received_at + CLOCK_SKEW,
        f"iat {iat} is not the time of the request ({int(issue.sent_at)}, Unix seconds)",
    )
    expires_at, expires_in = session.get("expires_at"), session.get("expires_in")
    require(
        is_int(expires_at) and expires_at == exp,
        f"expires_at {expires_at!r} is not the access token's exp {exp} (Unix seconds)",
    )
    require(
        is_int(expires_in) and 0 <= (exp - iat) - expires_in <= SERVER_SLACK,
        f"expires_in {expires_in!r} is not the access token's lifetime exp - iat = {exp - iat}",
    )


def check_user(user: Any, claims: dict[str, Any]) -> None:
    require(isinstance(user, dict), "the session's user is not a JSON object")
    for key, kind in USER_FIELDS.items():
        value = user.get(key)
        require(
            isinstance(value, kind) and (kind is bool or not isinstance(value, bool)),
            f"user.{key} is {value!r}, expected {kind.__name__}",
        )
    require(user["id"] == claims["sub"], f"user.id {user['id']} is not the access token's subject {claims['sub']}")
    require(
        user["is_anonymous"] is claims["is_anonymous"],
        f"user.is_anonymous is {user['is_anonymous']!r}, the access token says {claims['is_anonymous']!r}",
    )


def check_assurance(claims: dict[str, Any]) -> None:
    aal, amr, anonymous = claims["aal"], claims["amr"], claims["is_anonymous"]
    require(aal in ("aal1", "aal2"), f"aal is {aal!r}")
    require(isinstance(anonymous, bool), f"the is_anonymous claim is {anonymous!r}, not a boolean")
    require(isinstance(amr, list) and bool(amr), f"amr is {amr!r}, not a non-empty list")
    for entry in amr:
        require(
            isinstance(entry, dict) and isinstance(entry.get("method"), str) and bool(entry["method"]),
            f"amr entry {entry!r} names no method",
        )
    methods = {entry["method"] for entry in amr}
    require(aal != "aal2" or bool(methods & SECOND_FACTORS), f"aal2 without a second factor in amr {amr}")
    require(not anonymous or ANONYMOUS in methods, f"an anonymous session whose amr {amr} names no anonymous method")


def check_amr(claims: dict[str, Any], issue: Issue) -> None:
    amr, iat = claims["amr"], claims["iat"]
    for entry in amr:
        stamp = entry.get("timestamp")
        require(
            is_int(stamp) and EARLIEST <= stamp <= iat,
            f"amr timestamp {stamp!r} of {entry['method']!r} is not Unix seconds at or before iat {iat}",
        )
    before = issue.before
    if issue.kind == SIGN_IN:
        newest = max(entry["timestamp"] for entry in amr)
        require(
            newest >= iat - SERVER_SLACK,
            f"no amr entry is this sign-in: the newest, {newest}, is older than iat {iat} by more than"
            f" {SERVER_SLACK} s",
        )
    elif issue.kind == REFRESH and before is not None:
        require(claims["session_id"] == before["session_id"], "refreshing changed the session_id")
        kept = {entry["method"]: entry["timestamp"] for entry in amr}
        for entry in before["amr"]:
            stamp = kept.get(entry["method"], entry["timestamp"])
            require(
                stamp == entry["timestamp"],
                f"refreshing moved the amr timestamp of {entry['method']!r} from {entry['timestamp']} to {stamp}",
            )
    elif issue.kind == STEP_UP and before is not None:
        check_step_up(claims, before)


def check_step_up(claims: dict[str, Any], before: Mapping[str, Any]) -> None:
    require(claims["session_id"] == before["session_id"], "the step-up answered another session than the caller's")
    require(claims["aal"] == "aal2", f"the step-up answered aal {claims['aal']!r}")
    factors = [entry for entry in claims["amr"] if entry["method"] in SECOND_FACTORS]
    require(bool(factors), f"the step-up names no second factor in amr {claims['amr']}")
    newest = max(factors, key=lambda entry: entry["timestamp"])
    require(
        newest["timestamp"] >= before["iat"] and newest["timestamp"] >= claims["iat"] - SERVER_SLACK,
        f"the step-up's amr entry {newest} is not stamped at the step-up (the caller's token dates from"
        f" {before['iat']}, the new one from {claims['iat']})",
    )
    dropped = [e for e in before["amr"] if e["method"] != newest["method"] and e not in claims["amr"]]
    require(not dropped, f"the step-up dropped or restamped the earlier amr entries {dropped}")


def bearer_claims(request: httpx.Request) -> dict[str, Any] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    try:
        return jwt.decode(header[7:], options={"verify_signature": False})
    except jwt.PyJWTError:
        return None


def sent_refresh_token(request: httpx.Request) -> str | None:
    try:
        body = json.loads(request.content or b"{}")
    except ValueError:
        return None
    token = body.get("refresh_token") if isinstance(body, dict) else None
    return token if isinstance(token, str) else None


@dataclass
class SessionLedger:
    """The sessions one scenario has received, each checked as it arrives: refresh tokens to their
    session, and each session's latest claims, so that the next refresh or step-up is checked against them."""

    answers: list[SessionAnswer] = field(default_factory=list)
    session_of_refresh_token: dict[str, str] = field(default_factory=dict)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, request: httpx.Request, response: httpx.Response, sent_at: float, received_at: float) -> None:
        session = session_in(response)
        if session is None:
            return
        kind = kind_of(request)
        issue = Issue(kind, sent_at, received_at, self.continued(request, kind))
        described = f"{request.method} {request.url.path}" + (
            f"?{request.url.query.decode()}" if request.url.query else ""
        )
        try:
            claims = check_session(session, issue)
        except SessionCheckError as error:
            raise AssertionError(f"the session answered to {described}: {error}") from None
        headers = response.headers
        uncached = (
            NO_STORE in headers.get("cache-control", "").lower() and NO_CACHE in headers.get("pragma", "").lower()
        )
        with self.lock:
            self.answers.append(SessionAnswer(described, claims, sent_at, received_at, uncached))
            self.session_of_refresh_token[session["refresh_token"]] = claims["session_id"]
            self.latest[claims["session_id"]] = claims

    def continued(self, request: httpx.Request, kind: str) -> dict[str, Any] | None:
        if kind == STEP_UP:
            return bearer_claims(request)
        if kind == REFRESH:
            session_id = self.session_of_refresh_token.get(sent_refresh_token(request) or "")
            return self.latest.get(session_id) if session_id else None
        return None
