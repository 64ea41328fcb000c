"""The whole suite passes against the reference server: embedded on SQLite and on PostgreSQL, and
as a separate process checked by URL or by the target file it wrote."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from support import KEY_PAIR_ONLY, outcomes, run_check, served

from guestpass.fixtures.ports import free_port
from guestpass.reports import results_schema


def assert_all_passed(completed, document, not_applicable: frozenset[str] = frozenset()) -> None:  # type: ignore[no-untyped-def]
    failed = {
        i: o
        for i, o in outcomes(document).items()
        if o != "passed" and not (o == "not_applicable" and i in not_applicable)
    }
    assert completed.returncode == 0 and not failed, f"{failed}\n{completed.stdout[-6000:]}\n{completed.stderr}"


def test_suite_passes_on_embedded_sqlite(tmp_path: Path) -> None:
    completed, document = run_check(tmp_path / "results.json")
    assert_all_passed(completed, document, KEY_PAIR_ONLY)
    jsonschema.validate(document, results_schema())
    assert document["summary"]["passed"] == len(document["scenarios"]) - len(KEY_PAIR_ONLY) >= 40


def test_suite_passes_on_embedded_postgres(tmp_path: Path, postgres_database_url: str) -> None:
    completed, document = run_check(tmp_path / "results.json", "--database-url", postgres_database_url)
    assert_all_passed(completed, document, KEY_PAIR_ONLY)


def test_separate_server_checked_by_base_url(tmp_path: Path) -> None:
    """Only a URL: capabilities default to core + anonymous; what needs keys is not applicable. With no
    rate-limit header to tell scenarios apart, the server must allow the whole suite from one address."""
    with served(
        tmp_path,
        "--profile",
        "test",
        "--database-url",
        f"sqlite:///{tmp_path / 'served.db'}",
        env={"GUESTPASS_ANONYMOUS_SIGN_INS_PER_WINDOW": "1000"},
    ) as target:
        completed, document = run_check(tmp_path / "results.json", "--base-url", target["base_url"])
    results = outcomes(document)
    assert completed.returncode == 0, completed.stdout[-6000:]
    assert {document["target"]["base_url"]} == {target["base_url"]}
    core_and_anonymous = {i: o for i, o in results.items() if i.startswith(("CORE-", "ANON-"))}
    assert core_and_anonymous and all(o in ("passed", "not_applicable") for o in core_and_anonymous.values())
    assert results["CORE-018"] == "not_applicable"  # needs the signing key
    assert results["ANON-005"] == "not_applicable"  # needs the anonymous-disabled variant
    assert results["RATE-001"] == "not_applicable"  # capability not claimed
    assert sum(o == "passed" for o in core_and_anonymous.values()) >= 40


def test_separate_server_checked_by_its_target_file(tmp_path: Path) -> None:
    port = str(free_port())
    with served(
        tmp_path, "--profile", "test", "--smtp-port", port, "--database-url", f"sqlite:///{tmp_path / 'served.db'}"
    ):
        completed, document = run_check(tmp_path / "results.json", "--target", str(tmp_path / "served.target.toml"))
    results = outcomes(document)
    assert completed.returncode == 0, completed.stdout[-6000:]
    assert results["CORE-018"] == results["RATE-001"] == results["ADMIN-001"] == "passed"


def test_check_exits_2_when_the_target_is_unreachable(tmp_path: Path) -> None:
    completed, _ = run_check(tmp_path / "results.json", "--base-url", "http://127.0.0.1:9/auth/v1")
    assert completed.returncode == 2
    assert "unreachable" in completed.stderr


def test_check_exits_2_when_no_scenario_matches(tmp_path: Path) -> None:
    completed, _ = run_check(tmp_path / "results.json", "--id", "NOPE-999")
    assert completed.returncode == 2


@pytest.mark.parametrize("algorithm", ["ES256"])
def test_suite_passes_with_es256_tokens(tmp_path: Path, algorithm: str) -> None:
    with served(
        tmp_path,
        "--profile",
        "test",
        "--jwt-algorithm",
        algorithm,
        "--database-url",
        f"sqlite:///{tmp_path / 'served.db'}",
    ) as target:
        completed, document = run_check(
            tmp_path / "results.json", "--target", str(tmp_path / "served.target.toml"), "--capability", "core"
        )
    assert "jwt_private_key_file" in target["keys"]
    assert_all_passed(completed, document)
