"""@supabase/auth-js in `flowType: "pkce"` against the reference server: mailed links redirect with a code
that the client exchanges with the verifier it kept in its storage."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support import served
from test_official_client_node import NODE, client_dir  # noqa: F401  (a fixture)

from guestpass.fixtures.mail import MailCapture

MAIL_WAIT_SECONDS = 10.0


def mailbox_handler(mail: MailCapture) -> type[BaseHTTPRequestHandler]:
    """GET /links?to=ADDRESS&count=N: the verify links of the first N mails to ADDRESS, once they are in."""

    class Mailbox(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            address, count = query["to"][0], int(query["count"][0])
            found = mail.wait_for(address, count, timeout=MAIL_WAIT_SECONDS)
            links = [message.verify_link for message in found[:count]]
            status = 200 if len(links) == count else 404
            body = json.dumps(links).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Mailbox


@pytest.fixture(scope="module")
def mail() -> Iterator[MailCapture]:
    with MailCapture() as capture:
        yield capture


@pytest.fixture(scope="module")
def mailbox(mail: MailCapture) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), mailbox_handler(mail))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def confirming_server(workdir: Path, mail: MailCapture, database_url: str) -> Any:
    args = ("--profile", "test", "--confirm-email", "--smtp-port", str(mail.port), "--database-url", database_url)
    return served(workdir, *args)


def run_check(client_dir: Path, target: dict[str, Any], mailbox: str) -> None:  # noqa: F811
    command = [NODE, "auth_js_pkce_check.mjs", "--base-url", target["base_url"], "--anon-key", target["keys"]["anon"]]
    command += ["--mailbox", mailbox, "--send-interval", str(target["mail"]["send_interval"] + 0.2)]
    completed = subprocess.run(command, cwd=client_dir, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-1] == "all 4 steps passed"


def test_auth_js_pkce_mail_flows_on_sqlite(
    client_dir: Path,  # noqa: F811
    mail: MailCapture,
    mailbox: str,
    tmp_path: Path,
) -> None:
    with confirming_server(tmp_path, mail, f"sqlite:///{tmp_path / 'pkce.db'}") as target:
        run_check(client_dir, target, mailbox)


def test_auth_js_pkce_mail_flows_on_postgres(
    client_dir: Path,  # noqa: F811
    mail: MailCapture,
    mailbox: str,
    tmp_path: Path,
    postgres_database_url: str,
) -> None:
    with confirming_server(tmp_path, mail, postgres_database_url) as target:
        run_check(client_dir, target, mailbox)
