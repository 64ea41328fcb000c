"""The self-test: every catalogued defect must make the suite fail, and every scenario must be
failed by at least one defect (a scenario nothing can fail is a defect of the suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from guestpass.conformance.embedded import reference_servers
from guestpass.scenarios import scenario_ids

DEFECTS_DIR = Path(__file__).parent / "defects"
sys.path.insert(0, str(DEFECTS_DIR))

from catalogue import CATALOGUE, Defect  # noqa: E402

PARALLEL_DEFECTS = 3


def failures_under(defect: Defect, workdir: Path) -> set[str]:
    """Serves the reference server with `defect`, runs its capabilities' scenarios, returns the failed IDs."""
    results = workdir / "results.json"
    command = [sys.executable, str(DEFECTS_DIR / "serve.py"), defect.name]
    with reference_servers(
        workdir,
        command=command,
        variants=bool(
            {
                "anonymous",
                "email-confirmation",
                "passkeys",
                "oauth",
                "reauthentication",
                "mail-pkce",
                "security-notifications",
                "captcha",
            }
            & set(defect.capabilities)
        ),
        oauth=bool({"oauth", "id-token", "security-notifications"} & set(defect.capabilities)),
    ):
        command = [
            sys.executable,
            "-m",
            "guestpass.conformance.cli",
            "check",
            "--target",
            str(workdir / "target.toml"),
            "--results",
            str(results),
            "--strict",  # a SHOULD-level failure counts as caught
            *[f"--capability={capability}" for capability in defect.capabilities],
            "--",
            "-q",
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode in (0, 1), f"{defect.name}: check exited {completed.returncode}\n{completed.stderr}"
    scenarios = json.loads(results.read_text())["scenarios"]
    unrun = {s["message"] for s in scenarios if s["outcome"] == "not_applicable" and "cannot listen" in s["message"]}
    assert not unrun, f"{defect.name}: scenarios did not run, so the defect could not be caught: {unrun}"
    failed = [s for s in scenarios if s["outcome"] in ("failed", "error")]
    assert all(s.get("transcript") for s in failed), f"{defect.name}: a failure was reported without its transcript"
    return {s["id"] for s in failed}


@pytest.mark.slow
def test_every_defect_is_caught_and_every_scenario_can_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chosen = os.environ.get("GUESTPASS_DEFECTS", "")  # a comma-separated subset, when iterating on a few
    defects = sorted((d for d in CATALOGUE.values() if not chosen or d.name in chosen.split(",")), key=lambda d: d.name)
    with ThreadPoolExecutor(max_workers=PARALLEL_DEFECTS) as pool:
        caught = dict(
            zip(
                [d.name for d in defects],
                pool.map(lambda d: failures_under(d, tmp_path / d.name), defects),
                strict=True,
            )
        )
    missed = sorted(name for name, failed in caught.items() if not failed)
    never_failed = sorted(scenario_ids() - set().union(*caught.values()))
    with capsys.disabled():
        print(f"\ndefects caught: {len(defects) - len(missed)}/{len(defects)}")
        for name, failed in sorted(caught.items()):
            print(f"  {'caught' if failed else 'MISSED'}  {name}: {', '.join(sorted(failed)) or '-'}")
        print(f"scenarios failed by some defect: {len(scenario_ids()) - len(never_failed)}/{len(scenario_ids())}")
    assert not missed, f"defects the suite does not catch: {missed}"
    if not chosen:
        assert not never_failed, f"scenarios no defect can fail: {never_failed}"
