"""The official JavaScript client, @supabase/auth-js unmodified, against the reference server over TCP."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import REPO, served

from guestpass.conformance.embedded import OIDC_CALLBACK
from guestpass.fixtures.mail import MailCapture
from guestpass.fixtures.oidc import OidcProvider, native_id_token

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
def provider(client_dir: Path) -> Iterator[OidcProvider]:
    with OidcProvider([OIDC_CALLBACK], any_loopback_port=True, client_secret=secrets.token_urlsafe(24)) as running:
        yield running


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider) -> Iterator[dict[str, Any]]:
    """A server that mails (to a capture server) and signs in through the suite's OpenID provider."""
    workdir = tmp_path_factory.mktemp("node-client")
    settings = {"issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret}
    env = {"GUESTPASS_OIDC_PROVIDERS": json.dumps({"guestpass": settings})}
    with MailCapture() as mail:
        args = ("--profile", "test", "--smtp-port", str(mail.port), "--database-url", f"sqlite:///{workdir / 'c.db'}")
        with served(workdir, *args, env=env) as described:
            yield described


def an_id_token(provider: OidcProvider, target: dict[str, Any], raw_nonce: str) -> str:
    return native_id_token(provider, target["base_url"], f"auth-js-{secrets.token_hex(4)}@guestpass.test", raw_nonce)


def test_auth_js_signs_in_refreshes_reaches_aal2_and_signs_out(
    client_dir: Path, target: dict[str, Any], provider: OidcProvider
) -> None:
    raw_nonce = secrets.token_urlsafe(24)
    token = an_id_token(provider, target, raw_nonce)
    command = [NODE, "auth_js_check.mjs", "--base-url", target["base_url"], "--anon-key", target["keys"]["anon"]]
    # `--nonce=…`: a nonce may start with "-", which Node's parseArgs would take for an option
    command += ["--provider", "guestpass", "--id-token", token, f"--nonce={raw_nonce}"]
    completed = subprocess.run(command, cwd=client_dir, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-1] == "all 9 steps passed"
