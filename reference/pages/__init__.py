"""Pages the reference server serves to people (plain HTML, a little script)."""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.responses import HTMLResponse

FOLDER = Path(__file__).parent
SAME_ORIGIN_ONLY = "default-src 'self' 'unsafe-inline'"


@functools.cache
def _text(name: str) -> str:
    return (FOLDER / name).read_text()


def page(name: str, content_security_policy: str = SAME_ORIGIN_ONLY) -> HTMLResponse:
    """The page `name`, read once, never cached by the browser, its scripts kept to this origin."""
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": content_security_policy,
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(_text(name), headers=headers)
