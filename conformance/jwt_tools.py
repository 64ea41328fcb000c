"""Reading access tokens, and forging the bad ones the suite must see refused."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from guestpass.conformance.target import Target

REQUIRED_CLAIMS = (
    "sub",
    "aud",
    "exp",
    "iat",
    "iss",
    "email",
    "phone",
    "app_metadata",
    "user_metadata",
    "role",
    "aal",
    "amr",
    "session_id",
    "is_anonymous",
)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tampered(token: str) -> str:
    """The same signature over a payload that now claims the service role."""
    header, _payload, signature = token.split(".")
    claims = {**claims_of(token), "role": "service_role"}
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def unsigned(token: str) -> str:
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims_of(token)).encode())}."


def foreign_signed(token: str) -> str:
    """Valid claims, signed with the token's algorithm but a key the server never saw."""
    algorithm = header_of(token).get("alg", "HS256")
    if algorithm.startswith("HS"):
        return jwt.encode(claims_of(token), "guestpass-foreign-secret-" + "x" * 32, algorithm=algorithm)
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims_of(token), key, algorithm="ES256", headers={"kid": header_of(token).get("kid")})


def server_signing_key(target: Target) -> tuple[Any, str] | None:
    """The server's own key, when the target file shares it (for tokens only the server could sign)."""
    if target.jwt_secret:
        return target.jwt_secret, "HS256"
    if target.jwt_private_key_file:
        key = serialization.load_pem_private_key(Path(target.jwt_private_key_file).read_bytes(), password=None)
        return key, "ES256"
    return None


def expired(token: str, key: Any, algorithm: str) -> str:
    now = int(time.time())
    claims = {**claims_of(token), "iat": now - 7200, "exp": now - 3600}
    headers = {"kid": header_of(token)["kid"]} if header_of(token).get("kid") else None
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)
