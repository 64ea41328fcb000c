"""Bot protection on the unauthenticated entry points, as GoTrue's verifyCaptcha (SECURITY_CAPTCHA_*):
the body's `gotrue_meta_security.captcha_token` is checked with the provider's siteverify API (hCaptcha
or Cloudflare Turnstile) before anything is looked up or written. No token, or a token the verifier does
not accept: 400 captcha_failed. A verifier that cannot be reached or does not answer JSON: 500
unexpected_failure, and the request is refused (it fails closed). An admin key skips the check."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request

from guestpass.reference.auth import require_service_role
from guestpass.reference.body import json_object
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.outbound import tls_context
from guestpass.reference.ratelimit import client_key
from guestpass.reference.runtime import runtime

SITEVERIFY_URLS = {
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
}


class VerifierUnavailable(Exception):
    """The verifier could not be asked, or did not answer with its JSON."""


async def require_captcha(request: Request) -> None:
    config = runtime(request).config
    if not config.captcha_enabled or is_admin(request):
        return
    body = await json_object(request)
    security = body.get("gotrue_meta_security")
    token = security.get("captcha_token") if isinstance(security, dict) else None
    token = token.strip() if isinstance(token, str) else ""
    if not token:
        raise ApiError(ErrorCode.captcha_failed, "captcha protection: request disallowed (no captcha_token found)")
    try:
        answer = await siteverify(config, token, client_key(request, config.rate_limit_header))
    except VerifierUnavailable:
        raise ApiError(ErrorCode.unexpected_failure, "captcha verification process failed") from None
    if answer.get("success") is not True:
        codes = answer.get("error-codes")
        reasons = ", ".join(str(code) for code in codes) if isinstance(codes, list) else ""
        raise ApiError(ErrorCode.captcha_failed, f"captcha protection: request disallowed ({reasons})")


def is_admin(request: Request) -> bool:
    if not request.headers.get("authorization"):
        return False
    try:
        require_service_role(request)
    except ApiError:
        return False
    return True


async def siteverify(config: Config, token: str, remote_ip: str) -> dict[str, Any]:
    """The provider's answer to `token`: a form-encoded POST of the secret, the token and the client's
    address (and, for hCaptcha, the site key when configured)."""
    form = {"secret": config.captcha_secret.strip(), "response": token, "remoteip": remote_ip}
    if config.captcha_provider == "hcaptcha" and config.captcha_site_key:
        form["sitekey"] = config.captcha_site_key
    url = config.captcha_siteverify_url or SITEVERIFY_URLS[config.captcha_provider]
    try:
        async with httpx.AsyncClient(timeout=config.captcha_timeout, verify=tls_context()) as client:
            response = await client.post(url, data=form)
        answer = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise VerifierUnavailable(str(error)) from None
    if response.status_code >= 500 or not isinstance(answer, dict):
        raise VerifierUnavailable(f"the verifier answered {response.status_code}")
    return answer
