"""Changing a user's email by mail: the new address confirms, and with secure email change the
current address confirms too. An anonymous user (no current address) becomes permanent only when
the new address confirms."""

from __future__ import annotations

from sqlalchemy import RowMapping

from guestpass.reference import onetime, security_notices
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.mail_pkce import open_mail_flow
from guestpass.reference.notify import claim_send_slot, send_code
from guestpass.reference.runtime import Runtime
from guestpass.reference.storage.db import Connection
from guestpass.reference.users import find_by_email, set_email, update_user

CURRENT, NEW = "email_change_current", "email_change_new"


async def request_email_change(
    conn: Connection,
    runtime: Runtime,
    user: RowMapping,
    new_email: str,
    redirect_to: str,
    challenge: str | None = None,
) -> RowMapping:
    if new_email == user["email"]:  # another spelling of the current address
        return user
    if await find_by_email(conn, new_email) is not None:
        raise ApiError(ErrorCode.email_exists)
    await claim_send_slot(conn, runtime, new_email)
    user = await update_user(conn, user["id"], email_change=new_email)
    flow = await open_mail_flow(conn, runtime.config, NEW, challenge, redirect_to, user["id"])
    await send_code(conn, runtime, user["id"], NEW, new_email, redirect_to, flow_state_id=flow)
    if user["email"] and runtime.config.secure_email_change:
        await send_code(conn, runtime, user["id"], CURRENT, user["email"], redirect_to, flow_state_id=flow)
    return user


async def confirm_email_change(conn: Connection, runtime: Runtime, user: RowMapping) -> RowMapping | None:
    """After one confirmation: the changed user once no confirmation is pending (the old address is told),
    else None."""
    if await onetime.pending(conn, user["id"], (CURRENT, NEW)):
        return None
    if not user["email_change"]:
        raise ApiError(ErrorCode.otp_expired)
    changed = await set_email(conn, user, user["email_change"])
    await security_notices.email_changed(conn, runtime, changed, user["email"])
    return changed
