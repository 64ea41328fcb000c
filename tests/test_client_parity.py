"""The official clients (supabase-py and @supabase/auth-js) drive the ten calls of clients/python and
clients/node against the reference server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from support import REPO, served
from test_official_client_node import NODE, client_dir  # noqa: F401  (a fixture)

from guestpass.conformance.embedded import OIDC_CALLBACK
from guestpass.fixtures.mail import MailCapture
from guestpass.fixtures.oidc import OidcProvider, native_id_token, node_available

PYTHON_SCRIPT = REPO / "clients" / "python" / "supabase_py_parity.py"
ITEMS = 10
# supabase-py's link_identity accepts only the names of GoTrue's built-in providers, so the suite's provider
# takes the slot of one (as it does on GoTrue)
PROVIDER = "keycloak"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    if not node_available():
        if os.environ.get("GUESTPASS_REQUIRE_NODE"):
            pytest.fail("Node.js is required for the OpenID provider")
        pytest.skip("Node.js is not installed: the suite's OpenID provider cannot run")
    with OidcProvider([OIDC_CALLBACK], any_loopback_port=True, client_secret=secrets.token_urlsafe(24)) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'parity.db'}"
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture
def server(tmp_path: Path, provider: OidcProvider, database_url: str) -> Iterator[dict[str, Any]]:
    """A server that confirms by mail, wants a nonce for password changes, sends security notices (the
    test profile), signs in through the suite's provider and mails to a capture that spools to disk."""
    spool = tmp_path / "mail"
    spool.mkdir()
    settings = {"issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret}
    env = {"GUESTPASS_OIDC_PROVIDERS": json.dumps({PROVIDER: settings})}
    with MailCapture(spool=spool) as mail:
        args = ["--profile", "test", "--confirm-email", "--require-reauthentication"]
        args += ["--smtp-port", str(mail.port), "--database-url", database_url]
        with served(tmp_path, *args, env=env) as described:
            yield {**described, "spool": spool}


def arguments(server: dict[str, Any], provider: OidcProvider, label: str) -> list[str]:
    """The scripts' arguments: a standard service key (HS256 over the secret, no exp) and an ID token."""
    raw_nonce = secrets.token_urlsafe(24)
    token = native_id_token(provider, server["base_url"], f"{label}-{secrets.token_hex(4)}@guestpass.test", raw_nonce)

    service_key = jwt.encode(
        {"iss": "supabase", "role": "service_role", "iat": 1767225600}, server["keys"]["jwt_secret"]
    )
    return [
        *("--base-url", server["base_url"], "--anon-key", server["keys"]["anon"], "--service-key", service_key),
        *("--mail-spool", str(server["spool"]), "--provider", PROVIDER),
        *("--id-token", token, f"--nonce={raw_nonce}"),  # `=`: a nonce may start with "-"
    ]


def assert_all_items_passed(completed: subprocess.CompletedProcess[str]) -> None:
    lines = completed.stdout.splitlines()
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert sum(line.startswith("ok ") for line in lines) == ITEMS, completed.stdout
    assert lines[-1] == f"all {ITEMS} items passed", completed.stdout


def test_supabase_py_drives_every_item(server: dict[str, Any], provider: OidcProvider) -> None:
    command = [sys.executable, str(PYTHON_SCRIPT), *arguments(server, provider, "py")]
    assert_all_items_passed(subprocess.run(command, capture_output=True, text=True, timeout=180))


def test_auth_js_drives_every_item(
    server: dict[str, Any],
    provider: OidcProvider,
    client_dir: Path,  # noqa: F811
) -> None:
    command = [NODE, "auth_js_parity.mjs", *arguments(server, provider, "js")]
    assert_all_items_passed(subprocess.run(command, cwd=client_dir, capture_output=True, text=True, timeout=180))
