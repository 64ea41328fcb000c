"""How well does one answer's time tell a registered address from an unregistered one? Runs the
measurement of the timing scenarios (REC-014, OTP-012, CORE-069, ECF-012) many times against the
embedded reference server, or against any server given by a target file, and prints per endpoint
the median times, the spread of the AUC over the rounds and how many rounds the scenario would
fail. It also estimates the test's false-positive rate on this machine: the measured times with the
labels shuffled at random are what an indistinguishable server would give.

    python benchmarks/enumeration_timing.py [--rounds 20] [--per-kind 40] [--target FILE]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from guestpass.conformance.embedded import reference_servers
from guestpass.conformance.target import Target
from guestpass.conformance.timing import PAUSE_SECONDS, compare
from guestpass.fixtures.mail import MailCapture

PASSWORD = "registered-password-0"
Send = Callable[[httpx.Client, str], httpx.Response]

ENDPOINTS: dict[str, Send] = {
    "POST /recover": lambda http, address: http.post("/recover", json={"email": address}),
    "POST /otp": lambda http, address: http.post("/otp", json={"email": address}),
    "password grant (wrong password)": lambda http, address: http.post(
        "/token?grant_type=password", json={"email": address, "password": "not-the-password-0"}
    ),
    "POST /signup (confirm by mail)": lambda http, address: http.post(
        "/signup", json={"email": address, "password": "a-new-password-0"}
    ),
}


def address(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}@guestpass.test"


def client(target: Target, base_url: str) -> httpx.Client:
    headers = {"apikey": target.anon_key} if target.anon_key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


def register(http: httpx.Client, target: Target, count: int) -> list[str]:
    addresses = [address("registered") for _ in range(count)]
    for email in addresses:
        body = {"email": email, "password": PASSWORD, "email_confirm": True}
        answer = http.post("/admin/users", json=body, headers={"Authorization": f"Bearer {target.service_role_key}"})
        answer.raise_for_status()
    return addresses


def round_of(http: httpx.Client, target: Target, send: Send, registered: list[str]) -> tuple[list[float], list[float]]:
    requests = [(True, email) for email in registered] + [(False, address("unregistered")) for _ in registered]
    random.shuffle(requests)
    times: dict[bool, list[float]] = {True: [], False: []}
    for is_registered, email in requests:
        time.sleep(PAUSE_SECONDS)
        if target.rate_limits.header:
            http.headers[target.rate_limits.header] = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
        started = time.perf_counter()
        send(http, email)
        times[is_registered].append(time.perf_counter() - started)
    return times[True], times[False]


def shuffled_labels_fail_rate(first: list[float], second: list[float], draws: int = 2000) -> float:
    pooled, failed = [*first, *second], 0
    for _ in range(draws):
        random.shuffle(pooled)
        failed += compare(pooled[: len(first)], pooled[len(first) :]).tells_apart
    return failed / draws


@contextmanager
def served(target_file: str | None, database_url: str | None) -> Iterator[tuple[Target, Target]]:
    """The target, and the one to sign up on: its email_confirmation variant, with that server's own keys
    when it is an embedded one."""
    if target_file:
        target = Target.from_dict(tomllib.loads(Path(target_file).read_text()))
        variant = target.variants.get("email_confirmation", target.base_url)
        yield target, Target.from_dict({**tomllib.loads(Path(target_file).read_text()), "base_url": variant})
        return
    with (
        tempfile.TemporaryDirectory() as workdir,
        reference_servers(Path(workdir), database_url=database_url, oauth=False) as target,
    ):
        variant_file = Path(workdir) / "email_confirmation.target.toml"
        yield target, Target.from_dict(tomllib.loads(variant_file.read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-kind", type=int, default=50)
    parser.add_argument("--target", help="a guestpass target file; default: the embedded reference server")
    parser.add_argument("--database-url", help="the embedded reference server's database (default: SQLite)")
    arguments = parser.parse_args()
    with (
        served(arguments.target, arguments.database_url) as (main_target, signup_target),
        MailCapture(main_target.mail.smtp_capture_port),
    ):
        print(f"{arguments.rounds} rounds of {arguments.per_kind} registered + {arguments.per_kind} unregistered")
        columns = ("median reg", "unreg", "AUC min/med/max", "fails", "FP rate")
        print(f"{'endpoint':34} {columns[0]:>10} {columns[1]:>10} {columns[2]:>17} {columns[3]:>6} {columns[4]:>8}")
        for name, send in ENDPOINTS.items():
            target = signup_target if "signup" in name else main_target
            with client(target, target.base_url) as http:
                aucs, failures, pooled_first, pooled_second = [], 0, [], []
                for _ in range(arguments.rounds):
                    registered = register(http, target, arguments.per_kind)
                    first, second = round_of(http, target, send, registered)
                    comparison = compare(first, second)
                    aucs.append(comparison.auc)
                    failures += comparison.tells_apart
                    pooled_first += first
                    pooled_second += second
                false_positives = shuffled_labels_fail_rate(first, second)
                medians = statistics.median(pooled_first) * 1000, statistics.median(pooled_second) * 1000
                print(
                    f"{name:34} {medians[0]:>8.2f}ms {medians[1]:>8.2f}ms"
                    f" {min(aucs):>5.2f}/{statistics.median(aucs):.2f}/{max(aucs):.2f} {failures:>3}/{arguments.rounds}"
                    f" {false_positives:>8.4f}"
                )


if __name__ == "__main__":
    main()
