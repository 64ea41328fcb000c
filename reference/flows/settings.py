"""GET /settings, GET /health and the JWKS: what clients read before anything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime


async def settings(request: Request) -> JSONResponse:
    rt = runtime(request)
    config = rt.config
    return JSONResponse(
        {
            "external": {
                "anonymous_users": config.anonymous_enabled,
                "email": True,
                "phone": False,
                **{name: True for name in rt.oidc},
            },
            "disable_signup": not config.signup_enabled,
            "mailer_autoconfirm": config.mailer_autoconfirm,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
            "saml_private_key_next_configured": False,
            "passkeys_enabled": config.passkeys_enabled,
            "captcha_enabled": config.captcha_enabled,
            "captcha_provider": config.captcha_provider if config.captcha_enabled else "",
        }
    )


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"name": "guestpass", "description": "guestpass reference server", "version": "1"})


async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(runtime(request).key.jwks())


routes = [
    Route("/settings", settings, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
]
