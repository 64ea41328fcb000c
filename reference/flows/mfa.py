"""/factors: multi-factor enrollment. Anonymous callers are refused first, with a code; this server
offers no factor type yet, so permanent users learn that TOTP enrollment is not enabled."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guestpass.reference.auth import authenticate, refuse_anonymous
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.runtime import runtime


async def factors(request: Request) -> JSONResponse:
    async with runtime(request).db.transaction() as conn:
        refuse_anonymous(await authenticate(request, conn))
    raise ApiError(ErrorCode.mfa_totp_enroll_not_enabled)


routes = [
    Route("/factors", factors, methods=["POST"]),
    Route("/factors/{factor_id}", factors, methods=["DELETE"]),
    Route("/factors/{factor_id}/{action:str}", factors, methods=["POST"]),
]
