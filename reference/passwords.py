"""Password policy, and Argon2id hashing off the event loop with a cost the config sets."""

from __future__ import annotations

import asyncio
import base64
import secrets

import argon2

from guestpass.reference.config import Config, PasswordCost
from guestpass.reference.errors import ApiError, ErrorCode

MAX_PASSWORD_BYTES = 72


class PasswordHasher:
    def __init__(self, cost: PasswordCost) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=cost.time_cost, memory_cost=cost.memory_cost_kib, parallelism=cost.parallelism
        )
        self._decoy = decoy_hash(self._argon2)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, hashed: str | None, password: str) -> bool:
        """Checks against a decoy hash when there is none, so unknown accounts take as long as known ones."""
        try:
            return await asyncio.to_thread(self._argon2.verify, hashed or self._decoy, password) and bool(hashed)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False


def decoy_hash(hasher: argon2.PasswordHasher) -> str:
    """An Argon2id hash in PHC form with `hasher`'s parameters that no password matches: checking a password
    against it costs what checking a real hash does, and making it costs nothing (hashing one at start took
    the process's memory up by the memory cost before any request)."""
    salt, digest = (_b64(secrets.token_bytes(length)) for length in (hasher.salt_len, hasher.hash_len))
    costs = f"m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
    return f"$argon2id$v={argon2.low_level.ARGON2_VERSION}${costs}${salt}${digest}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def check_password(config: Config, password: str) -> None:
    if len(password) < config.password_min_length:
        raise ApiError(
            ErrorCode.weak_password,
            f"Password should be at least {config.password_min_length} characters.",
            extra={"weak_password": {"reasons": ["length"]}},
        )
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ApiError(ErrorCode.validation_failed, f"Password cannot be longer than {MAX_PASSWORD_BYTES} bytes")
