"""What a verification reads while a parallel one commits. On PostgreSQL (read committed) each statement sees
what committed before it: a verification that read its factor unverified may then find that factor verified
by a parallel answer to the same challenge. That is the challenge spent (422 mfa_ip_address_mismatch, as
MFA-015 asks), not "another factor verified" (403 insufficient_aal)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, update

from guestpass.reference.auth import Caller
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows.mfa import refuse_new_factor_at_aal1
from guestpass.reference.storage.db import Database
from guestpass.reference.storage.migrate import upgrade
from guestpass.reference.storage.schema import mfa_factors
from guestpass.reference.users import create_user


def factor_row(user_id: uuid.UUID, name: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "friendly_name": name,
        "factor_type": "totp",
        "status": "unverified",
        "secret": "JBSWY3DPEHPK3PXP",
        "created_at": now,
        "updated_at": now,
    }


async def refusal(url: str, *, verify_another: bool) -> ErrorCode | None:
    """Whether an aal1 verification of a factor read unverified is refused, once that factor (and, with
    `verify_another`, a second one) was verified after it was read."""
    await upgrade(url)
    db = Database(url)
    try:
        async with db.transaction() as conn:
            user = await create_user(conn, email=f"{uuid.uuid4().hex}@example.com", confirmed=True)
            stale, other = factor_row(user["id"], "phone"), factor_row(user["id"], "laptop")
            await conn.execute(insert(mfa_factors).values([stale, other]))
            verified = [stale["id"], *([other["id"]] if verify_another else [])]
            await conn.execute(update(mfa_factors).where(mfa_factors.c.id.in_(verified)).values(status="verified"))
            caller = Caller(user, {"aal": "aal1"}, {})  # type: ignore[arg-type]
            try:
                await refuse_new_factor_at_aal1(conn, caller, stale)  # type: ignore[arg-type]
            except ApiError as error:
                return error.code
            return None
    finally:
        await db.dispose()


@pytest.mark.parametrize("verify_another", [False, True])
def test_only_another_verified_factor_needs_aal2(tmp_path: Any, verify_another: bool) -> None:
    found = asyncio.run(refusal(f"sqlite:///{tmp_path / 'mfa.db'}", verify_another=verify_another))
    assert found == (ErrorCode.insufficient_aal if verify_another else None)
