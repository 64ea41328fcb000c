"""Model-based testing: a Hypothesis state machine drives a target through random sequences of sign-ins,
refreshes, logouts, conversions, merges, contributions and self-deletes, and compares every answer with
a small model of which users, live sessions (with their refresh tokens) and owned rows must exist.

On a disagreement Hypothesis shrinks the sequence to a short failing program, which `run_model` prints
with the HTTP transcript of its last run."""

from __future__ import annotations

import json
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, TextIO

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as fixed_seed
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from guestpass.conformance.client import ApiClient
from guestpass.conformance.jwt_tools import claims_of
from guestpass.conformance.steps.common import error_code
from guestpass.conformance.target import Target
from guestpass.conformance.transcript import Exchange, Transcript, redact_json
from guestpass.conformance.waits import wait_until

LOGOUT_SCOPES = ("local", "others", "global")
MERGE_TOKENS = ("current", "rotated", "unknown", "named")
DEAD_REFRESH_CODES = ("refresh_token_not_found", "refresh_token_already_used")
TRANSCRIPT_TAIL = 12  # exchanges of the failing run printed after the program


@dataclass(eq=False)
class User:
    """A user the target must have (or must have forgotten, once `deleted`)."""

    id: str
    anonymous: bool
    email: str | None = None
    password: str | None = None
    deleted: bool = False
    rows: set[str] = field(default_factory=set)


@dataclass(eq=False)
class Session:
    """A session and the refresh tokens it has had; only `refresh_token` may be live."""

    user: User
    session_id: str
    access_token: str
    refresh_token: str
    rotated: list[tuple[str, float]] = field(default_factory=list)  # (token, monotonic time it was rotated)
    alive: bool = True


def redacted(content: bytes, limit: int = 300) -> str:
    """A body for a failure message: JSON with its tokens and passwords redacted, cut at `limit`."""
    try:
        text = json.dumps(redact_json(json.loads(content)), separators=(",", ":")) if content else ""
    except ValueError:
        text = content.decode(errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"


def describe(response: httpx.Response) -> str:
    """The status and the gist of the body: whose session or user it is, else the body, redacted."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("user"), dict) and "access_token" in body:
        user = body["user"]
        merge = f", anonymous_merge {json.dumps(body['anonymous_merge'])}" if "anonymous_merge" in body else ""
        return (
            f"{response.status_code} session of user {user.get('id')} (is_anonymous {user.get('is_anonymous')}){merge}"
        )
    if isinstance(body, dict) and "aud" in body and "id" in body:
        return f"{response.status_code} user {body['id']} (is_anonymous {body.get('is_anonymous')})"
    return f"{response.status_code} {redacted(response.content)}"


def expect(response: httpx.Response, status: int, *codes: str, what: str) -> Any:
    """The JSON body of `response`, which must have `status` (and, for an error, one of `codes`)."""
    expected = " ".join([str(status), *codes[:1]]) + "".join(f"/{code}" for code in codes[1:])
    assert response.status_code == status, f"{what}: expected {expected}, got {describe(response)}"
    if codes:
        assert error_code(response) in codes, f"{what}: expected code {'/'.join(codes)}, got {describe(response)}"
    return response.json() if response.content else None


def client_address() -> str:
    """A fresh address from the IPv6 documentation range, so that no two sign-ins share a rate-limit bucket."""
    return "2001:db8:" + ":".join(secrets.token_hex(2) for _ in range(6))


@dataclass
class Run:
    """What every example of one run shares: the target, one HTTP client, fresh emails."""

    target: Target
    client: ApiClient
    autoconfirm: bool
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    emails: int = 0
    rate_limited: int = 0

    def new_email(self) -> str:
        self.emails += 1
        return f"model-{self.prefix}-{self.emails}@guestpass.test"


class AuthModel(RuleBasedStateMachine):
    """Subclassed per run by `machine_for`, which sets `run`."""

    run: ClassVar[Run]
    accounts = Bundle("accounts")
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.client = self.run.client
        self.client.transcript = Transcript()  # each example keeps only its own exchanges
        self.target = self.run.target
        self.users: list[User] = []
        self.all_sessions: list[Session] = []
        self.ended: list[Session] = []  # sessions ended since the last invariant check
        self.sessions_changed = False
        self.rows_changed = False

    # --- capabilities (fixed for a run, so preconditions never flap) -------------------------------

    def claims(self, capability: str) -> bool:
        return self.target.claims(capability)

    def has_data_api(self) -> bool:
        return self.claims("owned-data") and self.target.data_base_url is not None

    def can_sign_up(self) -> bool:
        return self.run.autoconfirm or self.target.service_role_key is not None

    # --- requests ------------------------------------------------------------------------------------

    def post_token(self, grant: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.request("POST", f"/token?grant_type={grant}", json=body)

    def data(self, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        return self.client.request(method, path, token=token, json=body, base_url=self.target.data_base_url)

    def known(self, user: User) -> User:
        self.users.append(user)
        return user

    def adopt(self, user: User, body: dict[str, Any], what: str) -> Session:
        self.check_session_body(user, body, what)
        session_id = claims_of(body["access_token"])["session_id"]
        assert session_id not in {known.session_id for known in self.all_sessions}, f"{what}: an old session_id"
        session = Session(user, session_id, body["access_token"], body["refresh_token"])
        self.all_sessions.append(session)
        return session

    def check_session_body(self, user: User, body: dict[str, Any], what: str) -> None:
        assert body["user"]["id"] == user.id, f"{what}: the session is for user {body['user']['id']}, not {user.id}"
        assert body["user"]["is_anonymous"] is user.anonymous, f"{what}: user.is_anonymous is not {user.anonymous}"
        claims = claims_of(body["access_token"])
        assert claims["sub"] == user.id, f"{what}: the access token's sub is {claims['sub']}, not {user.id}"
        assert claims["is_anonymous"] is user.anonymous, f"{what}: the claim is_anonymous is not {user.anonymous}"

    def end(self, session: Session) -> None:
        if session.alive:
            session.alive = False
            self.ended.append(session)
            self.sessions_changed = True

    def end_all_of(self, user: User) -> None:
        for session in self.all_sessions:
            if session.user is user:
                self.end(session)

    # --- rules -----------------------------------------------------------------------------------------

    @initialize(target=sessions)
    def visitor(self) -> Any:
        """Every program starts with an anonymous visitor and a registered member, so that merges,
        conversions and logouts have something to act on from the first step."""
        return self.sign_in_anonymously() if self.claims("anonymous") else multiple()

    @initialize(target=accounts)
    def member(self) -> Any:
        return self.sign_up() if self.can_sign_up() else multiple()

    @precondition(lambda self: self.claims("anonymous"))
    @rule(target=sessions)
    def sign_in_anonymously(self) -> Any:
        header = self.target.rate_limits.header
        response = self.client.request("POST", "/signup", json={}, headers={header: client_address()} if header else {})
        if response.status_code == 429 and not header and error_code(response) == "over_request_rate_limit":
            self.run.rate_limited += 1  # every sign-in comes from one client: the target's limit is real
            return multiple()
        body = expect(response, 200, what="anonymous sign-in")
        user = self.known(User(body["user"]["id"], anonymous=True))
        assert body["user"]["identities"] == [], "anonymous sign-in: an anonymous user has no identities"
        return self.adopt(user, body, "anonymous sign-in")

    @precondition(lambda self: self.can_sign_up())
    @rule(target=accounts)
    def sign_up(self) -> User:
        email, password = self.run.new_email(), secrets.token_urlsafe(12)
        if not self.run.autoconfirm:
            response = self.client.request(
                "POST",
                "/admin/users",
                token=self.target.service_role_key,
                json={"email": email, "password": password, "email_confirm": True},
            )
            body = expect(response, 200, what="creating a confirmed user through the admin API")
            return self.known(User(body["id"], anonymous=False, email=email, password=password))
        body = expect(
            self.client.request("POST", "/signup", json={"email": email, "password": password}), 200, what="sign-up"
        )
        user = self.known(User(body["user"]["id"], anonymous=False, email=email, password=password))
        self.adopt(user, body, "sign-up")
        return user

    @rule(target=sessions, account=accounts)
    def sign_in(self, account: User) -> Any:
        response = self.post_token("password", {"email": account.email, "password": account.password})
        if account.deleted:
            expect(response, 400, "invalid_credentials", what="password sign-in of a deleted user")
            return multiple()
        body = expect(response, 200, what="password sign-in")
        assert "anonymous_merge" not in body, "password sign-in without a merge token: the answer has anonymous_merge"
        return self.adopt(account, body, "password sign-in")

    @precondition(lambda self: self.claims("merge"))
    @rule(target=sessions, account=accounts, source=sessions, token=st.sampled_from(MERGE_TOKENS))
    def sign_in_merging(self, account: User, source: Session, token: str) -> Any:
        """Password sign-in carrying `anonymous_refresh_token`: `source`'s current refresh token, its
        last rotated one (rotating it first if it never was), one the target never issued, or one it
        never issued beside `source`'s user id (naming a user is no proof of possession)."""
        raw = self.merge_token(source, token)
        body_out = {"email": account.email, "password": account.password, "anonymous_refresh_token": raw}
        if token == "named":
            body_out["anonymous_user_id"] = source.user.id
        response = self.post_token("password", body_out)
        if account.deleted:
            expect(response, 400, "invalid_credentials", what="merging sign-in of a deleted user")
            return multiple()
        body = expect(response, 200, what="merging sign-in")
        outcome = body.get("anonymous_merge") or {}
        anonymous = source.user
        mergeable = (
            raw == source.refresh_token
            and source.alive
            and anonymous.anonymous
            and not anonymous.deleted
            and anonymous is not account
        )
        if mergeable:
            assert outcome.get("status") == "merged", f"merging sign-in: expected merged, got {describe(response)}"
            assert outcome.get("from_user_id") == anonymous.id, f"merging sign-in: merged {outcome} not {anonymous.id}"
            moved = (outcome.get("moved") or {}).get("items")
            if self.has_data_api():
                assert moved == len(anonymous.rows), f"merging sign-in: moved {moved}, owned {len(anonymous.rows)}"
            account.rows |= anonymous.rows
            anonymous.rows, anonymous.deleted = set(), True
            self.end_all_of(anonymous)
            self.rows_changed = True
        else:
            assert outcome.get("status") == "rejected", f"merging sign-in: expected rejected, got {describe(response)}"
        return self.adopt(account, body, "merging sign-in")

    @rule(session=sessions)
    def refresh(self, session: Session) -> None:
        self.refresh_once(session)

    @rule(session=sessions, age=st.sampled_from((1, 2)))
    def replay_rotated_token(self, session: Session, age: int) -> None:
        """Presents a rotated refresh token of the session after the target's reuse interval. The last one
        (age 1) is the parent of the active token, a client that lost the answer: it is answered with the
        active token. An older one (age 2) is theft, so the whole session must end."""
        while len(session.rotated) < age and session.alive:
            self.refresh_once(session)
        if len(session.rotated) < age:
            return
        token, rotated_at = session.rotated[-age]
        wait_until(rotated_at + self.target.refresh_token_reuse_interval)
        response = self.post_token("refresh_token", {"refresh_token": token})
        if not session.alive:
            expect(response, 400, *DEAD_REFRESH_CODES, what="replaying a rotated refresh token of an ended session")
        elif age == 1:
            self.answered_with_active_token(session, response, "replaying the parent of the active token")
        else:
            expect(response, 400, "refresh_token_already_used", what="replaying an older rotated refresh token")
            self.end(session)

    @rule(session=sessions)
    def reuse_within_interval(self, session: Session) -> None:
        """Rotates the session's refresh token and at once presents the old one again, as a second tab
        would: no theft, so the same session goes on, with the same active token."""
        if not session.alive:
            return
        self.refresh_once(session)
        token, _ = session.rotated[-1]
        self.answered_with_active_token(session, self.post_token("refresh_token", {"refresh_token": token}), "reuse")

    def answered_with_active_token(self, session: Session, response: httpx.Response, what: str) -> None:
        body = expect(response, 200, what=what)
        self.check_session_body(session.user, body, what)
        assert claims_of(body["access_token"])["session_id"] == session.session_id, f"{what}: the session_id changed"
        assert body["refresh_token"] == session.refresh_token, f"{what}: a new refresh token, the chain forked"
        session.access_token = body["access_token"]

    @rule(session=sessions, scope=st.sampled_from(LOGOUT_SCOPES))
    def logout(self, session: Session, scope: str) -> None:
        response = self.client.request("POST", f"/logout?scope={scope}", token=session.access_token)
        if not session.alive:
            expect(response, 403, "session_not_found", what=f"logout ({scope}) from an ended session")
            return
        expect(response, 204, what=f"logout ({scope})")
        assert not response.content, f"logout ({scope}): 204 with a body"
        for other in self.all_sessions:
            if other.user is session.user and (scope == "global" or (other is session) == (scope == "local")):
                self.end(other)

    @precondition(lambda self: self.has_data_api())
    @rule(session=sessions)
    def contribute(self, session: Session) -> None:
        response = self.data("POST", "/items", session.access_token, {"body": f"row {secrets.token_hex(4)}"})
        if not session.alive:
            expect(response, 403, "session_not_found", what="contributing from an ended session")
            return
        row = expect(response, 201, what="contributing a row")
        assert row["user_id"] == session.user.id, f"contributing a row: owned by {row['user_id']}"
        session.user.rows.add(row["id"])
        self.rows_changed = True

    @precondition(lambda self: self.claims("anonymous") and self.run.autoconfirm)
    @rule(target=accounts, session=sessions)
    def convert(self, session: Session) -> Any:
        """PUT /user with an email and a password on an anonymous session: the same user, made permanent."""
        if session.alive and not session.user.anonymous:
            return multiple()  # a permanent user's email change needs mail; not modelled
        email, password = self.run.new_email(), secrets.token_urlsafe(12)
        response = self.client.request(
            "PUT", "/user", token=session.access_token, json={"email": email, "password": password}
        )
        if not session.alive:
            expect(response, 403, "session_not_found", what="converting from an ended session")
            return multiple()
        body = expect(response, 200, what="converting an anonymous user")
        user = session.user
        assert body["id"] == user.id, f"converting an anonymous user: the id changed to {body['id']}"
        assert body["is_anonymous"] is False, "converting an anonymous user: is_anonymous is still true"
        assert body["email"] == email, f"converting an anonymous user: email is {body['email']!r}"
        user.anonymous, user.email, user.password = False, email, password
        self.sessions_changed = True
        return user

    @precondition(lambda self: self.claims("self-delete"))
    @rule(session=sessions)
    def delete_self(self, session: Session) -> None:
        response = self.client.request("DELETE", "/user", token=session.access_token)
        if not session.alive:
            expect(response, 403, "session_not_found", what="self-delete from an ended session")
            return
        expect(response, 204, what="self-delete")
        session.user.deleted, session.user.rows = True, set()
        self.end_all_of(session.user)
        self.rows_changed = True

    # --- invariants ------------------------------------------------------------------------------------

    @invariant()
    def ended_sessions_are_refused(self) -> None:
        for session in self.ended:
            response = self.client.request("GET", "/user", token=session.access_token)
            expect(response, 403, "session_not_found", what="GET /user with an ended session's access token")
            response = self.post_token("refresh_token", {"refresh_token": session.refresh_token})
            expect(response, 400, *DEAD_REFRESH_CODES, what="refreshing with an ended session's refresh token")
        self.ended.clear()

    @invariant()
    def live_sessions_see_their_user(self) -> None:
        if not self.sessions_changed:
            return
        for session in self.live_sessions():
            body = expect(
                self.client.request("GET", "/user", token=session.access_token), 200, what="GET /user (live session)"
            )
            user = session.user
            assert body["id"] == user.id, f"GET /user: id {body['id']}, expected {user.id}"
            assert body["is_anonymous"] is user.anonymous, f"GET /user: is_anonymous is not {user.anonymous}"
            assert (body.get("email") or None) == user.email, f"GET /user: email {body.get('email')!r}"
        self.sessions_changed = False

    @invariant()
    def rows_belong_to_their_owner(self) -> None:
        if not (self.rows_changed and self.has_data_api()):
            return
        for user, session in self.one_live_session_per_user().items():
            body = expect(self.data("GET", "/items", session.access_token), 200, what="GET /items")
            listed = {row["id"] for row in body["items"]}
            assert listed == user.rows, f"GET /items of {user.id}: lists {sorted(listed)}, owns {sorted(user.rows)}"
            assert {row["user_id"] for row in body["items"]} <= {user.id}, "GET /items lists another user's row"
        self.rows_changed = False

    @invariant()
    def every_row_has_one_owner(self) -> None:
        owners: dict[str, str] = {}
        for user in self.users:
            for row in user.rows:
                assert row not in owners, f"row {row} is owned by {owners[row]} and by {user.id}"
                owners[row] = user.id
            assert not (user.deleted and user.rows), f"deleted user {user.id} still owns rows"

    # --- helpers ---------------------------------------------------------------------------------------

    def live_sessions(self) -> list[Session]:
        return [session for session in self.all_sessions if session.alive]

    def one_live_session_per_user(self) -> dict[User, Session]:
        chosen: dict[User, Session] = {}
        for session in self.live_sessions():
            chosen.setdefault(session.user, session)
        return chosen

    def refresh_once(self, session: Session) -> None:
        response = self.post_token("refresh_token", {"refresh_token": session.refresh_token})
        if not session.alive:
            expect(response, 400, *DEAD_REFRESH_CODES, what="refreshing an ended session")
            return
        body = expect(response, 200, what="refresh")
        self.check_session_body(session.user, body, "refresh")
        assert claims_of(body["access_token"])["session_id"] == session.session_id, "refresh: the session_id changed"
        assert body["refresh_token"] != session.refresh_token, "refresh: the refresh token did not rotate"
        session.rotated.append((session.refresh_token, time.monotonic()))
        session.access_token, session.refresh_token = body["access_token"], body["refresh_token"]

    def merge_token(self, source: Session, kind: str) -> str:
        if kind in ("unknown", "named"):
            return "guestpass-model-" + secrets.token_urlsafe(16)
        if kind == "rotated" and not source.rotated and source.alive:
            self.refresh_once(source)
        return source.rotated[-1][0] if kind == "rotated" and source.rotated else source.refresh_token


INVARIANTS = (
    "ended_sessions_are_refused",
    "live_sessions_see_their_user",
    "rows_belong_to_their_owner",
    "every_row_has_one_owner",
)


def machine_for(run: Run, seed: int) -> type[AuthModel]:
    machine = type("AuthModel", (AuthModel,), {"run": run})
    return fixed_seed(seed)(machine)


def model_settings(max_examples: int, steps: int) -> settings:
    return settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
    )


def failing_program(notes: list[str]) -> list[str]:
    """Hypothesis' shrunk program, without the invariant checks it runs after every step."""
    checks = {f"state.{name}()" for name in INVARIANTS}
    return [note for note in notes if note.startswith(("state", "accounts_", "sessions_")) and note not in checks]


def summary(exchange: Exchange) -> str:
    request, response = exchange.request, exchange.response
    path = request.url.raw_path.decode()
    return f"> {request.method} {path} {redacted(request.content, 120)}\n< {describe(response)}"


def autoconfirms(client: ApiClient) -> bool:
    response = client.request("GET", "/settings")
    return response.status_code == 200 and response.json().get("mailer_autoconfirm") is True


def run_model(
    target: Target, *, seed: int = 0, max_examples: int = 50, steps: int = 20, out: TextIO = sys.stdout
) -> bool:
    """Runs the state machine against `target`; on a disagreement prints the shrunk failing program and
    the transcript of its last run, and returns False."""
    client = ApiClient(target.base_url, Transcript(), apikey=target.anon_key)
    run = Run(target, client, autoconfirm=autoconfirms(client))
    started = time.perf_counter()
    try:
        run_state_machine_as_test(machine_for(run, seed), settings=model_settings(max_examples, steps))
    except Exception as failure:  # a KeyError on a missing field is as much a disagreement as an assertion
        print(f"\nguestpass model: {target.base_url} disagrees with the model (seed {seed}):", file=out)
        print(f"  {type(failure).__name__}: {failure}", file=out)
        print(
            "\nthe failing program, shrunk:", *failing_program(getattr(failure, "__notes__", [])), sep="\n  ", file=out
        )
        exchanges = client.transcript.exchanges[-TRANSCRIPT_TAIL:]
        print(f"\nthe last {len(exchanges)} exchanges of the failing program (secrets redacted):", file=out)
        for exchange in exchanges:
            print(summary(exchange), file=out)
        return False
    finally:
        client.close()
    elapsed = time.perf_counter() - started
    limited = f"; {run.rate_limited} anonymous sign-ins were rate limited" if run.rate_limited else ""
    print(
        f"guestpass model: {max_examples} programs of up to {steps} steps agree with the model "
        f"(seed {seed}, {elapsed:.1f} s{limited})",
        file=out,
    )
    return True
