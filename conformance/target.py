"""The target: the server under test, as its target file (TOML) describes it."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guestpass.conformance.capabilities import CAPABILITIES

DEFAULT_CAPABILITIES = ("core", "anonymous")
PASSKEY_KEYS = ("rp_id", "origin", "challenge_ttl", "max_per_user", "user_verification")
OAUTH_KEYS = ("provider", "issuer", "redirect_to", "flow_ttl")


class TargetError(ValueError):
    """The target file is unusable; `guestpass check` exits 2."""


@dataclass(frozen=True)
class RateLimits:
    header: str | None = None
    anonymous_sign_ins: int | None = None
    window_seconds: int | None = None


@dataclass(frozen=True)
class Mail:
    """How the suite reads the server's mail: a capture SMTP port the server sends to, or the admin
    generate_link endpoint. Neither: the scenarios that need mail are not applicable."""

    smtp_capture_port: int | None = None
    generate_link: bool = False
    token_ttl: float | None = None
    send_interval: float | None = None

    @property
    def readable(self) -> bool:
        return self.smtp_capture_port is not None or self.generate_link


@dataclass(frozen=True)
class Passkeys:
    """The relying party the suite's virtual authenticator answers as, and the server's limits."""

    rp_id: str | None = None
    origin: str | None = None
    challenge_ttl: float | None = None
    max_per_user: int | None = None
    user_verification: str | None = None


@dataclass(frozen=True)
class OAuth:
    """The provider slot the server has pointed at the suite's OpenID provider (`guestpass oidc-provider`,
    or the one the embedded reference server is started with), and where the site receives the result."""

    provider: str | None = None
    issuer: str | None = None
    redirect_to: str | None = None
    flow_ttl: float | None = None


@dataclass(frozen=True)
class Target:
    base_url: str
    name: str = "unnamed target"
    data_base_url: str | None = None
    capabilities: frozenset[str] = frozenset(DEFAULT_CAPABILITIES)
    anon_key: str | None = None
    service_role_key: str | None = None
    jwt_secret: str | None = None
    jwt_private_key_file: str | None = None
    rate_limits: RateLimits = field(default_factory=RateLimits)
    refresh_token_reuse_interval: float = 10.0
    variants: dict[str, str] = field(default_factory=dict)
    mail: Mail = field(default_factory=Mail)
    mfa_challenge_ttl: float | None = None
    passkeys: Passkeys = field(default_factory=Passkeys)
    oauth: OAuth = field(default_factory=OAuth)
    instances: tuple[str, ...] = ()  # further base URLs of processes serving the same target

    def claims(self, capability: str) -> bool:
        return capability in self.capabilities

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_url: str | None = None) -> Target:
        capabilities = frozenset(data.get("capabilities", DEFAULT_CAPABILITIES))
        unknown = capabilities - CAPABILITIES.keys()
        if unknown:
            raise TargetError(f"unknown capabilities in target: {', '.join(sorted(unknown))}")
        url = base_url or data.get("base_url")
        if not url:
            raise TargetError("the target names no base_url (give one with --base-url)")
        keys = data.get("keys", {})
        limits = data.get("rate_limits", {})
        token_settings = data.get("tokens", {})
        mail = data.get("mail", {})
        return cls(
            base_url=url.rstrip("/"),
            name=data.get("name", url),
            data_base_url=(data.get("data_base_url") or "").rstrip("/") or None,
            capabilities=capabilities,
            anon_key=keys.get("anon"),
            service_role_key=keys.get("service_role"),
            jwt_secret=keys.get("jwt_secret"),
            jwt_private_key_file=keys.get("jwt_private_key_file"),
            rate_limits=RateLimits(
                limits.get("header"), limits.get("anonymous_sign_ins"), limits.get("window_seconds")
            ),
            refresh_token_reuse_interval=float(token_settings.get("refresh_token_reuse_interval", 10)),
            variants=dict(data.get("variants", {})),
            mail=Mail(
                smtp_capture_port=mail.get("smtp_capture_port"),
                generate_link=bool(mail.get("generate_link", False)),
                token_ttl=mail.get("token_ttl"),
                send_interval=mail.get("send_interval"),
            ),
            mfa_challenge_ttl=data.get("mfa", {}).get("challenge_ttl"),
            passkeys=Passkeys(**{key: value for key, value in data.get("passkeys", {}).items() if key in PASSKEY_KEYS}),
            instances=tuple(url.rstrip("/") for url in data.get("instances", [])),
            oauth=OAuth(**{key: value for key, value in data.get("oauth", {}).items() if key in OAUTH_KEYS}),
        )

    @classmethod
    def given(cls, path: Path | None, base_url: str | None, instances: tuple[str, ...] = ()) -> Target | None:
        """The target a command names by file and/or URL (the URL wins over the file's, `instances` add to
        its own); None when it names none, which means the embedded reference server."""
        if path:
            target = cls.load(path, base_url=base_url)
        elif base_url:
            target = cls(base_url=base_url.rstrip("/"))
        else:
            return None
        return dataclasses.replace(target, instances=target.instances + instances)

    @classmethod
    def load(cls, path: Path, *, base_url: str | None = None) -> Target:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise TargetError(f"cannot read target file {path}: {error}") from None
        return cls.from_dict(data, base_url=base_url)
