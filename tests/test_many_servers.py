"""`guestpass serve --servers FILE`: several configurations, each with its own arguments and environment,
prepared in one process: the first served there, the others in one child forked from it; all stopped by
one SIGTERM; their fresh SQLite files migrated once and copied."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from pathlib import Path

import httpx
import pytest
from support import children, ends_within

from guestpass.conformance.embedded import REFERENCE_COMMAND, serve_arguments, start_servers, target_path
from guestpass.fixtures.ports import free_port
from guestpass.reference import server
from guestpass.reference.storage.migrate import upgrade

STOP_SECONDS = 5


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_the_first_configuration_and_the_others_are_served_by_two_processes_stopped_together(
    tmp_path: Path,
) -> None:
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
        (child,) = children(servers.process.pid)
        os.kill(child, signal.SIGSTOP)
        try:
            assert answers(described["confirming"])
            assert not answers(described["closed"])
        finally:
            os.kill(child, signal.SIGCONT)
        assert answers(described["closed"])
        servers.process.send_signal(signal.SIGTERM)
        assert servers.process.wait(timeout=STOP_SECONDS) == 0, (tmp_path / "servers.log").read_text()[-2000:]
        assert ends_within(child, STOP_SECONDS)
    finally:
        servers.stop()


def answers(target: dict, timeout: float = 1.0) -> bool:
    try:
        httpx.get(f"{target['base_url']}/health", timeout=timeout)
    except httpx.TimeoutException:
        return False
    return True


def schema(path: Path) -> tuple[list[tuple], list[tuple], str]:
    with contextlib.closing(sqlite3.connect(path)) as database:
        tables = database.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        revision = database.execute("SELECT version_num FROM alembic_version").fetchall()
        return tables, revision, database.execute("PRAGMA journal_mode").fetchone()[0]


def test_fresh_sqlite_files_of_servers_that_start_together_are_migrated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated: list[str] = []
    monkeypatch.setattr(server, "migrate", lambda url: (migrated.append(url), asyncio.run(upgrade(url))))
    alone = tmp_path / "alone.db"
    asyncio.run(upgrade(f"sqlite:///{alone}"))
    migrate_once = server.MigrateOnce()
    for name in ("first", "second", "third"):
        migrate_once(f"sqlite:///{tmp_path / name}.db")
    assert migrated == [f"sqlite:///{tmp_path / 'first'}.db"]
    for name in ("first", "second", "third"):
        assert schema(tmp_path / f"{name}.db") == schema(alone)


def test_a_fresh_sqlite_file_that_cannot_be_created_is_refused_as_by_the_migrations(tmp_path: Path) -> None:
    migrate_once = server.MigrateOnce()
    migrate_once(f"sqlite:///{tmp_path / 'first.db'}")
    with pytest.raises(server.StartupError, match="cannot open the database"):
        migrate_once(f"sqlite:///{tmp_path / 'missing' / 'second.db'}")
