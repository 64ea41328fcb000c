"""`guestpass serve --servers FILE`: several configurations in one process, each with its own arguments and
environment, all stopped by one SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from guestpass.conformance.embedded import REFERENCE_COMMAND, serve_arguments, start_servers, target_path
from guestpass.fixtures.mail import free_port

STOP_SECONDS = 5


def test_one_process_serves_each_configuration_and_stops_whole(tmp_path: Path) -> None:
    mail = ["--smtp-port", str(free_port())]
    specs = {
        "confirming": {"args": serve_arguments(tmp_path, "confirming", None, ["--confirm-email", *mail]), "env": {}},
        "closed": {
            "args": serve_arguments(tmp_path, "closed", None, mail),
            "env": {"GUESTPASS_ANONYMOUS_ENABLED": "false"},
        },
    }
    servers = start_servers(REFERENCE_COMMAND, tmp_path, specs)
    try:
        described = {name: servers.wait_for(target_path(tmp_path, name)) for name in specs}
        settings = {
            name: httpx.get(f"{target['base_url']}/settings", headers={"apikey": target["keys"]["anon"]}).json()
            for name, target in described.items()
        }
        assert described["confirming"]["base_url"] != described["closed"]["base_url"]
        switches = {
            name: (body["external"]["anonymous_users"], body["mailer_autoconfirm"]) for name, body in settings.items()
        }
        assert switches == {"confirming": (True, False), "closed": (False, True)}
        servers.process.send_signal(signal.SIGTERM)
        assert servers.process.wait(timeout=STOP_SECONDS) == 0, (tmp_path / "servers.log").read_text()[-2000:]
    finally:
        servers.stop()
