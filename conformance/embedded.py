"""Starts reference servers as child processes on 127.0.0.1 and reads the target files they write."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from guestpass.conformance.target import Target, TargetError
from guestpass.fixtures.oidc import PARENT_PID_ENV, OidcProvider, node_available
from guestpass.fixtures.ports import free_port

REFERENCE_COMMAND = (sys.executable, "-m", "guestpass.reference")
STARTUP_TIMEOUT = 60.0
OIDC_PROVIDER_NAME = "guestpass"
OIDC_CALLBACK = "http://127.0.0.1/auth/v1/callback"  # any port on loopback (RFC 8252 §7.3)
TRUSTED_HEADER = "Sb-Forwarded-For"  # named explicitly: each scenario counts as its own client by this header


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    target_file: Path
    log_file: Path

    def wait_until_listening(self) -> dict:
        return self.wait_for(self.target_file)

    def wait_for(self, target_file: Path) -> dict:
        """The description the server writes to `target_file` once it listens."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not target_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise TargetError(f"the reference server did not start:\n{self.log_file.read_text()[-4000:]}")
            time.sleep(0.05)
        return tomllib.loads(target_file.read_text())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    command: Sequence[str],
    workdir: Path,
    name: str,
    database_url: str | None,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """One server on an ephemeral port, with a fresh SQLite file unless `database_url` is given."""
    args = serve_arguments(workdir, name, database_url, extra_args)
    return launch([*command, *args], target_path(workdir, name), workdir / f"{name}.log", env)


def start_servers(command: Sequence[str], workdir: Path, specs: dict[str, dict]) -> ServerProcess:
    """Several servers in one process (`--servers`): `specs` maps a name to the `args` and `env` of each.
    The process's target file is the first server's; `wait_for` reads the others'."""
    spec_file = workdir / "servers.json"
    spec_file.write_text(json.dumps(specs))
    first = target_path(workdir, next(iter(specs)))
    return launch([*command, "--servers", str(spec_file)], first, workdir / "servers.log", None)


def target_path(workdir: Path, name: str) -> Path:
    """Where the server `name` describes itself once it listens."""
    return workdir / f"{name}.target.toml"


def serve_arguments(workdir: Path, name: str, database_url: str | None, extra_args: Sequence[str]) -> list[str]:
    database_url = database_url or f"sqlite:///{workdir / (name + '.db')}"
    return [
        "--port",
        "0",
        "--profile",
        "test",
        "--database-url",
        database_url,
        "--write-target",
        str(target_path(workdir, name)),
        *extra_args,
    ]


def launch(args: Sequence[str], target_file: Path, log_file: Path, env: dict[str, str] | None) -> ServerProcess:
    with log_file.open("w") as log:
        process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **launched_env(), "GUESTPASS_RATE_LIMIT_HEADER": TRUSTED_HEADER, **(env or {})},
        )
    return ServerProcess(process, target_file, log_file)


def launched_env() -> dict[str, str]:
    """What every server the suite launches is told: to write its output unbuffered, and to end with the
    process that launched it."""
    return {"PYTHONUNBUFFERED": "1", PARENT_PID_ENV: str(os.getpid())}


# variant name -> the flags of a reference server configured that way
VARIANTS = {
    "anonymous_disabled": ["--no-anonymous"],
    "email_confirmation": ["--confirm-email"],
    "passkey_upgrade_disabled": ["--no-passkey-upgrade"],
    "manual_linking_disabled": ["--no-manual-linking"],
    "password_reauthentication": ["--require-reauthentication"],
    "captcha": [],  # configured by CAPTCHA_ENV: captcha on, verified at the suite's stand-in verifier
}
CAPTCHA_VARIANT = "captcha"
CAPTCHA_PROVIDER = "turnstile"
CAPTCHA_PATHS = {"hcaptcha": "/siteverify", "turnstile": "/turnstile/v0/siteverify"}


def captcha_settings() -> dict[str, str | int]:
    """The [captcha] section of the embedded target: a free port for the suite's stand-in verifier, and a
    site of its own."""
    return {
        "provider": CAPTCHA_PROVIDER,
        "siteverify_port": free_port(),
        "site_key": "guestpass-" + secrets.token_hex(8),
        "secret": "0x" + secrets.token_hex(20),
    }


def captcha_env(settings: dict[str, str | int]) -> dict[str, str]:
    url = f"http://127.0.0.1:{settings['siteverify_port']}{CAPTCHA_PATHS[str(settings['provider'])]}"
    return {
        "GUESTPASS_CAPTCHA_ENABLED": "true",
        "GUESTPASS_CAPTCHA_PROVIDER": str(settings["provider"]),
        "GUESTPASS_CAPTCHA_SECRET": str(settings["secret"]),
        "GUESTPASS_CAPTCHA_SITE_KEY": str(settings["site_key"]),
        "GUESTPASS_CAPTCHA_SITEVERIFY_URL": url,
        "GUESTPASS_CAPTCHA_TIMEOUT": "5",
    }


@contextmanager
def suite_oidc_provider(enabled: bool) -> Iterator[tuple[OidcProvider | None, dict[str, str]]]:
    """The suite's OpenID provider (when Node.js is here), launched, and the environment that makes it the
    main reference server's provider `guestpass`. Nothing without Node.js: the oauth scenarios are then
    not applicable."""
    if not (enabled and node_available()):
        yield None, {}
        return
    port, secret = free_port(), secrets.token_urlsafe(24)
    provider = OidcProvider([OIDC_CALLBACK], any_loopback_port=True, port=port, client_secret=secret)
    provider.launch()
    try:
        settings = {"issuer": f"http://127.0.0.1:{port}", "client_id": "guestpass", "client_secret": secret}
        yield provider, {"GUESTPASS_OIDC_PROVIDERS": json.dumps({OIDC_PROVIDER_NAME: settings})}
    finally:
        provider.stop()


@dataclass
class EmbeddedServers:
    """The reference servers of one run, launched. What must run beside them is known at once: the port
    they mail to and the captcha verifier they ask. Their target file exists once `wait` has returned."""

    workdir: Path
    process: ServerProcess
    names: list[str]
    smtp_port: int
    captcha: dict[str, str | int] | None
    provider: OidcProvider | None

    @property
    def target_file(self) -> Path:
        return self.workdir / "target.toml"

    def wait(self) -> Target:
        """Once every server listens: their description together, written to `target_file` too."""
        described = {name: self.process.wait_for(target_path(self.workdir, name)) for name in self.names}
        if self.provider is not None:
            self.provider.wait_until_ready()
        main = described.pop("main")
        combined = {**main, "variants": {name: other["base_url"] for name, other in described.items()}}
        if self.captcha is not None:
            combined["captcha"] = self.captcha
        self.target_file.write_text(tomli_w.dumps(combined))
        return Target.from_dict(combined)


@contextmanager
def reference_servers(
    workdir: Path,
    *,
    database_url: str | None = None,
    command: Sequence[str] = REFERENCE_COMMAND,
    variants: bool = True,
    oauth: bool = True,
) -> Iterator[Target]:
    """The main server plus (with `variants`) one per entry of VARIANTS, once they listen, described
    together in `workdir/target.toml` so that another process can check them too."""
    options = {"database_url": database_url, "command": command, "variants": variants, "oauth": oauth}
    with launched_servers(workdir, **options) as servers:
        yield servers.wait()


@contextmanager
def launched_servers(
    workdir: Path,
    *,
    database_url: str | None = None,
    command: Sequence[str] = REFERENCE_COMMAND,
    variants: bool = True,
    oauth: bool = True,
) -> Iterator[EmbeddedServers]:
    """The servers of `reference_servers`, started but not yet waited for. All of them mail to one
    loopback port, where the suite runs its capture SMTP server; with `oauth`, the main server signs in
    through the suite's OpenID provider, which lives as long as the servers."""
    workdir.mkdir(parents=True, exist_ok=True)
    smtp_port = free_port()
    mail = ["--smtp-port", str(smtp_port)]
    # the variants are the same server configured otherwise: they sign with its key, so the target's admin
    # key works there too
    shared_key = {"GUESTPASS_JWT_SECRET": os.environ.get("GUESTPASS_JWT_SECRET") or secrets.token_urlsafe(48)}
    captcha = captcha_settings() if variants else None
    with suite_oidc_provider(oauth) as (provider, oidc_env):
        specs = {"main": spec(workdir, "main", database_url, mail, {**oidc_env, **shared_key})}
        for name, flags in VARIANTS.items() if variants else ():
            env = {**oidc_env, **shared_key, **(captcha_env(captcha) if name == CAPTCHA_VARIANT and captcha else {})}
            specs[name] = spec(workdir, name, None, [*flags, *mail], env)
        process = start_servers(command, workdir, specs)
        try:
            yield EmbeddedServers(workdir, process, list(specs), smtp_port, captcha, provider)
        finally:
            process.stop()


def spec(workdir: Path, name: str, database_url: str | None, extra_args: Sequence[str], env: dict[str, str]) -> dict:
    return {"args": serve_arguments(workdir, name, database_url, extra_args), "env": env}
