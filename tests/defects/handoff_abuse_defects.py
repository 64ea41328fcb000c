"""Defects of what a CLI login attempt and a data write keep holding after their owner's session or account
is gone: an attempt that outlives the anonymous session it was created with (PROTOCOL §3, §9), and a write
that checks its owner in one transaction and writes in another (PROTOCOL §1: never a 5xx)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from catalogue import defect, patch_source

from guestpass.reference import data
from guestpass.reference.errors import ErrorCode
from guestpass.reference.flows import cli
from guestpass.reference.users import get_user


@defect(
    "cli-handoff", source="PROTOCOL §3, §9: the attempt keeps only the anonymous user id, checked once at POST /cli"
)
def cli_attempt_outlives_anonymous_session(mp: pytest.MonkeyPatch) -> None:
    async def anonymous_user(conn: Any, attempt: Any) -> Any:
        user = await get_user(conn, attempt["anonymous_user_id"]) if attempt["anonymous_user_id"] else None
        return user if user is not None and user["is_anonymous"] else None

    async def session_live(conn: Any, session_id: Any, user_id: Any) -> bool:
        return True

    mp.setattr(cli, "_anonymous_user", anonymous_user)
    mp.setattr(cli, "_session_live", session_live)
    mp.setattr(cli, "_no_anonymous_session", lambda attempt: ErrorCode.cli_no_anonymous_session)


@defect("cli-handoff", source="PROTOCOL §3: claiming re-checks the anonymous session, the consented merge does not")
def cli_merge_skips_session_check(mp: pytest.MonkeyPatch) -> None:
    async def merge(conn: Any, attempt: Any, target_id: Any) -> dict[str, Any]:
        return await cli.merge_within(conn, attempt["anonymous_user_id"], target_id)

    mp.setattr(cli, "_merge", merge)


@defect("owned-data", "self-delete", source="a data write that trusts the owner it checked in an earlier transaction")
def data_write_checks_owner_apart(mp: pytest.MonkeyPatch) -> None:
    """Between the check and the write the handler waits on something else (here 5 ms, as a call to another
    service would): without a wait, SQLite transactions of one process that never yield run back to back."""
    mp.setattr(data, "asyncio", asyncio, raising=False)
    patch_source(
        mp,
        data,
        "create_item",
        lambda code: code.replace(
            "    async with rt.db.transaction() as conn:\n        caller = await authenticate(request, conn)\n"
            "        now = utcnow()\n",
            "    await asyncio.sleep(0.005)\n    async with rt.db.transaction() as conn:\n        now = utcnow()\n",
        ).replace(
            '        if await update_user(conn, caller.user["id"], last_active_at=now) is None:\n',
            "        if False:\n",
        ),
    )
