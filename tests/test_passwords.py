"""The decoy hash that unknown accounts are checked against."""

from __future__ import annotations

import argon2

from guestpass.reference.passwords import decoy_hash


def test_the_decoy_has_the_hashers_parameters_and_matches_no_password() -> None:
    hasher = argon2.PasswordHasher(time_cost=2, memory_cost=1024, parallelism=2)
    decoy = decoy_hash(hasher)
    assert argon2.extract_parameters(decoy) == argon2.extract_parameters(hasher.hash("a password"))
    for password in ("", "a password", "guestpass-decoy-password"):
        try:
            hasher.verify(decoy, password)
        except argon2.exceptions.VerifyMismatchError:
            continue
        raise AssertionError(f"the decoy matched {password!r}")
