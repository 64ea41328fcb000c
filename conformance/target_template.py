"""A commented target file to start describing a new server from."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from guestpass.conformance.capabilities import CAPABILITIES
from guestpass.conformance.target import DEFAULT_CAPABILITIES

PLACEHOLDER_BASE_URL = "https://auth.example.com/auth/v1"
PLACEHOLDER_NAME = "my auth server"
AUTH_PREFIX = "/auth/v1"
DATA_PREFIX = "/data/v1"

# Guestpass extensions and endpoints that a stock GoTrue-style server does not serve, or that have no
# scenarios yet: left commented out so that a fresh server is not checked against them.
UNLIKELY_CAPABILITIES = frozenset(
    {
        "merge",
        "owned-data",
        "passkeys",
        "passkey-upgrade",
        "mfa-webauthn",
        "recovery-password-in-verify",
        "self-delete",
        "cli-handoff",
        "sessions",
        "oauth",
        "id-token",
        "security-notifications",
        "captcha",
    }
)

HEADER = """\
# A guestpass target file: what the suite needs to know about the server it checks.
#   guestpass check --target target.toml
# Anything a scenario needs that this file does not give makes that scenario "not applicable"
# (reported with the reason, never passed). Delete or comment out what your server does not have.
"""

TOP_LEVEL = """\
# Shown in reports. Missing: the base_url is the name.
name = {name}

# The auth API root, where GET /settings answers (`--base-url` on the command line overrides it).
# Required: without it, and without --base-url, the target file is refused.
base_url = {base_url}

# The root of the owned-data probe API (POST /items, GET /items, GET /sync), for the scenarios that
# look at a user's rows (merge, owned-data, self-delete, otp, cli-handoff).
# Missing: those scenarios are not applicable.
{data_base_url_line}

# Further processes serving this same target (one database, one signing key, one public URL): the
# suite's requests, parallel ones included, take them in turn with base_url (`--instance` on the
# command line adds more). Missing: every request goes to base_url.
# instances = ["https://auth-2.internal.example.com/auth/v1"]
"""

CAPABILITIES_HEAD = """\
# The capabilities the server claims, one per line; scenarios of the others are not applicable.
# Missing: only {defaults} are claimed.
# Those a GoTrue-style server does not usually have are commented out: uncomment what yours serves.
"""

SECTIONS = """\
[keys]
# Sent as the `apikey` header on every request. Missing: no apikey header is sent, and the
# scenario checking that the anon key cannot use the admin API is not applicable.
# anon = "eyJ..."
# The service-role key: the suite creates confirmed users through POST /admin/users and reads mail
# through POST /admin/generate_link. Missing: users sign up through POST /signup (which then needs
# automatic confirmation), and the admin scenarios and generate_link mail are not applicable.
# service_role = "eyJ..."
# The server's signing key, to forge tokens only the server could sign (an expired access token):
# an HS256 secret, or the PEM file of an ES256 private key. Missing: those scenarios are not applicable.
# jwt_secret = "..."
# jwt_private_key_file = "es256.pem"

[rate_limits]
# The request header the server keys its rate limits by (each scenario sends its own value, so
# scenarios do not share a budget). Missing: every request comes from one client, and the
# rate-limit scenarios are not applicable; raise the server's limits for the run.
# The server must trust only the header its operator names (GoTrue: GOTRUE_RATE_LIMIT_HEADER).
# header = "X-Forwarded-For"
# Anonymous sign-ins allowed per client per window. Missing: the rate-limit scenarios are not applicable.
# anonymous_sign_ins = 30
# The length of that window in seconds, for the record (the suite never waits one out).
# window_seconds = 3600

[tokens]
# Seconds a rotated refresh token may still be presented (GoTrue's default is 10); the reuse
# scenario waits this long plus half a second. Missing: 10.
refresh_token_reuse_interval = 10

[mail]
# How the suite reads what the server mails (recovery, recovery-password-in-verify, otp,
# email-change, email-confirmation, mail-pkce: the last only from the capture SMTP server).
# Missing both ways: the scenarios that need mail are not applicable.
# A port on 127.0.0.1 where the suite runs a capture SMTP server: point the server's SMTP at it.
# smtp_capture_port = 2525
# Or obtain codes and links from POST /admin/generate_link (needs keys.service_role); the scenarios
# checking that nothing was mailed are then not applicable.
# generate_link = true
# Seconds a mailed code lives. Missing, or above 30: the code-expiry scenarios are not applicable.
# token_ttl = 3600
# Seconds between two mails to one address, for the record.
# send_interval = 60
# Wrong codes on /verify (and, counted apart, wrong passwords on the password grant) one client gets
# before it is answered 429 (GoTrue: the burst of its verify and token limiters, 30). Missing: 30.
# verify_attempts = 30
# Seconds a PKCE flow of a mailed link lives, the auth code its opened link gives included (GoTrue:
# GOTRUE_EXTERNAL_FLOW_STATE_EXPIRY_DURATION, as [oauth] flow_ttl). Missing, or above 30: the
# flow-expiry scenario of mail-pkce is not applicable.
# flow_ttl = 300

[mfa]
# Seconds an MFA challenge lives. Missing, or longer than the suite waits: the challenge-expiry
# scenario is not applicable.
# challenge_ttl = 300
# MFA verify attempts one client gets before it is answered 429 (GoTrue: the burst of its MFA limiter,
# 30). Missing: 20.
# verify_attempts = 20

[passkeys]
# The relying party the suite's virtual authenticator answers as: the origin its client data names
# and (through the server's options) the RP ID. Missing origin: the passkey scenarios are not
# applicable.
# origin = "https://app.example.com"
# rp_id = "app.example.com"
# Seconds a WebAuthn challenge lives, and passkeys allowed per user. Missing or large: the expiry and
# limit scenarios are not applicable.
# challenge_ttl = 300
# max_per_user = 10

[oauth]
# The provider slot the server has pointed at the suite's OpenID provider: start one with
#   guestpass oidc-provider --port 9100 --redirect-uri https://auth.example.com/auth/v1/callback
# configure the issuer, client id and secret it prints as a provider of the server, and name the
# slot and the issuer here. Missing: the oauth scenarios are not applicable.
# provider = "guestpass"
# issuer = "http://127.0.0.1:9100"
# Where the site receives the result of a sign-in (an address the server's redirect allow-list
# accepts). Missing: http://localhost:3000.
# redirect_to = "https://app.example.com"
# Seconds an OAuth flow (and its auth code) lives. Missing, or above 30: the expiry scenario is not
# applicable.
# flow_ttl = 600
# Whether the provider slot verifies the provider's ID token (audience, nonce, issuer, signature). A
# slot that reads the user from the userinfo endpoint instead (GoTrue's keycloak slot) never looks at
# it: say false, and the ID-token scenarios are not applicable. Missing: true.
# checks_id_token = true
# The server's client at that provider (its client id is the audience of the provider's ID tokens): the
# suite signs in at the provider as this client to get ID tokens for POST /token?grant_type=id_token.
# Missing: the id-token scenarios that need a real ID token are not applicable.
# client_id = "guestpass"
# client_secret = "..."

[captcha]
# How the suite drives the captcha of the captcha variant (below): it runs a stand-in verifier that
# speaks the provider's siteverify protocol on 127.0.0.1:siteverify_port, so point that server's
# siteverify URL at http://127.0.0.1:<port>/siteverify (hCaptcha) or
# http://127.0.0.1:<port>/turnstile/v0/siteverify (Turnstile), with this secret; the suite hands out
# tokens of this site key. Missing, or no captcha variant: the captcha scenarios are not applicable.
# provider = "turnstile"
# siteverify_port = 9200
# site_key = "guestpass-site"
# secret = "guestpass-secret"

[variants]
# The same server with anonymous sign-ins turned off. Missing: the scenarios of the off switch are
# not applicable.
# anonymous_disabled = "https://auth-noanon.example.com/auth/v1"
# The same server with mailer_autoconfirm off. Missing: the email-confirmation scenarios are not
# applicable unless the server above itself confirms addresses by mail.
# email_confirmation = "https://auth-confirm.example.com/auth/v1"
# The same server with passkey upgrade off (anonymous users may not register passkeys). Missing: that
# refusal is checked only when the target itself claims no passkey-upgrade.
# passkey_upgrade_disabled = "https://auth-nopku.example.com/auth/v1"
# The same server with manual identity linking off (GoTrue's default: GET /user/identities/authorize
# and unlinking answer 404 manual_linking_disabled). Missing: that refusal is not applicable.
# manual_linking_disabled = "https://auth-nolink.example.com/auth/v1"
# The same server requiring a reauthentication nonce (GET /reauthenticate) for every password change.
# Missing: the reauthentication scenarios of the nonce are not applicable.
# password_reauthentication = "https://auth-reauth.example.com/auth/v1"
# The same server with captcha on, verifying tokens at the suite's stand-in ([captcha]). Missing: the
# captcha scenarios are not applicable.
# captcha = "https://auth-captcha.example.com/auth/v1"
"""


def target_template(base_url: str | None = None, name: str | None = None) -> str:
    """A target file naming every key and section, each with what it is for and what its absence means."""
    url = (base_url or PLACEHOLDER_BASE_URL).rstrip("/")
    top = TOP_LEVEL.format(
        name=toml_string(name or default_name(base_url)),
        base_url=toml_string(url),
        data_base_url_line=f"# data_base_url = {toml_string(data_base_url_guess(url))}",
    )
    return "\n".join([HEADER, top, capabilities_block(), SECTIONS])


def capabilities_block() -> str:
    lines = [capability_line(capability, meaning) for capability, meaning in CAPABILITIES.items()]
    width = max(len(line) for line, _ in lines)
    head = CAPABILITIES_HEAD.format(defaults=" and ".join(DEFAULT_CAPABILITIES))
    body = [f"{line.ljust(width)}  # {meaning}" for line, meaning in lines]
    return head + "capabilities = [\n" + "\n".join(body) + "\n]\n"


def capability_line(capability: str, meaning: str) -> tuple[str, str]:
    prefix = "    # " if capability in UNLIKELY_CAPABILITIES else "    "
    return f"{prefix}{toml_string(capability)},", meaning


def default_name(base_url: str | None) -> str:
    host = urlsplit(base_url).hostname if base_url else None
    return host or PLACEHOLDER_NAME


def data_base_url_guess(base_url: str) -> str:
    if base_url.endswith(AUTH_PREFIX):
        return base_url.removesuffix(AUTH_PREFIX) + DATA_PREFIX
    return base_url + DATA_PREFIX


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but TOML also wants DEL escaped."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
