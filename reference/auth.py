"""Who is calling: the bearer token, checked against the signing key, the user and the session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping
from starlette.requests import Request

from guestpass.reference import tokens
from guestpass.reference.clock import utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import get_session
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.hot import SessionRows
from guestpass.reference.users import get_user, refuse_banned


@dataclass(frozen=True)
class Caller:
    user: RowMapping
    session: RowMapping
    claims: dict[str, Any]

    @property
    def is_anonymous(self) -> bool:
        return bool(self.user["is_anonymous"])


def bearer_claims(request: Request) -> dict[str, Any]:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(ErrorCode.no_authorization)
    return tokens.verify(runtime(request).key, token.strip(), runtime(request).config.jwt_issuer)


async def authenticate(request: Request, conn: Connection) -> Caller:
    """The signed-in user: 401 without a token, 403 bad_jwt, or 403 session_not_found once the session
    has ended (by logout, refresh-token theft, a merge or the user's deletion)."""
    claims = bearer_claims(request)
    user_id, session_id = claimed_ids(claims)
    session = await get_session(conn, session_id)
    if session is None or session["user_id"] != user_id:
        raise ApiError(ErrorCode.session_not_found)
    user = await get_user(conn, user_id)
    if user is None:
        raise ApiError(ErrorCode.user_not_found)
    refuse_banned(user, status=403)
    return Caller(user, session, claims)


def claimed_ids(claims: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    """The user and the session an access token names."""
    try:
        return uuid.UUID(str(claims.get("sub"))), uuid.UUID(str(claims.get("session_id")))
    except ValueError:
        raise ApiError(ErrorCode.bad_jwt, "invalid JWT: the token carries no user session") from None


async def caller_rows(request: Request) -> SessionRows | None:
    """`authenticate` in one trip to the database, for a caller who only reads: the rows of a live session
    of a user who is not banned, else None, and then `authenticate` gives the answer."""
    user_id, session_id = claimed_ids(bearer_claims(request))
    return await runtime(request).db.hot.caller(session_id, user_id, utcnow())


def require_service_role(request: Request) -> dict[str, Any]:
    """An admin key, as GoTrue takes one: any token the server's key verifies (an expiry, when it has
    one, is checked; no issuer or expiry is required) whose role is one of the configured admin roles.
    User access tokens stay under `bearer_claims`' stricter rules."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(ErrorCode.no_authorization)
    claims = tokens.verify_admin_key(runtime(request).key, token.strip())
    if claims.get("role") not in runtime(request).config.admin_role_names:
        raise ApiError(ErrorCode.not_admin)
    return claims


def refuse_anonymous(caller: Caller) -> None:
    """Anonymous users are refused with a code a client can act on, never a bare 403."""
    if caller.is_anonymous:
        raise ApiError(ErrorCode.no_authorization, "Anonymous user not allowed to perform these actions", status=403)
