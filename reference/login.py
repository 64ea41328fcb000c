"""`guestpass login --server URL`: the reference CLI client of the login hand-off. It creates an attempt
(carrying its anonymous session's refresh token when it has one), prints the login URL, polls at the
advertised interval (slowing down when told to), and stores the session it receives."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

SLOW_DOWN_STEP = 5
HEADERS = {"X-Supabase-Api-Version": "2024-01-01", "X-Client-Info": "guestpass-login/1"}


def default_credentials() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "guestpass" / "credentials.json"


def load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save(path: Path, credentials: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.touch(mode=0o600)
    partial.write_text(json.dumps(credentials, indent=2) + "\n")
    partial.replace(path)


def anonymous_token(stored: dict[str, Any], server: str) -> str | None:
    if stored.get("server") == server and stored.get("is_anonymous"):
        return stored.get("refresh_token")
    return None


def login(server: str, credentials: Path, *, out: Any = sys.stdout) -> int:
    server = server.rstrip("/")
    try:
        return hand_off(server, credentials, out)
    except httpx.HTTPError as error:
        print(f"guestpass login: cannot reach {server}: {error}", file=sys.stderr)
        return 2


def hand_off(server: str, credentials: Path, out: Any) -> int:
    token = anonymous_token(load(credentials), server)
    with httpx.Client(base_url=server, headers=HEADERS, timeout=30) as http:
        created = http.post("/cli", json={"anon_refresh_token": token} if token else {})
        if created.status_code != 200:
            print(f"guestpass login: the server refused the attempt: {created.text}", file=sys.stderr)
            return 1
        attempt = created.json()
        print(
            f"Open this URL in a browser where you are signed in:\n\n  {attempt['login_url']}\n", file=out, flush=True
        )
        interval = attempt["interval"]
        while True:
            time.sleep(interval)
            answer = http.post("/cli/poll", json={"polling_code": attempt["polling_code"]}).json()
            status = answer.get("status")
            if status == "slow_down":
                interval += SLOW_DOWN_STEP
            elif status == "success":
                user = answer["user"]
                save(
                    credentials,
                    {
                        "server": server,
                        "access_token": answer["access_token"],
                        "refresh_token": answer["refresh_token"],
                        "user_id": user["id"],
                        "email": user.get("email", ""),
                        "is_anonymous": user.get("is_anonymous", False),
                    },
                )
                print(f"Signed in as {user.get('email') or user['id']}.", file=out, flush=True)
                return 0
            elif status != "waiting":
                print(f"guestpass login: the login attempt ended ({status or answer}).", file=sys.stderr)
                return 1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="guestpass login", description="Sign the CLI in through a browser.")
    parser.add_argument("--server", required=True, help="auth root, e.g. http://127.0.0.1:9999/auth/v1")
    parser.add_argument(
        "--credentials",
        type=Path,
        default=default_credentials(),
        help="where the session is kept (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    return login(args.server, args.credentials)
