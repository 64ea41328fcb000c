"""Defects of access-token verification: algorithm, key id, issuer, audience, validity window, and the
user and session behind the token (PROTOCOL §1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from catalogue import defect, full_caller_check_only
from cryptography.hazmat.primitives import serialization

from guestpass.reference import auth, sessions, tokens, users
from guestpass.reference.errors import ApiError, ErrorCode


def _key_pair_server(mp: pytest.MonkeyPatch) -> None:
    """The defect only shows on a server that signs with a key pair."""
    mp.setenv("GUESTPASS_JWT_ALGORITHM", "ES256")


def _unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


@defect("core", source="algorithm confusion: HS256 verified with the public key as secret (CVE-2015-9235 class)")
def hs256_keyed_with_public_key(mp: pytest.MonkeyPatch) -> None:
    _key_pair_server(mp)
    original = tokens.verify

    def verify(key: tokens.SigningKey, token: str, issuer: str) -> dict[str, Any]:
        if jwt.get_unverified_header(token).get("alg") != "HS256" or key.algorithm == "HS256":
            return original(key, token, issuer)
        secret = key.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        signing_input, _, signature = token.rpartition(".")
        expected = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.urlsafe_b64encode(expected).rstrip(b"=").decode(), signature):
            raise ApiError(ErrorCode.bad_jwt)
        return _unverified(token)

    mp.setattr(tokens, "verify", verify)


@defect("core", source="the kid header ignored: every token is checked against the one current key")
def key_id_ignored(mp: pytest.MonkeyPatch) -> None:
    _key_pair_server(mp)
    mp.setattr(tokens, "check_key_id", lambda key, header: None)


@defect("core", source="RFC 8725 §3.8: the issuer is read from the token and compared with itself")
def issuer_not_checked(mp: pytest.MonkeyPatch) -> None:
    original = tokens.verify

    def verify(key: tokens.SigningKey, token: str, issuer: str) -> dict[str, Any]:
        return original(key, token, _unverified(token).get("iss", issuer))

    mp.setattr(tokens, "verify", verify)


@defect("core", source="RFC 8725 §3.9: the audience is not checked (verify_aud off for the API keys' sake)")
def audience_not_checked(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tokens, "check_audience", lambda claims: None)


@defect("core", source="nbf and iat not checked: a token minted for later works at once")
def not_before_not_checked(mp: pytest.MonkeyPatch) -> None:
    def verify(key: tokens.SigningKey, token: str, issuer: str) -> dict[str, Any]:
        try:
            tokens.check_key_id(key, jwt.get_unverified_header(token))
            claims = jwt.decode(
                token,
                key.public,
                algorithms=[key.algorithm],
                issuer=issuer,
                options={"verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
            tokens.check_audience(claims)
        except jwt.PyJWTError:
            raise ApiError(ErrorCode.bad_jwt) from None
        return claims

    mp.setattr(tokens, "verify", verify)


def _replace_everywhere(mp: pytest.MonkeyPatch, name: str, replacement: Callable[..., Any]) -> None:
    """Replaces auth's `name` in every reference module that imported it."""
    original = getattr(auth, name)
    for module in [m for key, m in sys.modules.items() if key.startswith("guestpass.reference")]:
        if getattr(module, name, None) is original:
            mp.setattr(module, name, replacement)


@defect("core", source="stateless verification: a valid signature is trusted until exp, the session is never read")
def session_not_checked(mp: pytest.MonkeyPatch) -> None:
    async def authenticate(request: Any, conn: Any) -> auth.Caller:
        claims = auth.bearer_claims(request)
        user = await users.get_user(conn, uuid.UUID(claims["sub"]))
        if user is None:
            raise ApiError(ErrorCode.user_not_found)
        session_id = uuid.UUID(claims["session_id"])
        session = await sessions.get_session(conn, session_id)
        stand_in = {"id": session_id, "user_id": user["id"], "aal": claims.get("aal", "aal1")}
        return auth.Caller(user, session or stand_in, claims)  # type: ignore[arg-type]

    full_caller_check_only(mp)
    _replace_everywhere(mp, "authenticate", authenticate)


@defect("core", source="better-auth cookieCache class: cached users and sessions outlive their deletion")
def deleted_user_cached(mp: pytest.MonkeyPatch) -> None:
    seen: dict[tuple[str, uuid.UUID], Any] = {}

    def cached(kind: str, lookup: Callable[..., Any]) -> Callable[..., Any]:
        async def get(conn: Any, row_id: uuid.UUID) -> Any:
            row = await lookup(conn, row_id)
            if row is not None:
                seen[kind, row_id] = row
            return seen.get((kind, row_id))

        return get

    full_caller_check_only(mp)
    mp.setattr(auth, "get_user", cached("user", users.get_user))
    mp.setattr(auth, "get_session", cached("session", sessions.get_session))
