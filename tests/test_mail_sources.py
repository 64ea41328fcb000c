"""The suite reads a target's mail either from its capture SMTP server or, for a target that names
no capture port, from the admin generate_link endpoint; without either, mail scenarios are not
applicable."""

from __future__ import annotations

from pathlib import Path

import tomli_w
from support import outcomes, run_check, served

from guestpass.fixtures.mail import MailCapture
from guestpass.fixtures.ports import free_port

MAIL_CAPABILITIES = ("recovery", "recovery-password-in-verify", "otp", "email-change")


def without_capture_port(target: dict, path: Path, *, generate_link: bool) -> Path:
    mail = {key: value for key, value in target["mail"].items() if key != "smtp_capture_port"}
    path.write_text(tomli_w.dumps({**target, "mail": {**mail, "generate_link": generate_link}}))
    return path


def check_mail(tmp_path: Path, target_file: Path) -> tuple[int, dict[str, str]]:
    capabilities = [f"--capability={capability}" for capability in MAIL_CAPABILITIES]
    completed, document = run_check(tmp_path / "results.json", "--target", str(target_file), *capabilities)
    return completed.returncode, outcomes(document)


def test_codes_come_from_generate_link_without_a_capture_port(tmp_path: Path) -> None:
    port = free_port()
    database = f"sqlite:///{tmp_path / 'served.db'}"
    with (
        MailCapture(port),
        served(tmp_path, "--profile", "test", "--smtp-port", str(port), "--database-url", database) as target,
    ):
        returncode, results = check_mail(
            tmp_path, without_capture_port(target, tmp_path / "t.toml", generate_link=True)
        )
    assert returncode == 0, results
    assert results["REC-001"] == results["OTP-001"] == results["RPV-001"] == "passed"
    assert results["EMC-001"] == "not_applicable"  # it needs a target that confirms addresses by mail
    assert results["REC-002"] == results["OTP-003"] == "not_applicable"  # they check that nothing was mailed
    assert sum(outcome == "passed" for outcome in results.values()) >= 15


def test_mail_scenarios_are_not_applicable_without_a_way_to_read_mail(tmp_path: Path) -> None:
    port = free_port()
    database = f"sqlite:///{tmp_path / 'served.db'}"
    with (
        MailCapture(port),
        served(tmp_path, "--profile", "test", "--smtp-port", str(port), "--database-url", database) as target,
    ):
        returncode, results = check_mail(
            tmp_path, without_capture_port(target, tmp_path / "t.toml", generate_link=False)
        )
    assert returncode == 0, results
    assert results and set(results.values()) == {"not_applicable"}
