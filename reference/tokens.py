"""JWT signing keys (HS256 secret or ES256 key pair with a JWKS), access tokens and API keys."""

from __future__ import annotations

import functools
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.utils import base64url_encode

from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.responses import compact_json
from guestpass.reference.users import AUDIENCE

API_KEY_TTL = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class SigningKey:
    algorithm: str
    private: Any
    public: Any
    kid: str | None = None

    @functools.cached_property
    def signer(self) -> tuple[bytes, Algorithm, Any]:
        """The encoded header, the algorithm and the prepared private key."""
        header = {"alg": self.algorithm, "typ": "JWT", **({"kid": self.kid} if self.kid else {})}
        algorithm = get_default_algorithms()[self.algorithm]
        encoded = base64url_encode(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
        return encoded, algorithm, algorithm.prepare_key(self.private)

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        if self.algorithm == "HS256":
            return {"keys": []}
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.public))
        return {"keys": [{**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig", "key_ops": ["verify"]}]}


def generate_secret() -> str:
    return secrets.token_urlsafe(48)


def generate_es256_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_signing_key(config: Config) -> SigningKey:
    if config.jwt_algorithm == "HS256":
        if len(config.jwt_secret) < 32:
            raise ValueError("HS256 needs a jwt_secret of at least 32 characters")
        return SigningKey("HS256", config.jwt_secret, config.jwt_secret)
    private = serialization.load_pem_private_key(Path(config.jwt_private_key_file).read_bytes(), password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise ValueError("ES256 needs a P-256 private key in PEM form")
    public = private.public_key()
    kid = jwt.utils.base64url_encode(
        public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)[-16:]
    ).decode()
    return SigningKey("ES256", private, public, kid)


def sign(key: SigningKey, claims: dict[str, Any]) -> str:
    """As `jwt.encode` signs, with the header encoded and the key prepared once per key."""
    header, algorithm, prepared = key.signer
    signing_input = header + b"." + base64url_encode(compact_json(claims))
    return (signing_input + b"." + base64url_encode(algorithm.sign(signing_input, prepared))).decode()


def verify(key: SigningKey, token: str, issuer: str) -> dict[str, Any]:
    """Algorithm, key id, signature, expiry, not-before, issuer and audience, or 403 bad_jwt saying which."""
    try:
        decoded = jwt.decode_complete(
            token,
            key.public,
            algorithms=[key.algorithm],
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "role"], "verify_aud": False},
            leeway=0,
        )
        check_key_id(key, decoded["header"])
        claims = decoded["payload"]
        check_audience(claims)
    except jwt.PyJWTError as error:
        raise ApiError(ErrorCode.bad_jwt, f"invalid JWT: unable to parse or verify signature, {error}") from None
    return claims


def verify_admin_key(key: SigningKey, token: str) -> dict[str, Any]:
    """Algorithm, key id, signature, and expiry and not-before when present; 403 bad_jwt otherwise.
    Supabase's API keys carry no expiry or another issuer, so neither is required of them."""
    try:
        decoded = jwt.decode_complete(
            token, key.public, algorithms=[key.algorithm], options={"verify_aud": False, "verify_iss": False}, leeway=0
        )
        check_key_id(key, decoded["header"])
    except jwt.PyJWTError as error:
        raise ApiError(ErrorCode.bad_jwt, f"invalid JWT: unable to parse or verify signature, {error}") from None
    return decoded["payload"]


def check_key_id(key: SigningKey, header: dict[str, Any]) -> None:
    """A key pair has an id, and a token naming another key is not the server's (an HS256 secret has
    none: GoTrue then ignores the kid)."""
    if key.kid is not None and header.get("kid", key.kid) != key.kid:
        raise jwt.InvalidKeyError(f"unknown key id {header['kid']!r}")


def check_audience(claims: dict[str, Any]) -> None:
    """User tokens are for `authenticated`; API keys name no audience."""
    if "aud" in claims and AUDIENCE not in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]):
        raise jwt.InvalidAudienceError(f"the token is for another audience ({claims['aud']!r})")


def api_key(key: SigningKey, role: str, issuer: str) -> str:
    """A long-lived key for the `anon` or `service_role` role, as a Supabase project hands out."""
    now = int(time.time())
    return sign(key, {"iss": issuer, "role": role, "iat": now, "exp": now + API_KEY_TTL})
