"""The request body bound: 413 request_entity_too_large before any handler reads an oversized body."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guestpass.reference.errors import ApiError, ErrorCode, error_response

DRAIN_BYTES = 64 << 20  # of an oversized body, read and dropped so that a client still sending reads the answer


def header(scope: Scope, name: bytes) -> bytes:
    """The last value of the (lower-case) header `name`, or b"" where it is absent."""
    found = b""
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return found


def declared_length(scope: Scope) -> int:
    raw = header(scope, b"content-length")
    return int(raw) if raw.isdigit() else 0


def expects_continue(scope: Scope) -> bool:
    return header(scope, b"expect").lower() == b"100-continue"


async def drain(receive: Receive, budget: int) -> None:
    """Reads and drops the rest of the request body, up to `budget` bytes."""
    while budget > 0:
        message = await receive()
        budget -= len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class BodyLimit:
    """413 request_entity_too_large for a request body over `limit` bytes, as GoTrue answers over 1 MiB,
    before any handler reads it: at once when Content-Length announces it, else as soon as a chunked
    body passes it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif declared_length(scope) > self.limit:
            await self.refuse(scope, receive, send)
        else:
            await self.app(scope, self.counting(receive), send)

    def too_large(self) -> ApiError:
        return ApiError(ErrorCode.request_entity_too_large, f"Request body too large (max {self.limit} bytes)")

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not expects_continue(scope):  # a client waiting for 100 Continue has sent no body
            await drain(receive, DRAIN_BYTES)
        await error_response(Request(scope), self.too_large())(scope, receive, send)

    def counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                if message.get("more_body", False):
                    await drain(receive, DRAIN_BYTES)
                raise self.too_large()
            return message

        return counted
