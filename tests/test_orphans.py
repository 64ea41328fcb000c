"""The processes the suite launches (reference servers, the OpenID provider) end with the process that
launched them, even when it is killed and cannot stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import descendants, ends_within, running

from guestpass.fixtures.oidc import node_available

END_SECONDS = 5
LAUNCHER = """
import sys, time
from pathlib import Path
from guestpass.conformance.embedded import launched_servers

servers = launched_servers(Path(sys.argv[1]), oauth=sys.argv[2] == "provider")
servers.__enter__().wait()
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_what_a_killed_launcher_started_ends_with_it(tmp_path: Path) -> None:
    helpers = "provider" if node_available() else "server"
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(tmp_path), helpers], stdout=subprocess.PIPE, text=True
    )
    launched: list[int] = []
    try:
        assert launcher.stdout is not None and launcher.stdout.readline() == "ready\n"
        expected = 3 if helpers == "provider" else 2  # the servers' two processes, and the provider
        deadline = time.monotonic() + END_SECONDS  # the servers' second process forks once all of them listen
        while len(launched := descendants(launcher.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(launched) == expected
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
        deadline = time.monotonic() + END_SECONDS  # one for all of them, counted from the kill
        left = [pid for pid in launched if not ends_within(pid, max(0.0, deadline - time.monotonic()))]
        assert not left, f"still running {END_SECONDS} s after their launcher was killed: {left}"
    finally:
        launcher.kill()
        for pid in launched:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
