"""The capabilities a server can claim; every scenario belongs to exactly one."""

CAPABILITIES: dict[str, str] = {
    "core": "settings, email signup, password and refresh grants, GET/PUT /user, logout, JWT claims, errors",
    "anonymous": "anonymous sign-in, its claims and restrictions, in-place conversion",
    "rate-limits": "429 behaviours",
    "admin": "the service-role admin API used for setup",
    "merge": "signing in to an existing account moves an anonymous session's data atomically",
    "owned-data": "a minimal data API whose rows are owned by users",
    "passkeys": "WebAuthn first-factor passkeys",
    "passkey-upgrade": "an anonymous user who registers a passkey becomes permanent",
    "mfa-totp": "TOTP factors, challenge and verify to aal2",
    "mfa-webauthn": "WebAuthn as a second factor",
    "recovery": "password recovery by mail",
    "recovery-password-in-verify": "an optional password in the recovery verify call",
    "email-change": "secure, double-confirmed email change",
    "otp": "magic link and email code sign-in",
    "email-confirmation": "signup and anonymous conversion confirmed by mail (autoconfirm off)",
    "self-delete": "DELETE /user for the caller only",
    "cli-handoff": "CLI login through a browser, with anonymous carry-over",
    "sessions": "list and end the caller's sessions",
    "oauth": "OIDC sign-in and identity linking",
    "id-token": "native sign-in with a provider's ID token (POST /token?grant_type=id_token)",
    "reauthentication": "a mailed nonce (GET /reauthenticate) for password changes",
    "mail-pkce": "mailed links asked for with PKCE redirect with a code exchanged at POST /token?grant_type=pkce",
    "security-notifications": "mail telling the user of a new password, email, linked identity or MFA factor",
    "captcha": "captcha tokens (hCaptcha, Turnstile) on sign-up, sign-in and recovery requests",
}

LEVELS = ("must", "should")
