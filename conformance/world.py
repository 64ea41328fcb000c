"""The state one scenario builds up (actors, their sessions, the last responses) and its fixtures."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from guestpass.conformance.client import ApiClient
from guestpass.conformance.embedded import reference_servers
from guestpass.conformance.request_lock import RequestLock
from guestpass.conformance.results import target_summary
from guestpass.conformance.session_check import SessionLedger
from guestpass.conformance.stash import RECORDER, TRANSCRIPT, scenario_info
from guestpass.conformance.target import Target
from guestpass.conformance.transcript import Transcript
from guestpass.fixtures.mail import MailCapture, MailSpool

DEFAULT_DEVICE = "default"
MAIL_CAPABILITIES = frozenset(
    {"recovery", "recovery-password-in-verify", "otp", "email-change", "email-confirmation", "mail-pkce"}
)


def unique_email(name: str) -> str:
    return f"{name.lower()}-{uuid.uuid4().hex[:12]}@guestpass.test"


def fresh_client_key() -> str:
    """An address from the IPv6 documentation range (2001:db8::/32), different for every scenario."""
    groups = [secrets.token_hex(2) for _ in range(6)]
    return "2001:db8:" + ":".join(groups)


@dataclass
class Actor:
    """A person in a scenario, with one session per device."""

    name: str
    email: str | None = None
    password: str | None = None
    user_id: str | None = None
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    spent_refresh_tokens: list[str] = field(default_factory=list)
    new_email: str | None = None

    def session(self, device: str = DEFAULT_DEVICE) -> dict[str, Any]:
        if device not in self.sessions:
            raise AssertionError(f"{self.name} has no session on {device!r}")
        return self.sessions[device]

    def access_token(self, device: str = DEFAULT_DEVICE) -> str:
        return self.session(device)["access_token"]

    def refresh_token(self, device: str = DEFAULT_DEVICE) -> str:
        return self.session(device)["refresh_token"]

    def adopt(self, session: dict[str, Any], device: str = DEFAULT_DEVICE) -> None:
        if device in self.sessions:
            self.spent_refresh_tokens.append(self.sessions[device]["refresh_token"])
        self.sessions[device] = session
        self.user_id = session["user"]["id"]


@dataclass
class World:
    target: Target
    client: ApiClient
    actors: dict[str, Actor] = field(default_factory=dict)
    response: httpx.Response | None = None
    parallel_responses: list[httpx.Response] = field(default_factory=list)
    remembered: dict[str, Any] = field(default_factory=dict)
    mail: MailCapture | MailSpool | None = None
    mail_read: dict[str, int] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        if name not in self.actors:
            self.actors[name] = Actor(name)
        return self.actors[name]

    def last(self) -> httpx.Response:
        if self.response is None:
            raise AssertionError("no request has been made yet")
        return self.response

    def record(self, response: httpx.Response) -> httpx.Response:
        self.response = response
        return response


@pytest.fixture(scope="session")
def guestpass_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    config = request.config
    target_file = config.getoption("guestpass_target")
    recorder = config.stash[RECORDER]
    target = Target.given(
        Path(target_file) if target_file else None,
        config.getoption("guestpass_base_url"),
        tuple(url.rstrip("/") for url in config.getoption("guestpass_instance")),
    )
    if target is not None:
        recorder.target = target_summary(target)
        yield target
    else:
        workdir = tmp_path_factory.mktemp("reference")
        with reference_servers(workdir, database_url=config.getoption("guestpass_database_url")) as target:
            recorder.target = target_summary(target)
            yield target


@dataclass(frozen=True)
class MailAccess:
    capture: MailCapture | MailSpool | None
    problem: str | None = None


@pytest.fixture(scope="session")
def guestpass_mail(request: pytest.FixtureRequest, guestpass_target: Target) -> Iterator[MailAccess]:
    """The capture SMTP server on the port the target mails to, if it names one; or the spool of the
    one `guestpass check` runs for all its workers."""
    spool = request.config.getoption("guestpass_mail_spool")
    if problem := request.config.getoption("guestpass_mail_problem"):  # the one capture server could not start
        yield MailAccess(None, problem)
        return
    if spool:
        yield MailAccess(MailSpool(Path(spool)))
        return
    port = guestpass_target.mail.smtp_capture_port
    if port is None:
        yield MailAccess(None)
        return
    try:
        capture = MailCapture(port).__enter__()
    except OSError as error:
        yield MailAccess(None, f"cannot listen on the capture SMTP port {port}: {error}")
        return
    try:
        yield MailAccess(capture)
    finally:
        capture.__exit__(None, None, None)


@pytest.fixture
def world(request: pytest.FixtureRequest, guestpass_target: Target, guestpass_mail: MailAccess) -> Iterator[World]:
    transcript = Transcript()
    request.node.stash[TRANSCRIPT] = transcript  # the failure report prints it
    client = ApiClient(
        guestpass_target.base_url,
        transcript,
        apikey=guestpass_target.anon_key,
        rate_limit_header=guestpass_target.rate_limits.header,
        client_key=fresh_client_key(),
        instances=guestpass_target.instances,
        sessions=SessionLedger(),
        request_lock=RequestLock(Path(folder))
        if (folder := request.config.getoption("guestpass_request_lock"))
        else None,
    )
    yield World(guestpass_target, client, mail=guestpass_mail.capture)
    client.close()


@pytest.fixture(autouse=True)
def applicable(request: pytest.FixtureRequest, guestpass_target: Target, guestpass_mail: MailAccess) -> None:
    """Scenarios of a capability the target does not claim are not applicable, never passed; nor are
    those that need mail when the suite has no way to read the target's mail."""
    info = scenario_info(request.node)
    if info is None:
        return
    if not guestpass_target.claims(info.capability):
        pytest.skip(f"not applicable: the target does not claim the {info.capability!r} capability")
    if (
        info.capability in MAIL_CAPABILITIES
        and guestpass_mail.capture is None
        and not guestpass_target.mail.generate_link
    ):
        reason = guestpass_mail.problem or "the target names neither a capture SMTP port nor generate_link"
        pytest.skip(f"not applicable: the scenario needs the target's mail, and {reason}")
