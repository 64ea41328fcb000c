"""Two reference server processes on one PostgreSQL database, sharing no memory: every exactly-once
transition (poll success, complete, claim, merge) still happens once when racing requests are spread
over both processes."""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import outcomes, run_check, served

from guestpass.conformance.parallel import run_together
from guestpass.fixtures.mail import MailCapture
from guestpass.fixtures.ports import free_port

RACERS = 20


@pytest.fixture
def mail() -> Iterator[MailCapture]:
    with MailCapture() as capture:
        yield capture


@pytest.fixture
def two_servers(tmp_path: Path, postgres_database_url: str, mail: MailCapture) -> Iterator[list[str]]:
    with ExitStack() as stack:
        urls = []
        for name in ("first", "second"):  # one after the other: the first applies the migrations
            workdir = tmp_path / name
            workdir.mkdir()
            args = ("--profile", "test", "--database-url", postgres_database_url, "--smtp-port", str(mail.port))
            urls.append(stack.enter_context(served(workdir, *args))["base_url"])
        yield urls


def client() -> httpx.Client:
    return httpx.Client(timeout=30, headers={"Sb-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}"})


def anonymous_session(url: str) -> dict[str, Any]:
    return client().post(f"{url}/signup", json={}).json()


def signed_up(url: str) -> dict[str, Any]:
    email = f"dana-{uuid.uuid4().hex[:8]}@guestpass.test"
    return client().post(f"{url}/signup", json={"email": email, "password": "dana-password-1"}).json()


def spread(urls: list[str], call: Any) -> list[httpx.Response]:
    """RACERS calls at the same moment, alternating between the servers, each on its own connection."""
    return run_together(
        [lambda url=url: call(client(), url) for url in itertools.islice(itertools.cycle(urls), RACERS)]
    )


def test_poll_success_is_delivered_once_across_processes(two_servers: list[str]) -> None:
    first, second = two_servers
    browser = signed_up(first)
    attempt = client().post(f"{first}/cli", json={}).json()
    completed = client().post(
        f"{second}/cli/complete", json={"login_code": attempt["login_code"], "refresh_token": browser["refresh_token"]}
    )
    assert completed.status_code == 200, completed.text
    polls = spread(
        two_servers, lambda http, url: http.post(f"{url}/cli/poll", json={"polling_code": attempt["polling_code"]})
    )
    statuses = [poll.json()["status"] for poll in polls]
    assert statuses.count("success") == 1, statuses


def test_complete_and_claim_happen_once_across_processes(two_servers: list[str]) -> None:
    first, _ = two_servers
    browser, cli_user = signed_up(first), anonymous_session(first)
    attempt = client().post(f"{first}/cli", json={"anon_refresh_token": cli_user["refresh_token"]}).json()
    claims = spread(
        two_servers,
        lambda http, url: http.post(
            f"{url}/cli/complete", json={"login_code": attempt["login_code"], "mode": "claim-anon-session"}
        ),
    )
    assert [c.status_code for c in claims].count(200) == 1, [c.status_code for c in claims]
    completes = spread(
        two_servers,
        lambda http, url: http.post(
            f"{url}/cli/complete", json={"login_code": attempt["login_code"], "refresh_token": browser["refresh_token"]}
        ),
    )
    assert [c.status_code for c in completes].count(200) == 1, [c.status_code for c in completes]


def test_a_merge_happens_once_across_processes(two_servers: list[str]) -> None:
    first, _ = two_servers
    accounts = [signed_up(first) for _ in range(4)]
    anonymous = anonymous_session(first)
    for number in range(3):
        client().post(
            f"{first.removesuffix('/auth/v1')}/data/v1/items",
            json={"body": f"row {number}"},
            headers={"Authorization": f"Bearer {anonymous['access_token']}"},
        )
    answers = run_together(
        [
            lambda account=account, url=url: client().post(
                f"{url}/token?grant_type=password",
                json={
                    "email": account["user"]["email"],
                    "password": "dana-password-1",
                    "anonymous_refresh_token": anonymous["refresh_token"],
                },
            )
            for account, url in zip(accounts, itertools.cycle(two_servers), strict=False)
        ]
    )
    outcomes = [answer.json()["anonymous_merge"]["status"] for answer in answers]
    assert outcomes.count("merged") == 1, outcomes
    assert [a.json()["anonymous_merge"].get("moved") for a in answers if "moved" in a.json()["anonymous_merge"]] == [
        {"items": 3}
    ]


def test_each_mail_leaves_the_outbox_once_across_processes(two_servers: list[str], mail: MailCapture) -> None:
    """Both processes run a courier over the one outbox: each recovery mail reaches its address once."""
    accounts = [signed_up(url) for url, _ in zip(itertools.cycle(two_servers), range(RACERS), strict=False)]
    addresses = [account["user"]["email"] for account in accounts]
    answers = run_together(
        [
            lambda address=address, url=url: client().post(f"{url}/recover", json={"email": address})
            for address, url in zip(addresses, itertools.cycle(two_servers), strict=False)
        ]
    )
    assert [answer.status_code for answer in answers] == [200] * RACERS
    for address in addresses:
        assert len(mail.wait_for(address, 1)) == 1, f"no recovery mail reached {address}"
    time.sleep(1.0)  # a second delivery would have come by now: the couriers poll every 0.2 s
    assert {address: len(mail.messages_to(address)) for address in addresses} == dict.fromkeys(addresses, 1)


SPREAD_CAPABILITIES = ("core", "anonymous", "rate-limits", "admin", "merge", "owned-data", "self-delete")
SPREAD_CAPABILITIES += ("cli-handoff", "sessions", "mfa-totp", "mfa-webauthn", "passkeys")


def test_the_suite_passes_with_its_requests_spread_over_two_processes(
    tmp_path: Path, postgres_database_url: str
) -> None:
    """Every request of the suite, parallel ones included, takes the two processes in turn: rate limits,
    challenges, CLI attempts and refresh rotation must hold across them."""
    # One deployment: one signing secret, one public URL (the issuer of its tokens, and where mailed links
    # lead: the first process's address, chosen before it starts) in front of both.
    public_port = free_port()
    env = {
        "GUESTPASS_JWT_SECRET": secrets.token_urlsafe(32),
        "GUESTPASS_EXTERNAL_URL": f"http://127.0.0.1:{public_port}/auth/v1",
    }
    with ExitStack() as stack:
        urls = []
        for name, port in (("first", public_port), ("second", 0)):
            (tmp_path / name).mkdir()
            args = ("--profile", "test", "--database-url", postgres_database_url, "--port", str(port))
            urls.append(stack.enter_context(served(tmp_path / name, *args, env=env))["base_url"])
        capabilities = [f"--capability={capability}" for capability in SPREAD_CAPABILITIES]
        target = tmp_path / "first" / "served.target.toml"
        completed, document = run_check(
            tmp_path / "results.json", "--target", str(target), "--instance", urls[1], *capabilities
        )
    unexpected = {i: o for i, o in outcomes(document).items() if o not in ("passed", "not_applicable")}
    assert completed.returncode == 0 and not unexpected, f"{unexpected}\n{completed.stdout[-6000:]}"
    assert sum(o == "passed" for o in outcomes(document).values()) >= 100
