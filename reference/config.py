"""One frozen configuration object for the reference server, read from GUESTPASS_* variables or flags."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JwtAlgorithm = Literal["HS256", "ES256"]

ENV_PREFIX = "GUESTPASS_"


@dataclass(frozen=True)
class PasswordCost:
    """Argon2id parameters; tests lower them, production keeps the library's defaults."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


@dataclass(frozen=True)
class Config:
    database_url: str = "sqlite:///guestpass.db"
    site_url: str = "http://localhost:3000"
    redirect_allow_list: str = ""
    external_url: str = "http://127.0.0.1:9999/auth/v1"
    jwt_algorithm: JwtAlgorithm = "HS256"
    jwt_secret: str = ""
    jwt_private_key_file: str = ""
    access_token_ttl: int = 3600
    refresh_token_reuse_interval: int = 10
    anonymous_enabled: bool = True
    signup_enabled: bool = True
    mailer_autoconfirm: bool = True
    password_min_length: int = 6
    password_cost: PasswordCost = field(default_factory=PasswordCost)
    rate_limit_header: str = ""  # trust no client-IP header unless the operator names the one its proxy sets
    anonymous_sign_ins_per_window: int = 30
    rate_limit_window_seconds: int = 3600
    cli_attempt_ttl: int = 7200
    cli_attempt_max_ttl: int = 86400
    cli_poll_interval: int = 5
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "guestpass <noreply@guestpass.invalid>"
    mail_token_ttl: int = 3600
    mail_send_interval: int = 60
    mail_retry_seconds: float = 5.0  # first wait after a failed delivery; doubles up to 5 minutes
    mail_give_up_seconds: int = 86400  # mail not delivered by then is dropped
    verify_attempts_per_window: int = 30  # wrong /verify codes, and apart from them wrong passwords, per client
    code_attempts: int = 5  # wrong guesses that spend a mailed code
    secure_email_change: bool = True
    mfa_challenge_ttl: int = 300
    mfa_verify_attempts_per_window: int = 5
    mfa_unverified_factor_ttl: int = 300  # GoTrue: factor_expiry_duration, 300 s
    mfa_webauthn_enabled: bool = True
    passkeys_enabled: bool = True
    passkey_upgrade_enabled: bool = True
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "guestpass"
    webauthn_origins: str = "http://localhost:3000"
    webauthn_user_verification: str = "preferred"
    webauthn_challenge_ttl: int = 300
    max_passkeys_per_user: int = 10
    oidc_providers: str = ""
    oauth_flow_ttl: int = 600
    update_password_require_reauthentication: bool = False  # GoTrue: SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION
    reauthentication_recent_sign_in: int = 86400  # a session this young changes its password without a nonce
    max_body_bytes: int = 1 << 20  # GoTrue's bound (internal/api/api.go limitRequestBody)
    max_metadata_bytes: int = 16 << 10  # serialized JSON of user_metadata / app_metadata
    admin_roles: str = "service_role,supabase_admin"  # GoTrue's JWT_ADMIN_ROLES: token roles of the admin API
    manual_linking_enabled: bool = True  # GoTrue's SECURITY_MANUAL_LINKING_ENABLED (off there by default)
    # Security notices (GoTrue's MAILER_NOTIFICATIONS_<NAME>_ENABLED, each off by default there and here)
    notify_password_changed: bool = False
    notify_email_changed: bool = False
    notify_identity_linked: bool = False
    notify_identity_unlinked: bool = False
    notify_mfa_factor_enrolled: bool = False
    notify_mfa_factor_unenrolled: bool = False
    captcha_enabled: bool = False  # GoTrue's SECURITY_CAPTCHA_ENABLED
    captcha_provider: str = "hcaptcha"  # or turnstile (GoTrue's SECURITY_CAPTCHA_PROVIDER)
    captcha_secret: str = ""  # GoTrue's SECURITY_CAPTCHA_SECRET
    captcha_site_key: str = ""  # sent to hCaptcha as `sitekey` when set
    captcha_siteverify_url: str = ""  # empty: the provider's own siteverify API
    captcha_timeout: float = 10.0  # seconds (GoTrue's SECURITY_CAPTCHA_TIMEOUT)

    @property
    def jwt_issuer(self) -> str:
        return self.external_url

    @property
    def admin_role_names(self) -> frozenset[str]:
        return frozenset(role.strip() for role in self.admin_roles.split(",") if role.strip())

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


TEST_PROFILE: dict[str, Any] = {
    "password_cost": PasswordCost(time_cost=1, memory_cost_kib=64, parallelism=1),
    "access_token_ttl": 600,
    "refresh_token_reuse_interval": 1,
    "rate_limit_header": "Sb-Forwarded-For",  # the suite tells its scenarios apart by this header
    "anonymous_sign_ins_per_window": 10,
    "cli_poll_interval": 1,
    "mail_token_ttl": 3,
    "mail_send_interval": 1,
    "mail_retry_seconds": 0.2,
    "mfa_challenge_ttl": 2,
    "mfa_unverified_factor_ttl": 30,
    "webauthn_challenge_ttl": 2,
    "max_passkeys_per_user": 3,
    "webauthn_user_verification": "required",
    "oauth_flow_ttl": 2,
    "reauthentication_recent_sign_in": 0,
    "notify_password_changed": True,
    "notify_email_changed": True,
    "notify_identity_linked": True,
    "notify_identity_unlinked": True,
    "notify_mfa_factor_enrolled": True,
    "notify_mfa_factor_unenrolled": True,
}


def _coerce(value: str, kind: type) -> Any:
    if kind is bool:
        if value.lower() in {"1", "true", "yes", "on"}:
            return True
        if value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return kind(value)


_SCALAR_TYPES: dict[str, type] = {
    "database_url": str,
    "site_url": str,
    "redirect_allow_list": str,
    "external_url": str,
    "jwt_algorithm": str,
    "jwt_secret": str,
    "jwt_private_key_file": str,
    "access_token_ttl": int,
    "refresh_token_reuse_interval": int,
    "anonymous_enabled": bool,
    "signup_enabled": bool,
    "mailer_autoconfirm": bool,
    "password_min_length": int,
    "rate_limit_header": str,
    "anonymous_sign_ins_per_window": int,
    "rate_limit_window_seconds": int,
    "cli_attempt_ttl": int,
    "cli_attempt_max_ttl": int,
    "cli_poll_interval": int,
    "smtp_host": str,
    "smtp_port": int,
    "smtp_sender": str,
    "mail_token_ttl": int,
    "mail_send_interval": int,
    "mail_retry_seconds": float,
    "mail_give_up_seconds": int,
    "verify_attempts_per_window": int,
    "code_attempts": int,
    "secure_email_change": bool,
    "mfa_challenge_ttl": int,
    "mfa_verify_attempts_per_window": int,
    "mfa_unverified_factor_ttl": int,
    "mfa_webauthn_enabled": bool,
    "passkeys_enabled": bool,
    "passkey_upgrade_enabled": bool,
    "webauthn_rp_id": str,
    "webauthn_rp_name": str,
    "webauthn_origins": str,
    "webauthn_user_verification": str,
    "webauthn_challenge_ttl": int,
    "max_passkeys_per_user": int,
    "oidc_providers": str,
    "oauth_flow_ttl": int,
    "max_body_bytes": int,
    "max_metadata_bytes": int,
    "admin_roles": str,
    "manual_linking_enabled": bool,
    "captcha_enabled": bool,
    "captcha_provider": str,
    "captcha_secret": str,
    "captcha_site_key": str,
    "captcha_siteverify_url": str,
    "captcha_timeout": float,
    "update_password_require_reauthentication": bool,
    "reauthentication_recent_sign_in": int,
    "notify_password_changed": bool,
    "notify_email_changed": bool,
    "notify_identity_linked": bool,
    "notify_identity_unlinked": bool,
    "notify_mfa_factor_enrolled": bool,
    "notify_mfa_factor_unenrolled": bool,
}


def config_from_env(environ: Mapping[str, str] | None = None, *, base: Config | None = None) -> Config:
    """Overlay GUESTPASS_<FIELD> variables (and GUESTPASS_PASSWORD_TIME_COST etc.) on `base`."""
    environ = os.environ if environ is None else environ
    config = base or Config()
    changes: dict[str, Any] = {}
    for name, kind in _SCALAR_TYPES.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            changes[name] = _coerce(raw, kind)
    cost = {
        attr: int(environ[ENV_PREFIX + "PASSWORD_" + attr.upper()])
        for attr in ("time_cost", "memory_cost_kib", "parallelism")
        if ENV_PREFIX + "PASSWORD_" + attr.upper() in environ
    }
    if cost:
        changes["password_cost"] = dataclasses.replace(config.password_cost, **cost)
    return validate(config.replace(**changes))


def validate(config: Config) -> Config:
    if config.jwt_algorithm not in ("HS256", "ES256"):
        raise ValueError(f"jwt_algorithm must be HS256 or ES256, not {config.jwt_algorithm!r}")
    if config.webauthn_user_verification not in ("required", "preferred", "discouraged"):
        raise ValueError("webauthn_user_verification must be required, preferred or discouraged")
    if config.access_token_ttl < 30:
        raise ValueError("access_token_ttl must be at least 30 seconds")
    if config.verify_attempts_per_window < 1 or config.code_attempts < 1:
        raise ValueError("verify_attempts_per_window and code_attempts must be at least 1")
    if not 0 < config.max_metadata_bytes < config.max_body_bytes:
        raise ValueError("max_metadata_bytes must be positive and below max_body_bytes")
    if config.captcha_provider not in ("hcaptcha", "turnstile"):
        raise ValueError(f"captcha_provider must be hcaptcha or turnstile, not {config.captcha_provider!r}")
    if config.captcha_enabled and not config.captcha_secret.strip():
        raise ValueError("captcha_enabled needs captcha_secret")
    return config
