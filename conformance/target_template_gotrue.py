"""A target file for a Supabase Auth (GoTrue) server: which of its settings give which capability, and
the values the suite must know, with GoTrue's defaults. Checked against v2.196 (see
implementations/gotrue/)."""

from __future__ import annotations

from guestpass.conformance.target_template import toml_string

DEFAULT_BASE_URL = "http://127.0.0.1:9999"

GOTRUE_TEMPLATE = """\
# A guestpass target file for a Supabase Auth (GoTrue) server.
#   guestpass check --target target.toml --expected-failures implementations/gotrue/expected-failures.toml
# Each value names the GoTrue setting (environment variable) it follows; GoTrue's default is given where
# the suite needs something else. Anything missing makes its scenarios "not applicable", never passed.

name = {name}
# GoTrue serves its API at the root (API_EXTERNAL_URL); behind Supabase's gateway it is .../auth/v1.
base_url = {base_url}

capabilities = [
    "core",                # always; GOTRUE_JWT_ISSUER set (unset, access tokens carry no iss: CORE-003), and
    #                        GOTRUE_JWT_DEFAULT_GROUP_NAME=authenticated (unset, new users' role is "": CORE-003)
    "anonymous",           # GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED=true
    "rate-limits",         # GOTRUE_RATE_LIMIT_ANONYMOUS_USERS, keyed by GOTRUE_RATE_LIMIT_HEADER (below)
    "admin",               # always; needs keys.service_role
    "mfa-totp",            # GOTRUE_MFA_TOTP_ENROLL_ENABLED=true, GOTRUE_MFA_TOTP_VERIFY_ENABLED=true
    "mfa-webauthn",        # GOTRUE_MFA_WEB_AUTHN_ENROLL_ENABLED=true, GOTRUE_MFA_WEB_AUTHN_VERIFY_ENABLED=true
    "recovery",            # GOTRUE_SMTP_* pointed at the suite's capture port ([mail])
    "otp",                 # GOTRUE_SMTP_* too; GOTRUE_MAILER_TEMPLATES_* must carry {{{{ .Token }}}} for codes
    "email-change",        # GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED=true; runs on the email_confirmation variant
    "email-confirmation",  # the email_confirmation variant (GOTRUE_MAILER_AUTOCONFIRM=false)
    "passkeys",            # GOTRUE_PASSKEY_ENABLED=true, GOTRUE_WEBAUTHN_RP_ID, GOTRUE_WEBAUTHN_RP_ORIGINS
    "oauth",               # GOTRUE_EXTERNAL_KEYCLOAK_* pointed at `guestpass oidc-provider --routes keycloak`
    "id-token",            # GOTRUE_EXTERNAL_KEYCLOAK_* too: the id_token grant reads the slot's discovery document
    "reauthentication",    # GOTRUE_SMTP_* (mails the nonce); GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION
    "mail-pkce",           # GOTRUE_SMTP_* pointed at the capture port: links asked for with a code_challenge
    # "security-notifications",  # GOTRUE_MAILER_NOTIFICATIONS_<NAME>_ENABLED=true for PASSWORD_CHANGED,
    #   EMAIL_CHANGED, IDENTITY_LINKED, IDENTITY_UNLINKED, MFA_FACTOR_ENROLLED, MFA_FACTOR_UNENROLLED (all off)
    # Not in GoTrue: merge, owned-data, self-delete, cli-handoff, sessions, passkey-upgrade,
    # recovery-password-in-verify. Not drivable: captcha (GOTRUE_SECURITY_CAPTCHA_* verifies tokens only
    # at hcaptcha.com or challenges.cloudflare.com, internal/security/captcha.go, never at the suite's
    # stand-in verifier).
]

[keys]
# HS256 JWTs signed with GOTRUE_JWT_SECRET: {{"role": "anon"}} and {{"role": "service_role"}} (any role in
# GOTRUE_JWT_ADMIN_ROLES is an admin; no exp or iss needed).
anon = "eyJ..."
service_role = "eyJ..."
# The key GoTrue signs access tokens with, for the forged-token scenarios. GOTRUE_JWT_SECRET alone:
jwt_secret = "the value of GOTRUE_JWT_SECRET"
# With a signing key in GOTRUE_JWT_KEYS (ES256, say), give its private key in PEM instead, and no
# jwt_secret: tokens forged with the secret would carry the wrong key id, and GoTrue still accepts HS256
# tokens signed with GOTRUE_JWT_SECRET whose key id it does not know (internal/api/auth.go).
# jwt_private_key_file = "es256.pem"

[rate_limits]
# GOTRUE_RATE_LIMIT_HEADER: empty by default, which makes every request one client. Set it (for example
# to X-Forwarded-For) so that each scenario counts as a client of its own.
header = "X-Forwarded-For"
# GOTRUE_RATE_LIMIT_ANONYMOUS_USERS (default 30 an hour).
anonymous_sign_ins = 30
window_seconds = 3600

[tokens]
# GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL (default 10).
refresh_token_reuse_interval = 10

[mail]
# Point GOTRUE_SMTP_HOST/GOTRUE_SMTP_PORT at 127.0.0.1 and this port, where the suite captures mail.
smtp_capture_port = 2525
# GOTRUE_MAILER_OTP_EXP (default 86400): at most 30 lets the code-expiry scenarios run.
token_ttl = 30
# GOTRUE_SMTP_MAX_FREQUENCY (default 60s).
send_interval = 60
# The burst of GOTRUE_RATE_LIMIT_VERIFY (default 30 per 5 minutes per client): leave it at its default.
verify_attempts = 30
# GOTRUE_EXTERNAL_FLOW_STATE_EXPIRY_DURATION (one lifetime for every flow state): never below 300.
flow_ttl = 300

[mfa]
# GOTRUE_MFA_CHALLENGE_EXPIRY_DURATION: never below 300, so the challenge-expiry scenarios are not applicable.
challenge_ttl = 300
# The burst of GoTrue's MFA limiter (GOTRUE_MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY, default 15 a minute): 30.
verify_attempts = 30

[passkeys]
# GOTRUE_WEBAUTHN_RP_ID (a domain, not an IP address) and one of GOTRUE_WEBAUTHN_RP_ORIGINS.
rp_id = "localhost"
origin = "http://localhost:3000"
# GOTRUE_WEBAUTHN_CHALLENGE_EXPIRY_DURATION (default 5m): at most 30s lets the expiry scenario run.
challenge_ttl = 300
# GOTRUE_PASSKEY_MAX_PASSKEYS_PER_USER.
max_per_user = 10
# GoTrue asks for user verification as "preferred" and does not let it be required.
user_verification = "preferred"

[oauth]
# Custom OIDC providers must be https and off loopback; the keycloak slot is not. Run
#   guestpass oidc-provider --routes keycloak --port 9100 --redirect-uri <API_EXTERNAL_URL>/callback
# and set GOTRUE_EXTERNAL_KEYCLOAK_ENABLED=true, _URL (the issuer printed), _CLIENT_ID, _SECRET, _REDIRECT_URI.
provider = "keycloak"
issuer = "http://127.0.0.1:9100"
# On GOTRUE_URI_ALLOW_LIST (or GOTRUE_SITE_URL).
redirect_to = "http://localhost:3000"
# GOTRUE_EXTERNAL_FLOW_STATE_EXPIRY_DURATION: never below 300.
flow_ttl = 300
# The keycloak slot reads the user from userinfo and never looks at the ID token.
checks_id_token = false
# GOTRUE_EXTERNAL_KEYCLOAK_CLIENT_ID and _SECRET: the suite gets ID tokens as this client.
client_id = "guestpass"
# client_secret = "..."

[variants]
# The same database and secret, with GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED=false.
# anonymous_disabled = "http://127.0.0.1:9997"
# The same database and secret, with GOTRUE_MAILER_AUTOCONFIRM=false (the email-change scenarios run here).
# email_confirmation = "http://127.0.0.1:9998"
# The same database and secret, with GOTRUE_SECURITY_MANUAL_LINKING_ENABLED=false (its default).
# manual_linking_disabled = "http://127.0.0.1:9996"
# GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION=true. GoTrue asks for the nonce only when the
# session is older than 24 hours, so a fresh session never needs one: leave this out.
# password_reauthentication = "http://127.0.0.1:9996"
# GOTRUE_SECURITY_CAPTCHA_ENABLED=true asks the provider's own siteverify API, which the suite cannot
# answer for: leave this (and [captcha]) out.
# captcha = "http://127.0.0.1:9995"
"""


def gotrue_template(base_url: str | None = None, name: str | None = None) -> str:
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return GOTRUE_TEMPLATE.format(name=toml_string(name or "Supabase Auth (GoTrue)"), base_url=toml_string(url))
