"""GET /passkeys/page: a minimal page that registers a passkey and signs in with it through the
browser's own WebAuthn client (navigator.credentials)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from guestpass.reference.flows.passkeys import require_enabled

PAGE = Path(__file__).parent.parent / "pages" / "passkeys.html"


async def passkey_page(request: Request) -> HTMLResponse:
    require_enabled(request)
    return HTMLResponse(
        PAGE.read_text(),
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self' 'unsafe-inline'; img-src 'self' data:",
            "Referrer-Policy": "no-referrer",
        },
    )


routes = [Route("/passkeys/page", passkey_page, methods=["GET"])]
