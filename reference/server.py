"""`guestpass serve`: migrate, bind, describe itself in a target file, and run under uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import tomli_w
import uvicorn
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp

from guestpass.reference import tokens
from guestpass.reference.app import AUTH_PREFIX, DATA_PREFIX, create_app, settle_heap
from guestpass.reference.config import TEST_PROFILE, Config, config_from_env
from guestpass.reference.oidc import ProviderSettings, provider_settings
from guestpass.reference.storage.migrate import copy_sqlite, sqlite_file, upgrade
from guestpass.reference.storage.urls import database_reason, shown

CAPABILITIES = (
    "core",
    "anonymous",
    "rate-limits",
    "admin",
    "merge",
    "owned-data",
    "self-delete",
    "cli-handoff",
    "sessions",
    "mfa-totp",
    "mfa-webauthn",
    "recovery",
    "recovery-password-in-verify",
    "otp",
    "email-change",
    "email-confirmation",
    "passkeys",
    "passkey-upgrade",
    "oauth",
    "id-token",
    "reauthentication",
    "mail-pkce",
    "security-notifications",
    "captcha",
)
NOTICE_SWITCHES = (
    "notify_password_changed",
    "notify_email_changed",
    "notify_identity_linked",
    "notify_identity_unlinked",
    "notify_mfa_factor_enrolled",
    "notify_mfa_factor_unenrolled",
)

AppWrapper = Callable[[ASGIApp], ASGIApp]
# idle keep-alive connections stay open this long (uvicorn's default is 5 s, and a client whose event loop
# stalls longer then meets a closed socket); GoTrue's Go http.Server sets no idle timeout at all
KEEP_ALIVE_SECONDS = 75
# proxy_headers off: uvicorn would otherwise take X-Forwarded-For as the peer of any loopback client;
# the only client-address header believed is the operator's rate_limit_header (ratelimit.client_key)
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "lifespan": "on",
    "access_log": False,
    "proxy_headers": False,
    "ws": "none",  # no WebSocket routes: nothing to import a WebSocket library for
    "timeout_keep_alive": KEEP_ALIVE_SECONDS,
}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PARENT_PID_ENV = "GUESTPASS_PARENT_PID"  # set by the suite's launcher: the servers end with that process
PARENT_WATCH_SECONDS = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999, help="0 picks a free port")
    parser.add_argument("--database-url", help="sqlite:///file.db (default) or postgresql://user@host/db")
    parser.add_argument(
        "--profile",
        choices=["default", "test"],
        default="default",
        help="`test`: cheap password hashing, short reuse interval, small rate limits",
    )
    parser.add_argument("--jwt-algorithm", choices=["HS256", "ES256"])
    parser.add_argument("--no-anonymous", action="store_true", help="refuse anonymous sign-ins")
    parser.add_argument("--no-passkey-upgrade", action="store_true", help="anonymous users may not register passkeys")
    parser.add_argument(
        "--no-manual-linking",
        action="store_true",
        help="refuse linking and unlinking identities (GoTrue's SECURITY_MANUAL_LINKING_ENABLED off)",
    )
    parser.add_argument(
        "--smtp-port", type=int, help="send mail to this port (on GUESTPASS_SMTP_HOST, default loopback)"
    )
    parser.add_argument(
        "--confirm-email", action="store_true", help="new addresses must be confirmed by mail (mailer_autoconfirm off)"
    )
    parser.add_argument(
        "--require-reauthentication",
        action="store_true",
        help="a password change needs a nonce from GET /reauthenticate (update_password_require_reauthentication)",
    )
    parser.add_argument(
        "--write-target", type=Path, metavar="FILE", help="write a target file describing this server once it listens"
    )
    parser.add_argument(
        "--servers",
        type=Path,
        metavar="FILE",
        help="serve several configurations in this one process, the other options aside: a JSON object of "
        'name -> {"args": [serve options], "env": {variables}}',
    )


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Config:
    base = Config().replace(**TEST_PROFILE) if args.profile == "test" else Config()
    config = config_from_env(environ, base=base)
    changes: dict[str, Any] = {}
    if args.database_url:
        changes["database_url"] = args.database_url
    if args.jwt_algorithm:
        changes["jwt_algorithm"] = args.jwt_algorithm
    if args.no_anonymous:
        changes["anonymous_enabled"] = False
    if args.no_passkey_upgrade:
        changes["passkey_upgrade_enabled"] = False
    if args.no_manual_linking:
        changes["manual_linking_enabled"] = False
    if args.smtp_port:
        changes["smtp_port"] = args.smtp_port
    if args.confirm_email:
        changes["mailer_autoconfirm"] = False
    if args.require_reauthentication:
        changes["update_password_require_reauthentication"] = True
    return _with_keys(config.replace(**changes))


def _with_keys(config: Config) -> Config:
    """Generates signing material the operator did not provide (it lasts as long as this process)."""
    if config.jwt_algorithm == "HS256" and not config.jwt_secret:
        logging.getLogger("guestpass.reference").warning("no GUESTPASS_JWT_SECRET: using a random one")
        return config.replace(jwt_secret=tokens.generate_secret())
    if config.jwt_algorithm == "ES256" and not config.jwt_private_key_file:
        handle, path = tempfile.mkstemp(prefix="guestpass-es256-", suffix=".pem")
        with os.fdopen(handle, "w") as file:
            file.write(tokens.generate_es256_pem())
        return config.replace(jwt_private_key_file=path)
    return config


def bind(host: str, port: int) -> socket.socket:
    # proto IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (else 40 ms per keep-alive reply)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def target_description(config: Config, base_url: str) -> dict[str, Any]:
    key = tokens.load_signing_key(config)
    keys = {
        "anon": tokens.api_key(key, "anon", config.jwt_issuer),
        "service_role": tokens.api_key(key, "service_role", config.jwt_issuer),
    }
    if config.jwt_algorithm == "HS256":
        keys["jwt_secret"] = config.jwt_secret
    else:
        keys["jwt_private_key_file"] = config.jwt_private_key_file
    capabilities = [c for c in CAPABILITIES if c != "anonymous" or config.anonymous_enabled]
    if not config.passkeys_enabled:
        capabilities = [c for c in capabilities if not c.startswith("passkey")]
    if not config.passkey_upgrade_enabled:
        capabilities = [c for c in capabilities if c != "passkey-upgrade"]
    if not all(getattr(config, switch) for switch in NOTICE_SWITCHES):
        capabilities = [c for c in capabilities if c != "security-notifications"]
    oidc = provider_settings(config)
    if not oidc:
        capabilities = [c for c in capabilities if c not in ("oauth", "id-token")]
    return {
        "name": "guestpass reference server",
        "base_url": base_url,
        "data_base_url": base_url.removesuffix(AUTH_PREFIX) + DATA_PREFIX,
        "capabilities": capabilities,
        "keys": keys,
        "rate_limits": {
            **({"header": config.rate_limit_header} if config.rate_limit_header else {}),  # none trusted: the peer
            "anonymous_sign_ins": config.anonymous_sign_ins_per_window,
            "window_seconds": config.rate_limit_window_seconds,
        },
        "tokens": {
            "access_token_ttl": config.access_token_ttl,
            "refresh_token_reuse_interval": config.refresh_token_reuse_interval,
        },
        "mail": {
            **({"smtp_capture_port": config.smtp_port} if config.smtp_host in LOOPBACK else {}),
            "generate_link": True,
            "token_ttl": config.mail_token_ttl,
            "send_interval": config.mail_send_interval,
            "verify_attempts": config.verify_attempts_per_window,
            "flow_ttl": config.oauth_flow_ttl,
        },
        "mfa": {"challenge_ttl": config.mfa_challenge_ttl, "verify_attempts": config.mfa_verify_attempts_per_window},
        "passkeys": {
            "rp_id": config.webauthn_rp_id,
            "origin": config.webauthn_origins.split(",")[0].strip(),
            "challenge_ttl": config.webauthn_challenge_ttl,
            "max_per_user": config.max_passkeys_per_user,
            "user_verification": config.webauthn_user_verification,
        },
        **({"oauth": oauth_description(config, next(iter(oidc.values())))} if oidc else {}),
    }


def oauth_description(config: Config, provider: ProviderSettings) -> dict[str, Any]:
    """The first configured provider, which the suite's own OpenID provider is expected to be."""
    return {
        "provider": provider.name,
        "issuer": provider.issuer,
        "redirect_to": config.site_url,
        "flow_ttl": config.oauth_flow_ttl,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
    }


def write_target(path: Path, description: dict[str, Any]) -> None:
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(tomli_w.dumps(description))
    partial.replace(path)


def prepare(
    args: argparse.Namespace,
    wrap_app: AppWrapper | None,
    environ: Mapping[str, str],
    migrate_database: Callable[[str], None] | None = None,
) -> Listening:
    """Migrate, bind, build the app and describe it in its target file: a server ready to run."""
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    base_url = f"http://{host if ':' not in host else f'[{host}]'}:{port}{AUTH_PREFIX}"
    config = config_from_args(args, environ)
    config = config.replace(external_url=environ.get("GUESTPASS_EXTERNAL_URL", base_url))
    (migrate_database or migrate)(config.database_url)
    app: ASGIApp = create_app(config)
    if wrap_app is not None:
        app = wrap_app(app)
    if args.write_target:
        write_target(args.write_target, target_description(config, base_url))
    print(ready_line(args, config, base_url), flush=True)
    server_config = uvicorn.Config(app, **UVICORN_OPTIONS)
    return Listening(SharedSignals(server_config), sock)


class StartupError(Exception):
    """The server cannot start; its message is the one line the operator reads."""


def migrate(database_url: str) -> None:
    try:
        asyncio.run(upgrade(database_url))
    except (SQLAlchemyError, OSError) as error:
        raise StartupError(f"cannot open the database {shown(database_url)}: {database_reason(error)}") from None


def serve(args: argparse.Namespace, wrap_app: AppWrapper | None = None) -> None:
    serve_together([prepare(args, wrap_app, os.environ)], launcher())


def serve_many(parser: argparse.ArgumentParser, specs: Mapping[str, Any], wrap_app: AppWrapper | None) -> None:
    """Several configurations (the embedded servers of `guestpass check`): each entry of `specs` has the
    serve arguments and the environment variables of one server. They are imported and prepared once, in
    this process (each process of its own would spend most of a second of processor time importing the same
    modules); then the first server, which answers most of the suite's requests, keeps this process and the
    others run in one forked from it, so that the two use two cores."""
    migrations = MigrateOnce()
    servers = [
        prepare(parser.parse_args(spec["args"]), wrap_app, {**os.environ, **spec.get("env", {})}, migrations)
        for spec in specs.values()
    ]
    first, others = servers[:1], servers[1:]
    children = [fork_serving(others, first)] if others else []
    for listening in others:
        listening.sock.close()
    serve_together(first, launcher(), children)


def launcher() -> int | None:
    """The process that launched this one and that it must not outlive, when the suite launched it."""
    parent = os.environ.get(PARENT_PID_ENV)
    return int(parent) if parent else None


def fork_serving(servers: Sequence[Listening], not_served: Sequence[Listening]) -> int:
    """A child process that serves `servers` (prepared, so their sockets listen already) until SIGTERM, or
    until this process ends; its pid. The child closes its copy of the `not_served` sockets."""
    settle_heap()
    parent = os.getpid()
    child = os.fork()
    if child:
        return child
    status = 1
    try:
        for listening in not_served:
            listening.sock.close()
        serve_together(servers, parent)
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


class MigrateOnce:
    """Migrates the databases of servers that start together. A SQLite file that does not exist yet starts as
    a copy of the first one migrated from nothing (about 60 ms of Alembic each saved): all of them are
    prepared before any server runs, so that first file is still as the migrations left it."""

    def __init__(self) -> None:
        self.first_fresh: Path | None = None

    def __call__(self, database_url: str) -> None:
        path = sqlite_file(database_url)
        fresh = path is not None and not path.exists()
        if fresh and self.first_fresh is not None:
            with contextlib.suppress(sqlite3.Error):  # else the migrations say what is wrong with the file
                copy_sqlite(self.first_fresh, path)
                return
        migrate(database_url)
        if fresh:
            self.first_fresh = path


def serve_together(servers: Sequence[Listening], parent: int | None, children: Sequence[int] = ()) -> None:
    """Runs the servers on one event loop until SIGINT or SIGTERM stops them all (and the `children`
    this process forked), or until `parent` is no longer this process's parent."""

    def stop(signal_number: int, frame: FrameType | None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
        for listening in servers:
            listening.server.handle_exit(signal_number, frame)

    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, stop)
    if parent is not None:
        exit_with_parent(parent)

    async def run() -> None:
        await asyncio.gather(*(listening.server.serve(sockets=[listening.sock]) for listening in servers))

    settle_heap()
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(run())
    for child in children:
        os.waitpid(child, 0)


def exit_with_parent(parent: int) -> None:
    """Stops this process (SIGTERM, as its launcher would) once `parent` is no longer its parent: a
    launcher that was killed cannot stop the servers it started, and they must not outlive it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_WATCH_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class SharedSignals(uvicorn.Server):
    """A uvicorn server that leaves the signals to `serve_together`, which stops every server of the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class Listening:
    server: uvicorn.Server
    sock: socket.socket


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def ready_line(args: argparse.Namespace, config: Config, base_url: str) -> str:
    database = shown(config.database_url)
    target = f"target file {args.write_target}" if args.write_target else "no target file (--write-target FILE)"
    return (
        f"guestpass reference server listening on {base_url} (data API {base_url.removesuffix(AUTH_PREFIX)}"
        f"{DATA_PREFIX}); database {database}; profile {args.profile}; {target}; Ctrl-C stops"
    )


def main(argv: Sequence[str] | None = None, wrap_app: AppWrapper | None = None) -> None:
    parser = argparse.ArgumentParser(prog="guestpass serve", description="Run the guestpass reference server.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.servers:
            serve_many(parser, json.loads(args.servers.read_text()), wrap_app)
        else:
            serve(args, wrap_app)
    except StartupError as error:
        parser.exit(2, f"guestpass serve: {error}\n")
