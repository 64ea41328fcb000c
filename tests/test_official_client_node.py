"""The official JavaScript client, @supabase/auth-js unmodified, against the reference server over TCP."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import REPO, served

CLIENT = REPO / "clients" / "node"
NODE, NPM = shutil.which("node"), shutil.which("npm")
NODE_MAJOR = 20


def node_major() -> int:
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout
    return int(version.strip().lstrip("v").split(".")[0])


@pytest.fixture(scope="module")
def client_dir() -> Path:
    """clients/node with its pinned packages installed (`npm ci` when they are not)."""
    if not (NODE and NPM) or node_major() < NODE_MAJOR:
        if os.environ.get("GUESTPASS_REQUIRE_NODE"):
            pytest.fail(f"Node.js {NODE_MAJOR} or later and npm are required")
        pytest.skip(f"Node.js {NODE_MAJOR} or later and npm are not installed")
    if not (CLIENT / "node_modules" / ".package-lock.json").exists():
        subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=CLIENT, check=True, timeout=300)
    return CLIENT


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("node-client")
    with served(workdir, "--profile", "test", "--database-url", f"sqlite:///{workdir / 'client.db'}") as described:
        yield described


def test_auth_js_signs_in_refreshes_reaches_aal2_and_signs_out(client_dir: Path, target: dict[str, Any]) -> None:
    completed = subprocess.run(
        [NODE, "auth_js_check.mjs", "--base-url", target["base_url"], "--anon-key", target["keys"]["anon"]],
        cwd=client_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-1] == "all 6 steps passed"
