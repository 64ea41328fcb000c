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
from guestpass.conformance.plugin import RECORDER, TRANSCRIPT, scenario_info
from guestpass.conformance.target import Target
from guestpass.conformance.transcript import Transcript

DEFAULT_DEVICE = "default"


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
    base_url = config.getoption("guestpass_base_url")
    recorder = config.stash[RECORDER]
    if target_file:
        recorder.target = Target.load(Path(target_file), base_url=base_url)
        yield recorder.target
    elif base_url:
        recorder.target = Target(base_url=base_url.rstrip("/"))
        yield recorder.target
    else:
        workdir = tmp_path_factory.mktemp("reference")
        with reference_servers(workdir, database_url=config.getoption("guestpass_database_url")) as target:
            recorder.target = target
            yield target


@pytest.fixture
def world(request: pytest.FixtureRequest, guestpass_target: Target) -> Iterator[World]:
    transcript = Transcript()
    request.node.stash[TRANSCRIPT] = transcript  # the failure report prints it
    client = ApiClient(
        guestpass_target.base_url,
        transcript,
        apikey=guestpass_target.anon_key,
        rate_limit_header=guestpass_target.rate_limits.header,
        client_key=fresh_client_key(),
    )
    yield World(guestpass_target, client)
    client.close()


@pytest.fixture(autouse=True)
def applicable(request: pytest.FixtureRequest, guestpass_target: Target) -> None:
    """Scenarios of a capability the target does not claim are not applicable, never passed."""
    info = scenario_info(request.node)
    if info is not None and not guestpass_target.claims(info.capability):
        pytest.skip(f"not applicable: the target does not claim the {info.capability!r} capability")
