"""Reading access tokens, and forging the bad ones the suite must see refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

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
UNKNOWN_KEY_ID = "guestpass-unknown-key"
FOREIGN_ISSUER = "https://issuer.guestpass.invalid/auth/v1"
FOREIGN_AUDIENCE = "guestpass-foreign-audience"


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


def resigned(token: str, key: Any, algorithm: str, kid: str | None = None, **changes: Any) -> str:
    """The token's claims with `changes`, signed by `key` under the token's own key id (or `kid`)."""
    kid = kid or header_of(token).get("kid")
    return jwt.encode({**claims_of(token), **changes}, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def expired(token: str, key: Any, algorithm: str) -> str:
    now = int(time.time())
    return resigned(token, key, algorithm, iat=now - 7200, exp=now - 3600)


def with_unknown_key_id(token: str, key: Any, algorithm: str) -> str:
    return resigned(token, key, algorithm, kid=UNKNOWN_KEY_ID)


def from_foreign_issuer(token: str, key: Any, algorithm: str) -> str:
    return resigned(token, key, algorithm, iss=FOREIGN_ISSUER)


def for_foreign_audience(token: str, key: Any, algorithm: str) -> str:
    return resigned(token, key, algorithm, aud=FOREIGN_AUDIENCE)


def not_valid_yet(token: str, key: Any, algorithm: str) -> str:
    """Issued and valid only from an hour ahead: beyond any clock-skew leeway."""
    start = int(time.time()) + 3600
    return resigned(token, key, algorithm, iat=start, nbf=start, exp=start + 3600)


def published_public_key(jwks: Any, kid: str | None) -> PublicKeyTypes | None:
    """The key a JWKS publishes under `kid` (or its only key when the token names none)."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        return None
    candidates = [jwk for jwk in keys if isinstance(jwk, dict) and (kid is None or jwk.get("kid") == kid)]
    if len(candidates) != 1:
        return None
    try:
        return jwt.PyJWK(candidates[0]).key
    except jwt.PyJWTError:
        return None


def shared_public_key(target: Target) -> PublicKeyTypes | None:
    """The public half of the private key the target file shares, if it shares one."""
    key = server_signing_key(target)
    return key[0].public_key() if key and key[1] == "ES256" else None


def public_key_secrets(public_key: PublicKeyTypes) -> dict[str, bytes]:
    """The forms of a public key a verifier might pass as an HMAC secret, by name."""
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"PEM": pem, "PEM without its final newline": pem.rstrip(b"\n"), "DER": der}


def hs256_signed(token: str, secret: bytes) -> str:
    """The token's claims under `alg: HS256` and the token's key id, with an HMAC keyed by `secret`.
    Signed by hand: PyJWT rightly refuses a public key as an HMAC secret."""
    kid = header_of(token).get("kid")
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims_of(token)).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
