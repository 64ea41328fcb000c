"""/factors: TOTP and WebAuthn factors of permanent users (anonymous callers are refused first, with a
code).

POST /factors enrolls an unverified factor; POST /factors/{id}/challenge opens a short-lived challenge
(with WebAuthn credential options for a webauthn factor); POST /factors/{id}/verify checks a code, or a
WebAuthn answer, against it and raises the caller's own session to aal2 (same session id, new refresh
token), ending the user's aal1 sessions; DELETE /factors/{id} unenrolls and lowers the sessions that
relied on a second factor back to aal1. A challenge and a code's time step are each used at most once
(compare-and-set), and every answer is counted per factor before it is checked (a right one is given
back). An unverified factor lives mfa_unverified_factor_ttl seconds, and once the user has a verified
factor, another one can only be challenged and verified from an aal2 session."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import ColumnElement, RowMapping, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.routing import Route

from guestpass.reference import mfa_webauthn, security_notices, totp
from guestpass.reference.auth import Caller, authenticate, refuse_anonymous
from guestpass.reference.body import field, json_object
from guestpass.reference.clock import as_utc, utcnow
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.ratelimit import client_key, consume, give_back, hits
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import Runtime, runtime
from guestpass.reference.sessions import Grant, get_session, issue_refresh_token, session_json
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import mfa_challenges, mfa_factors, refresh_tokens
from guestpass.reference.storage.schema import sessions as sessions_table
from guestpass.reference.users import factors_of, get_user

TOTP, WEBAUTHN = "totp", mfa_webauthn.WEBAUTHN
SECOND_FACTOR_METHODS = (TOTP, mfa_webauthn.AMR_METHOD)
AAL1, AAL2 = "aal1", "aal2"
UNVERIFIED, VERIFIED = "unverified", "verified"
VERIFY_BUCKET = "mfa_verify"
MAX_NAME_LENGTH = 255


# --- who is asking, and for which factor ---------------------------------------------------------------


async def permanent_caller(request: Request, conn: Connection) -> Caller:
    caller = await authenticate(request, conn)
    refuse_anonymous(caller)
    return caller


async def permanent_caller_and_body(request: Request) -> tuple[Caller, dict[str, Any]]:
    """The caller, then the request body (read only once the caller is known, outside any transaction)."""
    async with runtime(request).db.transaction() as conn:
        caller = await permanent_caller(request, conn)
    return caller, await json_object(request)


async def owned_factor(request: Request, conn: Connection, caller: Caller) -> RowMapping:
    """The factor named in the path, if it is the caller's; an ill-formed id is as unknown as another's."""
    try:
        factor_id = uuid.UUID(request.path_params["factor_id"])
    except ValueError:
        raise ApiError(ErrorCode.mfa_factor_not_found) from None
    statement = select(mfa_factors).where(mfa_factors.c.id == factor_id, mfa_factors.c.user_id == caller.user["id"])
    factor = (await conn.execute(statement.where(unexpired(runtime(request).config)))).mappings().first()
    if factor is None:
        raise ApiError(ErrorCode.mfa_factor_not_found)
    return factor


def unexpired(config: Config) -> ColumnElement[bool]:
    cutoff = utcnow() - timedelta(seconds=config.mfa_unverified_factor_ttl)
    return or_(mfa_factors.c.status == VERIFIED, mfa_factors.c.created_at > cutoff)


async def drop_expired_factors(conn: Connection, config: Config, user_id: uuid.UUID) -> None:
    await conn.execute(delete(mfa_factors).where(mfa_factors.c.user_id == user_id, ~unexpired(config)))


async def refuse_new_factor_at_aal1(conn: Connection, caller: Caller, factor: RowMapping) -> None:
    """A factor enrolled while the user had no verified one (perhaps by someone who has only the password)
    cannot raise an aal1 session once the user has verified another one: it needs aal2 from then on. On
    PostgreSQL the factors are read after `factor` was: a parallel answer may have verified `factor` itself
    meanwhile, which is no other factor (that answer's challenge is spent: 422, not 403)."""
    if factor["status"] == VERIFIED or caller.session["aal"] == AAL2:
        return
    factors = await factors_of(conn, caller.user["id"])
    if any(other["status"] == VERIFIED and other["id"] != factor["id"] for other in factors):
        raise ApiError(ErrorCode.insufficient_aal, "AAL2 required to verify a new factor while another is verified")


# --- POST /factors -------------------------------------------------------------------------------------


def checked_factor_type(config: Config, factor_type: str | None) -> str:
    if factor_type == "phone":
        raise ApiError(ErrorCode.mfa_phone_enroll_not_enabled)
    if factor_type == WEBAUTHN and not config.mfa_webauthn_enabled:
        raise ApiError(ErrorCode.mfa_webauthn_enroll_not_enabled)
    if factor_type not in (TOTP, WEBAUTHN):
        raise ApiError(ErrorCode.validation_failed, "factor_type needs to be totp, phone, or webauthn")
    return factor_type


async def check_enrollment(conn: Connection, caller: Caller, friendly_name: str) -> None:
    factors = await factors_of(conn, caller.user["id"])
    if any(factor["friendly_name"] == friendly_name for factor in factors):
        raise ApiError(
            ErrorCode.mfa_factor_name_conflict, f"A factor with the friendly name {friendly_name!r} already exists"
        )
    if any(factor["status"] == VERIFIED for factor in factors) and caller.session["aal"] != AAL2:
        raise ApiError(ErrorCode.insufficient_aal, "AAL2 required to enroll a new factor")


async def insert_factor(
    conn: Connection, user_id: uuid.UUID, friendly_name: str, factor_type: str, secret: str
) -> uuid.UUID:
    factor_id, now = uuid.uuid4(), utcnow()
    values = {"id": factor_id, "user_id": user_id, "friendly_name": friendly_name, "factor_type": factor_type}
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(mfa_factors).values(**values, status=UNVERIFIED, secret=secret, created_at=now, updated_at=now)
            )
    except IntegrityError:
        raise ApiError(ErrorCode.mfa_factor_name_conflict) from None
    return factor_id


def short_text(body: dict[str, Any], name: str) -> str:
    value = field(body, name, str) or ""
    if len(value) > MAX_NAME_LENGTH or "\x00" in value:
        raise ApiError(ErrorCode.validation_failed, f"{name} must be at most {MAX_NAME_LENGTH} characters of text")
    return value


def totp_details(config: Config, user: RowMapping, secret: str, issuer: str) -> dict[str, str]:
    uri = totp.provisioning_uri(secret, user["email"] or str(user["id"]), issuer or urlparse(config.site_url).netloc)
    try:
        return {"qr_code": totp.qr_code_svg(uri), "secret": secret, "uri": uri}
    except ValueError:
        raise ApiError(ErrorCode.validation_failed, "The issuer and account name do not fit in a QR code") from None


async def enroll(request: Request) -> JSONResponse:
    rt = runtime(request)
    caller, body = await permanent_caller_and_body(request)
    factor_type = checked_factor_type(rt.config, field(body, "factor_type", str))
    friendly_name, secret, details = short_text(body, "friendly_name"), "", {}
    if factor_type == TOTP:
        secret = totp.new_secret()
        details = {"totp": totp_details(rt.config, caller.user, secret, short_text(body, "issuer"))}
    async with rt.db.transaction() as conn:
        caller = await permanent_caller(request, conn)
        await drop_expired_factors(conn, rt.config, caller.user["id"])
        await check_enrollment(conn, caller, friendly_name)
        factor_id = await insert_factor(conn, caller.user["id"], friendly_name, factor_type, secret)
    return JSONResponse({"id": str(factor_id), "type": factor_type, "friendly_name": friendly_name, **details})


# --- POST /factors/{id}/challenge ----------------------------------------------------------------------


async def challenge(request: Request) -> JSONResponse:
    rt = runtime(request)
    challenge_id, now = uuid.uuid4(), utcnow()
    expires_at = now + timedelta(seconds=rt.config.mfa_challenge_ttl)
    async with rt.db.transaction() as conn:
        caller = await permanent_caller(request, conn)
        factor = await owned_factor(request, conn, caller)
        await refuse_new_factor_at_aal1(conn, caller, factor)
        await conn.execute(
            delete(mfa_challenges).where(mfa_challenges.c.factor_id == factor["id"], mfa_challenges.c.expires_at <= now)
        )
        await conn.execute(
            insert(mfa_challenges).values(
                id=challenge_id,
                factor_id=factor["id"],
                created_at=now,
                expires_at=expires_at,
                verified_at=None,
                ip=client_key(request, rt.config.rate_limit_header)[:64],
            )
        )
        ceremony = {}
        if factor["factor_type"] == WEBAUTHN:
            options = await mfa_webauthn.open_ceremony(conn, rt.config, caller.user, factor, challenge_id)
            ceremony = {"webauthn": options}
    expires = int(expires_at.timestamp())
    return JSONResponse({"id": str(challenge_id), "type": factor["factor_type"], "expires_at": expires, **ceremony})


# --- POST /factors/{id}/verify -------------------------------------------------------------------------


def verify_params(body: dict[str, Any]) -> tuple[uuid.UUID, str]:
    raw_id, code = field(body, "challenge_id", str), field(body, "code", str)
    if not raw_id or not code:
        raise ApiError(ErrorCode.validation_failed, "A verification needs a challenge_id and a non-empty code")
    try:
        return uuid.UUID(raw_id), code
    except ValueError:
        raise ApiError(ErrorCode.validation_failed, "challenge_id must be a UUID") from None


async def refuse_when_locked(conn: Connection, config: Config, factor_id: uuid.UUID) -> None:
    """Counts this answer against the factor's allowance BEFORE it is checked, and refuses it with 429 once
    the allowance of this window is spent, whatever the answer. Counting and comparing are one step (the
    counter's row stays locked until the transaction ends), so parallel answers cannot all pass a check
    made before any of them was counted. A wrong answer's count commits with its transaction. (The read
    first only spares a flood against a spent allowance the wait for that row lock; it decides nothing.)"""
    limit, window = config.mfa_verify_attempts_per_window, config.rate_limit_window_seconds
    try:
        if await hits(conn, VERIFY_BUCKET, str(factor_id), window_seconds=window) >= limit:
            raise ApiError(ErrorCode.over_request_rate_limit)
        await consume(conn, VERIFY_BUCKET, str(factor_id), limit=limit, window_seconds=window)
    except ApiError:
        raise ApiError(ErrorCode.over_request_rate_limit, "Too many failed MFA verifications, try later") from None


async def give_back_attempt(conn: Connection, config: Config, factor_id: uuid.UUID) -> None:
    await give_back(conn, VERIFY_BUCKET, str(factor_id), window_seconds=config.rate_limit_window_seconds)


async def open_challenge(conn: Connection, factor: RowMapping, challenge_id: uuid.UUID) -> RowMapping:
    statement = select(mfa_challenges).where(
        mfa_challenges.c.id == challenge_id, mfa_challenges.c.factor_id == factor["id"]
    )
    found = (await conn.execute(statement)).mappings().first()
    if found is None:
        raise ApiError(ErrorCode.mfa_factor_not_found, "No challenge with this ID for this factor", status=422)
    if found["verified_at"] is not None:
        raise ApiError(ErrorCode.mfa_ip_address_mismatch)
    if as_utc(found["expires_at"]) <= utcnow():
        raise ApiError(ErrorCode.mfa_challenge_expired)
    return found


async def use_challenge_and_step(
    conn: Connection, factor: RowMapping, challenge_id: uuid.UUID, step: int | None, now: datetime
) -> None:
    """Marks the challenge verified and the code's time step used, each only if nobody did first (a
    WebAuthn answer has no step: its sign counter was moved on instead)."""
    unused_challenge = (mfa_challenges.c.id == challenge_id, mfa_challenges.c.verified_at.is_(None))
    if (await conn.execute(update(mfa_challenges).where(*unused_challenge).values(verified_at=now))).rowcount != 1:
        raise ApiError(ErrorCode.mfa_ip_address_mismatch)
    if step is None:
        verified = update(mfa_factors).where(mfa_factors.c.id == factor["id"]).values(status=VERIFIED, updated_at=now)
        await conn.execute(verified)
        return
    fresh_step = or_(mfa_factors.c.last_used_step.is_(None), mfa_factors.c.last_used_step < step)
    statement = (
        update(mfa_factors)
        .where(mfa_factors.c.id == factor["id"], fresh_step)
        .values(last_used_step=step, status=VERIFIED, updated_at=now)
    )
    if (await conn.execute(statement)).rowcount != 1:
        raise ApiError(ErrorCode.mfa_verification_failed, "This code was already used, wait for the next one")


async def raise_to_aal2(conn: Connection, session: RowMapping, now: datetime, method: str = TOTP) -> RowMapping:
    """The same session at aal2, with `method` as its most recent authentication method."""
    amr = [{"method": method, "timestamp": int(now.timestamp())}, *(e for e in session["amr"] if e["method"] != method)]
    await conn.execute(update(sessions_table).where(sessions_table.c.id == session["id"]).values(aal=AAL2, amr=amr))
    return await get_session(conn, session["id"])  # type: ignore[return-value]


async def end_weaker_sessions(conn: Connection, user_id: uuid.UUID, current: uuid.UUID) -> None:
    await conn.execute(
        delete(sessions_table).where(
            sessions_table.c.user_id == user_id, sessions_table.c.id != current, sessions_table.c.aal != AAL2
        )
    )


async def reissue_refresh_token(conn: Connection, session_id: uuid.UUID) -> str:
    """The session's aal1 refresh tokens die: only the client that answered the challenge continues at aal2."""
    await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.session_id == session_id))
    return await issue_refresh_token(conn, session_id, None)


async def drop_other_unverified_factors(conn: Connection, factor: RowMapping) -> None:
    await conn.execute(
        delete(mfa_factors).where(
            mfa_factors.c.user_id == factor["user_id"],
            mfa_factors.c.id != factor["id"],
            mfa_factors.c.status == UNVERIFIED,
            mfa_factors.c.factor_type == factor["factor_type"],
        )
    )


async def verified_session(
    conn: Connection, rt: Runtime, caller: Caller, factor: RowMapping, challenge_id: uuid.UUID, step: int | None
) -> dict[str, Any]:
    now = utcnow()
    await use_challenge_and_step(conn, factor, challenge_id, step, now)
    method = TOTP if factor["factor_type"] == TOTP else mfa_webauthn.AMR_METHOD
    session = await raise_to_aal2(conn, caller.session, now, method)
    await end_weaker_sessions(conn, caller.user["id"], session["id"])
    await drop_other_unverified_factors(conn, factor)
    await give_back_attempt(conn, rt.config, factor["id"])
    raw = await reissue_refresh_token(conn, session["id"])
    user = await get_user(conn, caller.user["id"])
    if factor["status"] == UNVERIFIED:
        await security_notices.factor_enrolled(conn, rt, user, factor["factor_type"])  # type: ignore[arg-type]
    return await session_json(conn, rt, Grant(user, session, raw))  # type: ignore[arg-type]


def require_type(factor: RowMapping, factor_type: str) -> None:
    if factor["factor_type"] != factor_type:
        answer = "a code" if factor["factor_type"] == TOTP else "a webauthn credential_response"
        raise ApiError(ErrorCode.validation_failed, f"This factor is verified with {answer}")


async def challenged_factor(
    request: Request, conn: Connection, factor_type: str, challenge_id: uuid.UUID
) -> tuple[Caller, RowMapping]:
    """The caller and the factor named in the path, if it is theirs, of `factor_type`, usable from the
    caller's session, with this answer counted within the factor's allowance and `challenge_id` open."""
    caller = await permanent_caller(request, conn)
    factor = await owned_factor(request, conn, caller)
    require_type(factor, factor_type)
    await refuse_new_factor_at_aal1(conn, caller, factor)
    await refuse_when_locked(conn, runtime(request).config, factor["id"])
    await open_challenge(conn, factor, challenge_id)
    return caller, factor


async def verify(request: Request) -> JSONResponse:
    rt = runtime(request)
    body = (await permanent_caller_and_body(request))[1]
    if WEBAUTHN in body:
        return await verify_webauthn(request, body)
    challenge_id, code = verify_params(body)
    async with rt.db.transaction() as conn:
        caller, factor = await challenged_factor(request, conn, TOTP, challenge_id)
        step = totp.matching_step(factor["secret"], code)
        if step is not None:
            payload = await verified_session(conn, rt, caller, factor, challenge_id, step)
    if step is None:  # its count was committed with the transaction
        raise ApiError(ErrorCode.mfa_verification_failed)
    return JSONResponse(payload)


async def verify_webauthn(request: Request, body: dict[str, Any]) -> JSONResponse:
    rt = runtime(request)
    challenge_id, kind, response = mfa_webauthn.verify_params(body)
    failure: ApiError | None = None
    async with rt.db.transaction() as conn:
        caller, factor = await challenged_factor(request, conn, WEBAUTHN, challenge_id)
        challenge = await mfa_webauthn.take_challenge(conn, challenge_id, caller.user["id"])
        try:
            verified = await mfa_webauthn.check_answer(conn, rt.config, factor, kind, response, challenge)
        except ApiError as error:
            failure = error  # its count is committed with this transaction
        else:
            await mfa_webauthn.record_answer(conn, factor, kind, verified)
            payload = await verified_session(conn, rt, caller, factor, challenge_id, None)
    if failure is not None:
        raise failure
    return JSONResponse(payload)


# --- DELETE /factors/{id} ------------------------------------------------------------------------------


async def lower_sessions_to_aal1(conn: Connection, user_id: uuid.UUID) -> None:
    """Every aal2 session of the user, not only those the removed factor raised (sessions do not record
    which factor raised them): the safe side."""
    statement = select(sessions_table).where(sessions_table.c.user_id == user_id, sessions_table.c.aal == AAL2)
    for session in (await conn.execute(statement)).mappings().all():
        amr = [entry for entry in session["amr"] if entry["method"] not in SECOND_FACTOR_METHODS]
        await conn.execute(update(sessions_table).where(sessions_table.c.id == session["id"]).values(aal=AAL1, amr=amr))


async def unenroll(request: Request) -> JSONResponse:
    rt = runtime(request)
    async with rt.db.transaction() as conn:
        caller = await permanent_caller(request, conn)
        factor = await owned_factor(request, conn, caller)
        if factor["status"] == VERIFIED and caller.session["aal"] != AAL2:
            raise ApiError(ErrorCode.insufficient_aal, "AAL2 required to unenroll verified factor", status=422)
        await conn.execute(delete(mfa_factors).where(mfa_factors.c.id == factor["id"]))
        await security_notices.factor_unenrolled(conn, rt, caller.user, factor["factor_type"])
        if factor["status"] == VERIFIED:
            await lower_sessions_to_aal1(conn, caller.user["id"])
    return JSONResponse({"id": str(factor["id"])})


routes = [
    Route("/factors", enroll, methods=["POST"]),
    Route("/factors/{factor_id}", unenroll, methods=["DELETE"]),
    Route("/factors/{factor_id}/challenge", challenge, methods=["POST"]),
    Route("/factors/{factor_id}/verify", verify, methods=["POST"]),
]
