"""Where a mail link may send the browser: the site URL, or an address on the allow list."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from guestpass.reference.body import field
from guestpass.reference.config import Config
from guestpass.reference.runtime import runtime


def allowed_redirect(config: Config, requested: str | None) -> str:
    """`requested` if it is on the site's origin or starts with an allow-listed prefix, else the site URL."""
    if not requested:
        return config.site_url
    site, wanted = urlsplit(config.site_url), urlsplit(requested)
    if (wanted.scheme, wanted.netloc) == (site.scheme, site.netloc):
        return requested
    prefixes = [prefix.strip() for prefix in config.redirect_allow_list.split(",") if prefix.strip()]
    return requested if any(requested.startswith(prefix) for prefix in prefixes) else config.site_url


def redirect_of(request: Request, body: dict[str, Any]) -> str:
    """supabase-js sends redirect_to in the query string; other clients put it in the body."""
    in_body = field(body, "redirect_to", str)  # checked even when the query names one
    requested = request.query_params.get("redirect_to") or in_body
    return allowed_redirect(runtime(request).config, requested)
