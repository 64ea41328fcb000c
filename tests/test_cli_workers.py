"""How `guestpass check` runs the scenarios: side by side in several processes by default, one after
another for a small selection or a target whose clients all count as one; the mail of parallel
workers read from the spool of the one capture server; timed requests answered alone; and the
suite's step lookup, which must agree with pytest-bdd's."""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import tomli_w
from support import REPO, outcomes, run_check, served

from guestpass.conformance import cli
from guestpass.conformance.plugin import reference_durations
from guestpass.conformance.request_lock import RequestLock
from guestpass.conformance.target import Target
from guestpass.fixtures.mail import MailCapture, MailSpool
from guestpass.scenarios import scenario_ids


def check_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli._check_parser(parser.add_subparsers())
    return parser.parse_args(["check", *argv])


def target(header: str | None) -> Target:
    rate_limits = {"header": header} if header else {}
    return Target.from_dict({"name": "t", "base_url": "http://127.0.0.1:9/auth/v1", "rate_limits": rate_limits})


def test_the_whole_suite_runs_side_by_side_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "cores", lambda: 2)
    assert check_args().workers == cli.AUTO
    assert cli.chosen_workers(check_args(), None) == 8
    monkeypatch.setattr(cli, "cores", lambda: 1)
    assert cli.chosen_workers(check_args(), None) == 4


def test_a_small_selection_runs_in_one_process() -> None:
    assert cli.chosen_workers(check_args("--id", "CORE-001", "--id", "CORE-002"), None) == 0
    assert cli.chosen_workers(check_args("--capability", "sessions"), None) == 0
    assert cli.chosen_workers(check_args("--capability", "core"), None) > 1


def test_a_server_the_suite_did_not_start_gets_one_scenario_at_a_time_unless_asked() -> None:
    assert cli.chosen_workers(check_args(), target("X-Forwarded-For")) == 0
    assert cli.chosen_workers(check_args(), target(None)) == 0
    assert cli.chosen_workers(check_args("--workers", "3"), target("X-Forwarded-For")) == 3


@pytest.mark.parametrize(("given", "chosen"), [("0", 0), ("1", 0), ("2", 2), ("6", 6)])
def test_workers_given_are_taken(given: str, chosen: int) -> None:
    assert cli.chosen_workers(check_args("--workers", given), None) == chosen


@pytest.mark.parametrize("given", ["many", "-1", "2.5"])
def test_a_wrong_number_of_workers_is_a_usage_error(tmp_path: Path, given: str) -> None:
    command = [sys.executable, "-m", "guestpass.conformance.cli", "check", "--workers", given]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert completed.returncode == 2
    assert "--workers" in completed.stderr and given in completed.stderr


def test_selected_scenarios_counts_what_id_and_capability_select() -> None:
    assert cli.selected_scenarios([], []) == len(scenario_ids())
    assert cli.selected_scenarios([], ["sessions"]) == 4
    assert cli.selected_scenarios(["SESS-001", "CORE-001"], ["sessions"]) == 1
    assert cli.selected_scenarios(["SESS-001", "CORE-001"], []) == 2


def test_every_reference_duration_names_a_scenario() -> None:
    assert set(reference_durations()) <= scenario_ids()


def send(port: int, recipients: list[str], subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "noreply@guestpass.test", ", ".join(recipients), subject
    message.set_content(f"{subject}: your code is 123456")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def test_the_spool_gives_each_reader_the_mail_to_its_address_in_order(tmp_path: Path) -> None:
    with MailCapture(spool=tmp_path) as capture:
        send(capture.port, ["ann@guestpass.test"], "first")
        send(capture.port, ["ann@guestpass.test", "bob@guestpass.test"], "second")
        send(capture.port, ["bob@guestpass.test"], "third")
        spool = MailSpool(tmp_path)
        assert [mail.subject for mail in spool.wait_for("Ann@guestpass.test", 2, timeout=10)] == ["first", "second"]
        assert [mail.subject for mail in spool.wait_for("bob@guestpass.test", 2, timeout=10)] == ["second", "third"]
        assert spool.wait_for("nobody@guestpass.test", 1, timeout=0.2) == []
        assert spool.wait_for("ann@guestpass.test", 2, timeout=1)[0].code == "123456"
    assert len(list(tmp_path.glob("*.json"))) == 3  # each message once at the top, for readers of the whole spool


def test_parallel_workers_report_mail_scenarios_not_applicable_when_the_capture_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database = f"sqlite:///{tmp_path / 'served.db'}"
        with served(
            tmp_path, "--profile", "test", "--smtp-port", str(port), "--database-url", database
        ) as served_target:
            without_generate_link = {**served_target, "mail": {**served_target["mail"], "generate_link": False}}
            (tmp_path / "t.toml").write_text(tomli_w.dumps(without_generate_link))
            completed, document = run_check(
                tmp_path / "results.json",
                "--target",
                str(tmp_path / "t.toml"),
                "--capability",
                "recovery",
                "--capability",
                "otp",
                "--workers",
                "2",
            )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = outcomes(document)
    assert results and set(results.values()) == {"not_applicable"}
    assert f"cannot listen on the capture SMTP port {port}" in json.dumps(document)


def test_the_suite_looks_steps_up_as_pytest_bdd_does(tmp_path: Path) -> None:
    report = tmp_path / "lookup.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]),
        "GUESTPASS_STEP_LOOKUP_REPORT": str(report),
    }
    command = [sys.executable, "-m", "guestpass.conformance.cli", "check", "--results", str(tmp_path / "r.json")]
    command += ["--capability", "sessions", "--capability", "merge", "--workers", "0", "--", "-p", "step_lookup_check"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stdout[-3000:]
    compared = json.loads(report.read_text())
    assert compared["steps"] > 50 and compared["differing"] == []


def test_a_timed_request_is_answered_alone(tmp_path: Path) -> None:
    """A request held alone waits for the requests in flight, and keeps new ones out until it is done."""
    lock = RequestLock.create(tmp_path)
    events: list[str] = []
    in_flight, waiting = threading.Event(), threading.Event()

    def earlier_request() -> None:
        with lock.shared():
            events.append("earlier request sent")
            in_flight.set()
            time.sleep(0.3)
            events.append("earlier request answered")

    def timed_request() -> None:
        in_flight.wait()
        waiting.set()
        with lock.alone():
            events.append("timed request sent")
            time.sleep(0.3)
            events.append("timed request answered")

    def later_request() -> None:
        waiting.wait()
        time.sleep(0.1)
        with lock.shared():
            events.append("later request sent")

    threads = [threading.Thread(target=work) for work in (earlier_request, timed_request, later_request)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert events == [
        "earlier request sent",
        "earlier request answered",
        "timed request sent",
        "timed request answered",
        "later request sent",
    ]


@pytest.mark.parametrize(("options", "frozen"), [(["--guestpass-own-processes"], True), ([], False)])
def test_only_the_processes_of_guestpass_check_keep_their_heap_from_the_garbage_collector(
    tmp_path: Path, options: list[str], frozen: bool
) -> None:
    """The plugin is installed for every pytest run: a run that `guestpass check` did not start keeps
    its garbage collector as it was."""
    (tmp_path / "test_heap.py").write_text(
        "import gc\n\ndef test_heap():\n    print('frozen objects:', gc.get_freeze_count())\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", *options, "test_heap.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    frozen_objects = int(run.stdout.split("frozen objects:")[1].split()[0])
    assert (frozen_objects > 10_000) is frozen, run.stdout
