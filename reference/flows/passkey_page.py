"""GET /passkeys/page: a minimal page that registers a passkey and signs in with it through the
browser's own WebAuthn client (navigator.credentials)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from guestpass.reference.flows.passkeys import require_enabled
from guestpass.reference.pages import SAME_ORIGIN_ONLY, page


async def passkey_page(request: Request) -> HTMLResponse:
    require_enabled(request)
    return page("passkeys.html", f"{SAME_ORIGIN_ONLY}; img-src 'self' data:")


routes = [Route("/passkeys/page", passkey_page, methods=["GET"])]
