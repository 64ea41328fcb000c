"""CLI login hand-off (Stack Auth's flow, hardened with RFC 8628). The CLI creates an attempt and
polls it; a person opens the login URL in a browser where they are signed in and completes it; the
CLI then receives a session of its own, exactly once. Codes are high-entropy and stored hashed; every
terminal transition (claim, complete, success) is a conditional update, so it happens once however
many requests race for it; expiry wins over every other state.

An attempt created with an anonymous refresh token is bound to that token's session, not only to its
user, and claiming or merging re-checks that the session is still live (PROTOCOL §3: a merge needs a live
token). A logout, a detected refresh-token reuse or the user's deletion ends the attempt's hold on it."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, insert, or_, select, update
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from guestpass.reference.body import check_fields, field, json_object
from guestpass.reference.clock import as_utc, iso, utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.merge import MergeRejected, merge_within, rejected, token_owner
from guestpass.reference.pages import page
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import hash_token, session_json, start_session
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import cli_attempts, refresh_tokens, sessions, users
from guestpass.reference.users import get_user

PENDING, COMPLETED, USED = "pending", "completed", "used"
MODES = ("check", "claim-anon-session", "complete")
POLL_SLACK = timedelta(milliseconds=250)


def new_code() -> str:
    return secrets.token_urlsafe(32)


def required_code(body: dict[str, Any], name: str) -> str:
    code = field(body, name, str)
    if not code:
        raise ApiError(ErrorCode.validation_failed, f"{name} is required")
    return code


async def create(request: Request) -> JSONResponse:
    rt = runtime(request)
    body = await json_object(request)
    ttl_ms = field(body, "expires_in_millis", int)
    if ttl_ms is None:
        ttl_ms = rt.config.cli_attempt_ttl * 1000
    if not 0 < ttl_ms <= rt.config.cli_attempt_max_ttl * 1000:  # checked before a timedelta can overflow
        raise ApiError(
            ErrorCode.validation_failed,
            f"expires_in_millis must be between 1 and {rt.config.cli_attempt_max_ttl * 1000}",
        )
    ttl = timedelta(milliseconds=ttl_ms)
    anonymous_token = field(body, "anon_refresh_token", str)
    polling_code, login_code, now = new_code(), new_code(), utcnow()
    async with rt.db.transaction() as conn:
        anonymous_user_id = await _anonymous_owner(conn, anonymous_token) if anonymous_token else None
        anonymous_session_id = await _session_of(conn, anonymous_token) if anonymous_user_id else None
        await conn.execute(
            insert(cli_attempts).values(
                id=uuid.uuid4(),
                polling_code_hash=hash_token(polling_code),
                login_code_hash=hash_token(login_code),
                anonymous_user_id=anonymous_user_id,
                anonymous_session_id=anonymous_session_id,
                user_id=None,
                state=PENDING,
                interval_seconds=rt.config.cli_poll_interval,
                created_at=now,
                expires_at=now + ttl,
            )
        )
    return JSONResponse(
        {
            "polling_code": polling_code,
            "login_code": login_code,
            "expires_at": iso(now + ttl),
            "interval": rt.config.cli_poll_interval,
            "login_url": f"{rt.config.external_url}/cli/login#code={login_code}",
        }
    )


async def _anonymous_owner(conn: Connection, raw_token: str) -> uuid.UUID:
    try:
        owner = await token_owner(conn, raw_token)
    except MergeRejected:
        raise ApiError(ErrorCode.anonymous_token_invalid) from None
    if not owner["is_anonymous"]:
        raise ApiError(ErrorCode.anonymous_token_invalid)
    return owner["id"]


async def _session_of(conn: Connection, raw_token: str) -> uuid.UUID:
    query = select(refresh_tokens.c.session_id).where(refresh_tokens.c.token_hash == hash_token(raw_token))
    return (await conn.execute(query)).scalar_one()


async def poll(request: Request) -> JSONResponse:
    rt = runtime(request)
    polling_code = required_code(await json_object(request), "polling_code")
    now = utcnow()
    async with rt.db.transaction() as conn:
        attempt = await _attempt(conn, cli_attempts.c.polling_code_hash, polling_code)
        if attempt is None:
            raise ApiError(ErrorCode.cli_code_invalid)
        if as_utc(attempt["expires_at"]) <= now:
            return JSONResponse({"status": "expired"})
        if not await _take_poll_slot(conn, attempt, now):
            return JSONResponse({"status": "slow_down", "interval": attempt["interval_seconds"]})
        if attempt["state"] == PENDING:
            return JSONResponse({"status": "waiting"})
        if not await _transition(conn, attempt["id"], COMPLETED, state=USED):
            return JSONResponse({"status": "used"})
        user = await get_user(conn, attempt["user_id"])
        grant = await start_session(conn, user, "cli", request)  # type: ignore[arg-type]
        return JSONResponse({"status": "success", **await session_json(conn, rt, grant)})


async def _take_poll_slot(conn: Connection, attempt: RowMapping, now: datetime) -> bool:
    """Records this poll unless the previous one was less than `interval` ago (then: slow_down)."""
    earliest = now - timedelta(seconds=attempt["interval_seconds"]) + POLL_SLACK
    result = await conn.execute(
        update(cli_attempts)
        .where(
            cli_attempts.c.id == attempt["id"],
            or_(cli_attempts.c.last_polled_at.is_(None), cli_attempts.c.last_polled_at <= earliest),
        )
        .values(last_polled_at=now)
    )
    return result.rowcount == 1


async def _transition(conn: Connection, attempt_id: uuid.UUID, expected: str, **values: Any) -> bool:
    """Moves the attempt out of `expected`; False if another request already did."""
    result = await conn.execute(
        update(cli_attempts).where(cli_attempts.c.id == attempt_id, cli_attempts.c.state == expected).values(**values)
    )
    return result.rowcount == 1


async def _attempt(conn: Connection, column: Any, code: str) -> RowMapping | None:
    return (await conn.execute(select(cli_attempts).where(column == hash_token(code)))).mappings().first()


async def complete(request: Request) -> JSONResponse:
    body = await json_object(request)
    login_code = required_code(body, "login_code")
    mode = field(body, "mode", str) or "complete"
    check_fields(body, refresh_token=str, anonymous_merge=bool)  # malformed is refused in every mode
    if mode not in MODES:
        raise ApiError(ErrorCode.validation_failed, f"mode must be one of {', '.join(MODES)}")
    async with runtime(request).db.transaction() as conn:
        attempt = await _attempt(conn, cli_attempts.c.login_code_hash, login_code)
        if attempt is None or attempt["state"] != PENDING or as_utc(attempt["expires_at"]) <= utcnow():
            raise ApiError(ErrorCode.cli_code_invalid)
        anonymous = await _anonymous_user(conn, attempt)
        if mode == "check":
            return JSONResponse({"cli_session_state": "anonymous" if anonymous else "none"})
        if mode == "claim-anon-session":
            return await _claim(request, conn, attempt, anonymous)
        return await _complete(conn, attempt, body)


async def _anonymous_user(conn: Connection, attempt: RowMapping) -> RowMapping | None:
    """The CLI's anonymous user while the session the attempt carries is live. Both rows stay locked until
    commit (the user first, as a deletion takes them): a logout or deletion that comes meanwhile waits."""
    session_id = attempt["anonymous_session_id"]
    if session_id is None or attempt["anonymous_user_id"] is None:
        return None
    user = (
        (await conn.execute(select(users).where(users.c.id == attempt["anonymous_user_id"]).with_for_update()))
        .mappings()
        .first()
    )
    if user is None or not user["is_anonymous"] or not await _session_live(conn, session_id, user["id"]):
        return None
    return user


async def _session_live(conn: Connection, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    query = select(sessions.c.id).where(sessions.c.id == session_id, sessions.c.user_id == user_id).with_for_update()
    return (await conn.execute(query)).first() is not None


def _no_anonymous_session(attempt: RowMapping) -> ErrorCode:
    """Why there is no anonymous session to hand over: none came with the attempt, or it has ended."""
    if attempt["anonymous_session_id"]:
        return ErrorCode.anonymous_token_invalid
    return ErrorCode.cli_no_anonymous_session


async def _claim(request: Request, conn: Connection, attempt: RowMapping, anonymous: RowMapping | None) -> JSONResponse:
    """The browser adopts the CLI's anonymous user (a new session of its own), to upgrade it in place."""
    if anonymous is None:
        raise ApiError(_no_anonymous_session(attempt))
    claimed = await conn.execute(
        update(cli_attempts)
        .where(
            cli_attempts.c.id == attempt["id"],
            cli_attempts.c.anonymous_claimed_at.is_(None),
            cli_attempts.c.state == PENDING,
        )
        .values(anonymous_claimed_at=utcnow())
    )
    if claimed.rowcount != 1:
        raise ApiError(ErrorCode.cli_code_invalid, "The anonymous session was already claimed")
    grant = await start_session(conn, anonymous, "anonymous", request)
    return JSONResponse(await session_json(conn, runtime(request), grant))


async def _complete(conn: Connection, attempt: RowMapping, body: dict[str, Any]) -> JSONResponse:
    """The browser's user authorizes the CLI; with `anonymous_merge`, the CLI's anonymous user is merged
    into it in the same transaction (behind a savepoint: a merge that cannot happen blocks nothing)."""
    refresh_token = field(body, "refresh_token", str)
    if not refresh_token:
        raise ApiError(ErrorCode.validation_failed, "complete needs the browser's refresh_token")
    try:
        browser_user = await token_owner(conn, refresh_token)
    except MergeRejected as rejection:
        raise ApiError(rejection.code) from None
    if not await _transition(
        conn, attempt["id"], PENDING, state=COMPLETED, user_id=browser_user["id"], completed_at=utcnow()
    ):
        raise ApiError(ErrorCode.cli_code_invalid)
    answer: dict[str, Any] = {"success": True}
    if field(body, "anonymous_merge", bool) and attempt["anonymous_user_id"]:
        answer["anonymous_merge"] = await _merge(conn, attempt, browser_user["id"])
    return JSONResponse(answer)


async def _merge(conn: Connection, attempt: RowMapping, target_id: uuid.UUID) -> dict[str, Any]:
    """The merge the attempt's anonymous session consents to, while that session is live."""
    session_id = attempt["anonymous_session_id"]
    if session_id is None or not await _session_live(conn, session_id, attempt["anonymous_user_id"]):
        return rejected(MergeRejected(ErrorCode.anonymous_token_invalid))
    return await merge_within(conn, attempt["anonymous_user_id"], target_id)


async def login_page(request: Request) -> HTMLResponse:
    return page("cli_login.html")


routes = [
    Route("/cli", create, methods=["POST"]),
    Route("/cli/poll", poll, methods=["POST"]),
    Route("/cli/complete", complete, methods=["POST"]),
    Route("/cli/login", login_page, methods=["GET"]),
]
