"""Every error the server can answer, in one table, rendered in both GoTrue wire formats."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from starlette.requests import Request

from guestpass.reference.responses import JSONResponse

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION_2024_01_01 = date(2024, 1, 1)


class ErrorCode(StrEnum):
    anonymous_provider_disabled = "anonymous_provider_disabled"
    anonymous_token_invalid = "anonymous_token_invalid"
    bad_code_verifier = "bad_code_verifier"
    bad_json = "bad_json"
    bad_jwt = "bad_jwt"
    bad_oauth_callback = "bad_oauth_callback"
    bad_oauth_state = "bad_oauth_state"
    captcha_failed = "captcha_failed"
    cli_code_invalid = "cli_code_invalid"
    cli_no_anonymous_session = "cli_no_anonymous_session"
    email_address_invalid = "email_address_invalid"
    email_exists = "email_exists"
    email_not_confirmed = "email_not_confirmed"
    flow_state_expired = "flow_state_expired"
    flow_state_not_found = "flow_state_not_found"
    identity_already_exists = "identity_already_exists"
    identity_not_found = "identity_not_found"
    insufficient_aal = "insufficient_aal"
    invalid_credentials = "invalid_credentials"
    manual_linking_disabled = "manual_linking_disabled"
    merge_source_is_target = "merge_source_is_target"
    merge_source_not_anonymous = "merge_source_not_anonymous"
    method_not_allowed = "method_not_allowed"
    mfa_challenge_expired = "mfa_challenge_expired"
    mfa_factor_name_conflict = "mfa_factor_name_conflict"
    mfa_factor_not_found = "mfa_factor_not_found"
    mfa_ip_address_mismatch = "mfa_ip_address_mismatch"
    mfa_phone_enroll_not_enabled = "mfa_phone_enroll_not_enabled"
    mfa_verification_failed = "mfa_verification_failed"
    mfa_webauthn_enroll_not_enabled = "mfa_webauthn_enroll_not_enabled"
    no_authorization = "no_authorization"
    not_admin = "not_admin"
    not_found = "not_found"
    otp_disabled = "otp_disabled"
    otp_expired = "otp_expired"
    over_email_send_rate_limit = "over_email_send_rate_limit"
    over_request_rate_limit = "over_request_rate_limit"
    passkey_disabled = "passkey_disabled"
    provider_disabled = "provider_disabled"
    reauthentication_needed = "reauthentication_needed"
    reauthentication_not_valid = "reauthentication_not_valid"
    web3_provider_disabled = "web3_provider_disabled"
    provider_email_needs_verification = "provider_email_needs_verification"
    phone_provider_disabled = "phone_provider_disabled"
    refresh_token_already_used = "refresh_token_already_used"
    refresh_token_not_found = "refresh_token_not_found"
    request_entity_too_large = "request_entity_too_large"
    same_password = "same_password"
    session_not_found = "session_not_found"
    single_identity_not_deletable = "single_identity_not_deletable"
    signup_disabled = "signup_disabled"
    too_many_passkeys = "too_many_passkeys"
    unexpected_failure = "unexpected_failure"
    user_already_exists = "user_already_exists"
    user_banned = "user_banned"
    user_not_found = "user_not_found"
    validation_failed = "validation_failed"
    weak_password = "weak_password"
    webauthn_challenge_expired = "webauthn_challenge_expired"
    webauthn_challenge_not_found = "webauthn_challenge_not_found"
    webauthn_credential_exists = "webauthn_credential_exists"
    webauthn_credential_not_found = "webauthn_credential_not_found"
    webauthn_verification_failed = "webauthn_verification_failed"


# code -> (HTTP status, default message)
ERRORS: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.anonymous_provider_disabled: (422, "Anonymous sign-ins are disabled"),
    ErrorCode.anonymous_token_invalid: (400, "anon_refresh_token is not a live refresh token of an anonymous user"),
    ErrorCode.bad_code_verifier: (400, "code challenge does not match previously saved code verifier"),
    ErrorCode.bad_json: (400, "Could not parse request body as JSON"),
    ErrorCode.bad_jwt: (403, "invalid JWT: unable to parse or verify signature"),
    ErrorCode.bad_oauth_callback: (400, "The OAuth callback could not be completed"),
    ErrorCode.bad_oauth_state: (400, "OAuth callback with invalid state"),
    ErrorCode.captcha_failed: (400, "captcha protection: request disallowed"),
    ErrorCode.cli_code_invalid: (400, "Invalid code, or the code has expired or was used"),
    ErrorCode.cli_no_anonymous_session: (400, "No anonymous session is associated with this code"),
    ErrorCode.email_address_invalid: (400, "Email address is invalid"),
    ErrorCode.email_exists: (422, "A user with this email address has already been registered"),
    ErrorCode.email_not_confirmed: (400, "Email not confirmed"),
    ErrorCode.flow_state_expired: (422, "invalid flow state, flow state has expired"),
    ErrorCode.flow_state_not_found: (404, "invalid flow state, no valid flow state found"),
    ErrorCode.identity_already_exists: (422, "Identity is already linked to another user"),
    ErrorCode.identity_not_found: (404, "Identity doesn't exist"),
    ErrorCode.insufficient_aal: (403, "AAL2 required"),
    ErrorCode.invalid_credentials: (400, "Invalid login credentials"),
    ErrorCode.manual_linking_disabled: (404, "Manual linking is disabled"),
    ErrorCode.merge_source_is_target: (422, "The anonymous refresh token belongs to the signed-in user"),
    ErrorCode.merge_source_not_anonymous: (422, "The anonymous refresh token belongs to a permanent user"),
    ErrorCode.method_not_allowed: (405, "Method not allowed"),
    ErrorCode.mfa_challenge_expired: (422, "MFA challenge has expired, verify against another challenge"),
    ErrorCode.mfa_factor_name_conflict: (422, "A factor with this friendly name already exists"),
    ErrorCode.mfa_factor_not_found: (404, "Factor not found"),
    ErrorCode.mfa_ip_address_mismatch: (422, "The challenge was already verified, create a new challenge"),
    ErrorCode.mfa_phone_enroll_not_enabled: (422, "MFA enroll is disabled for Phone"),
    ErrorCode.mfa_verification_failed: (422, "Invalid TOTP code entered"),
    ErrorCode.mfa_webauthn_enroll_not_enabled: (422, "MFA enroll is disabled for WebAuthn"),
    ErrorCode.no_authorization: (401, "This endpoint requires a valid Bearer token"),
    ErrorCode.not_admin: (403, "User not allowed"),
    ErrorCode.not_found: (404, "Not found"),
    ErrorCode.otp_disabled: (422, "Signups not allowed for otp"),
    ErrorCode.otp_expired: (403, "Email link is invalid or has expired"),
    ErrorCode.over_email_send_rate_limit: (
        429,
        "For security purposes, you can only request this once every 60 seconds",
    ),
    ErrorCode.over_request_rate_limit: (429, "Request rate limit reached"),
    ErrorCode.phone_provider_disabled: (400, "Phone signups are disabled"),
    ErrorCode.provider_email_needs_verification: (
        422,
        "The provider's email address is not verified and belongs to an existing user",
    ),
    ErrorCode.refresh_token_already_used: (400, "Invalid Refresh Token: Already Used"),
    ErrorCode.refresh_token_not_found: (400, "Invalid Refresh Token: Refresh Token Not Found"),
    ErrorCode.request_entity_too_large: (413, "Request body too large"),
    ErrorCode.same_password: (422, "New password should be different from the old password."),
    ErrorCode.session_not_found: (403, "Session from session_id claim in JWT does not exist"),
    ErrorCode.single_identity_not_deletable: (422, "User must have at least 1 identity after unlinking"),
    ErrorCode.signup_disabled: (422, "Signups not allowed for this instance"),
    ErrorCode.unexpected_failure: (500, "Unexpected failure"),
    ErrorCode.user_already_exists: (422, "User already registered"),
    ErrorCode.user_banned: (400, "User is banned"),
    ErrorCode.user_not_found: (403, "User from sub claim in JWT does not exist"),
    ErrorCode.validation_failed: (400, "Validation failed"),
    ErrorCode.weak_password: (422, "Password should be at least 6 characters."),
    ErrorCode.passkey_disabled: (404, "Passkeys are disabled"),
    ErrorCode.provider_disabled: (400, "Provider is not enabled"),
    ErrorCode.reauthentication_needed: (400, "Password update requires reauthentication"),
    ErrorCode.reauthentication_not_valid: (422, "Nonce has expired or is invalid"),
    ErrorCode.web3_provider_disabled: (422, "Web3 provider is disabled"),
    ErrorCode.too_many_passkeys: (422, "Too many passkeys registered for this user"),
    ErrorCode.webauthn_challenge_expired: (400, "The WebAuthn challenge has expired"),
    ErrorCode.webauthn_challenge_not_found: (400, "WebAuthn challenge not found, or used already"),
    ErrorCode.webauthn_credential_exists: (422, "This passkey is already registered"),
    ErrorCode.webauthn_credential_not_found: (404, "Passkey not found"),
    ErrorCode.webauthn_verification_failed: (400, "WebAuthn verification failed"),
}


class ApiError(Exception):
    """Raised by handlers; rendered once, by the app's exception handler."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        default_status, default_message = ERRORS[code]
        self.code = code
        self.status = status or default_status
        self.message = message or default_message
        self.extra = extra or {}
        super().__init__(f"{self.status} {code}: {self.message}")


def requested_api_version(request: Request) -> date | None:
    raw = request.headers.get(API_VERSION_HEADER, "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def error_response(request: Request, error: ApiError) -> JSONResponse:
    version = requested_api_version(request)
    if version is not None and version >= API_VERSION_2024_01_01:
        body: dict[str, Any] = {"code": error.code.value, "message": error.message}
        headers = {API_VERSION_HEADER: API_VERSION_2024_01_01.isoformat()}
    else:
        body = {"code": error.status, "error_code": error.code.value, "msg": error.message}
        headers = {}
    body.update(error.extra)
    return JSONResponse(body, status_code=error.status, headers=headers)
