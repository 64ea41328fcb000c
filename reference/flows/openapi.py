"""GET /openapi.json: the contract of this API, as an OpenAPI 3.1 document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from guestpass.reference.openapi import openapi_text


async def openapi(request: Request) -> Response:
    return Response(openapi_text(), media_type="application/json")


routes = [Route("/openapi.json", openapi, methods=["GET"])]
