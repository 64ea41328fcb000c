"""Password policy, and Argon2id hashing off the event loop with a cost the config sets."""

from __future__ import annotations

import asyncio

import argon2

from guestpass.reference.config import Config, PasswordCost
from guestpass.reference.errors import ApiError, ErrorCode

MAX_PASSWORD_BYTES = 72


class PasswordHasher:
    def __init__(self, cost: PasswordCost) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=cost.time_cost, memory_cost=cost.memory_cost_kib, parallelism=cost.parallelism
        )
        self._decoy = self._argon2.hash("guestpass-decoy-password")

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


def check_password(config: Config, password: str) -> None:
    if len(password) < config.password_min_length:
        raise ApiError(
            ErrorCode.weak_password,
            f"Password should be at least {config.password_min_length} characters.",
            extra={"weak_password": {"reasons": ["length"]}},
        )
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ApiError(ErrorCode.validation_failed, f"Password cannot be longer than {MAX_PASSWORD_BYTES} bytes")
