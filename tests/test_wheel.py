"""The distribution: one wheel that installs only the `guestpass` package, with the scenarios inside,
and that runs the whole suite from a fresh virtual environment."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from support import KEY_PAIR_ONLY, REPO, outcomes, run_check


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = dist.glob("guestpass-*.whl")
    return built


def test_wheel_installs_only_the_guestpass_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"guestpass"}
    assert not any(name == "guestpass/__init__.py" for name in names)
    for expected in (
        "guestpass/scenarios/core.feature",
        "guestpass/scenarios/anonymous.feature",
        "guestpass/reports/results.schema.json",
        "guestpass/conformance/pytest.ini",
        "guestpass/conformance/durations.json",
        "guestpass/reference/storage/migrations/versions/0001_initial.py",
        "guestpass/reference/openapi.json",
        "guestpass/fixtures/oidc_provider/provider.mjs",
        "guestpass/fixtures/oidc_provider/package-lock.json",
    ):
        assert expected in names


@pytest.mark.slow
def test_installed_wheel_runs_the_suite(wheel: Path, tmp_path: Path) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(REPO / "constraints.txt"), str(wheel)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    located = subprocess.run(
        [
            str(python),
            "-c",
            "import guestpass.reference, guestpass.scenarios as s;"
            "print(guestpass.reference.__file__); print(s.FEATURES_DIR)",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert all(line.startswith(str(environment)) for line in located.split()), located

    completed, document = run_check(tmp_path / "results.json", python=str(python), cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout[-4000:]
    not_passed = {i: o for i, o in outcomes(document).items() if o != "passed"}
    assert set(not_passed) <= KEY_PAIR_ONLY, not_passed  # they need ES256 tokens
    parallel, document = run_check(
        tmp_path / "parallel.json", "--workers", "2", "--capability", "sessions", python=str(python), cwd=tmp_path
    )
    assert parallel.returncode == 0 and len(document["scenarios"]) == 4, parallel.stdout[-4000:] + parallel.stderr
    console_script = subprocess.run(
        [str(environment / "bin" / "guestpass"), "check", "--help"], capture_output=True, text=True, timeout=60
    )
    assert console_script.returncode == 0 and "--base-url" in console_script.stdout
