"""The target: the server under test, as its target file (TOML) describes it."""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

TARGET_SCHEMA_PATH = Path(__file__).with_name("target.schema.json")

DEFAULT_CAPABILITIES = ("core", "anonymous")
PASSKEY_KEYS = ("rp_id", "origin", "challenge_ttl", "max_per_user", "user_verification")
CAPTCHA_KEYS = ("provider", "siteverify_port", "site_key", "secret")
OAUTH_KEYS = ("provider", "issuer", "redirect_to", "flow_ttl", "checks_id_token", "client_id", "client_secret")


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
    verify_attempts: int = 30  # wrong /verify codes (or wrong passwords) one client gets before 429
    flow_ttl: float | None = None  # seconds a PKCE flow of a mailed link lives (its auth code included)

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
    checks_id_token: bool = True  # false: the slot reads the user from userinfo and never looks at the ID token
    client_id: str | None = None  # the server's client at the provider, which the suite also plays to get ID tokens
    client_secret: str | None = None


@dataclass(frozen=True)
class Captcha:
    """How the suite drives the server's captcha: it runs its stand-in verifier
    (`guestpass.fixtures.captcha`) on 127.0.0.1:`siteverify_port`, where the server's captcha variant
    sends its siteverify requests with `secret`, and hands out tokens of `site_key`."""

    provider: str | None = None  # hcaptcha or turnstile: the protocol the server speaks
    siteverify_port: int | None = None
    site_key: str | None = None
    secret: str | None = None

    @property
    def drivable(self) -> bool:
        return bool(self.provider and self.siteverify_port and self.site_key and self.secret)


@dataclass(frozen=True)
class Target:
    base_url: str
    name: str = ""  # empty: reports name the target by its base URL
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
    mfa_verify_attempts: int = 20
    passkeys: Passkeys = field(default_factory=Passkeys)
    oauth: OAuth = field(default_factory=OAuth)
    captcha: Captcha = field(default_factory=Captcha)
    instances: tuple[str, ...] = ()  # further base URLs of processes serving the same target

    def claims(self, capability: str) -> bool:
        return capability in self.capabilities

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base_url: str | None = None) -> Target:
        validate(data)
        capabilities = frozenset(data.get("capabilities", DEFAULT_CAPABILITIES))
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
                verify_attempts=mail.get("verify_attempts", 30),
                flow_ttl=mail.get("flow_ttl"),
            ),
            mfa_challenge_ttl=data.get("mfa", {}).get("challenge_ttl"),
            mfa_verify_attempts=data.get("mfa", {}).get("verify_attempts", 20),
            passkeys=Passkeys(**{key: value for key, value in data.get("passkeys", {}).items() if key in PASSKEY_KEYS}),
            instances=tuple(url.rstrip("/") for url in data.get("instances", [])),
            oauth=OAuth(**{key: value for key, value in data.get("oauth", {}).items() if key in OAUTH_KEYS}),
            captcha=Captcha(**{key: value for key, value in data.get("captcha", {}).items() if key in CAPTCHA_KEYS}),
        )

    @classmethod
    def given(cls, path: Path | None, base_url: str | None, instances: tuple[str, ...] = ()) -> Target | None:
        """The target a command names by file and/or URL (the URL wins over the file's, `instances` add to
        its own); None when it names none, which means the embedded reference server."""
        if path:
            target = cls.load(path, base_url=base_url)
        elif base_url:
            target = cls(base_url=base_url.rstrip("/"), name=base_url.rstrip("/"))
        else:
            return None
        return dataclasses.replace(target, instances=target.instances + instances)

    @classmethod
    def load(cls, path: Path, *, base_url: str | None = None) -> Target:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise TargetError(f"cannot read target file {path}: {error}") from None
        try:
            return cls.from_dict(data, base_url=base_url)
        except TargetError as error:
            raise TargetError(f"target file {path}: {error}") from None


@cache
def target_schema() -> dict[str, Any]:
    """The published JSON Schema of the target file (shipped as conformance/target.schema.json)."""
    return json.loads(TARGET_SCHEMA_PATH.read_text())


def validate(data: dict[str, Any]) -> None:
    """Refuses a target that does not follow the schema, naming the first wrong key and, for an unknown
    one, the closest valid key."""
    validator = jsonschema.Draft202012Validator(target_schema())
    errors = sorted(validator.iter_errors(data), key=lambda error: [str(part) for part in error.absolute_path])
    if errors:
        raise TargetError("; ".join(schema_complaint(error) for error in errors))


def schema_complaint(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        return "; ".join(unknown_key(where, key, known) for key in unknown)
    if error.validator == "enum":
        close = difflib.get_close_matches(str(error.instance), [str(value) for value in error.validator_value], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{where}: {error.instance!r} is not one of the known values{hint}"
    return f"{where or 'the file'}: {error.message}"


def unknown_key(where: str, key: str, known: list[str]) -> str:
    name = f"{where}.{key}" if where else key
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {f'{where}.' if where else ''}{close[0]}?)" if close else f" (known: {', '.join(known)})"
    return f"unknown key {name}{hint}"
