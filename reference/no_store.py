"""RFC 6749 §5.1: answers that carry tokens say `Cache-Control: no-store` and `Pragma: no-cache`, so that
no browser or proxy keeps a session. Applied to every answer of the routes that issue sessions, errors
included (an answer is marked before it is known whether it carries a session)."""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_ROUTES = re.compile(
    r"/auth/v1/(?:token|signup|verify|callback|factors/[^/]+/verify|passkeys/authentication/verify|cli/poll"
    r"|cli/complete)"
)


class NoStore:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not TOKEN_ROUTES.fullmatch(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
                headers["Pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, marked)
