"""The benchmarks' server: the bare route beside the reference app, which answers as `guestpass serve` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from guestpass.conformance.embedded import ServerProcess

CEILING_SERVER = Path(__file__).parent.parent / "benchmarks" / "ceiling_server.py"


def test_the_bare_route_and_the_reference_app_answer_side_by_side(tmp_path: Path) -> None:
    target_file, log_file = tmp_path / "server.target.toml", tmp_path / "server.log"
    command = [sys.executable, str(CEILING_SERVER), "--database-url", f"sqlite:///{tmp_path / 'bench.db'}"]
    with log_file.open("w") as log:
        process = subprocess.Popen([*command, "--write-target", str(target_file)], stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(process, target_file, log_file)
    try:
        auth_url = server.wait_until_listening()["base_url"]
        root = auth_url.removesuffix("/auth/v1")
        assert httpx.get(root + "/__hello").text == "hello"
        session = httpx.post(auth_url + "/signup", json={})
        assert session.status_code == 200 and session.json()["user"]["is_anonymous"] is True
        assert session.headers["cache-control"] == "no-store"  # the reference app's own middleware ran
        assert httpx.get(auth_url + "/nowhere").json()["error_code"] == "not_found"
    finally:
        server.stop()
