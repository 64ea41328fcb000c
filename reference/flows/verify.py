"""POST /verify (a code with its email, or a token_hash) and GET /verify (the mail link, answered
with a 303 to the redirect URL carrying the session, or the error, in the fragment). Each client has
a number of failed tries per window (GoTrue's GOTRUE_RATE_LIMIT_VERIFY), and each code a number of
wrong guesses, so that six digits cannot be walked from one client or from many."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import RowMapping
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from guestpass.reference import onetime, ratelimit
from guestpass.reference.body import field, json_object, normalized_email
from guestpass.reference.config import Config
from guestpass.reference.email_change import confirm_email_change
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.mail_pkce import issue_code, split_token
from guestpass.reference.oauth import site_redirect
from guestpass.reference.passwords import check_password
from guestpass.reference.redirects import allowed_redirect
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import Runtime, runtime
from guestpass.reference.sessions import end_sessions_of_user
from guestpass.reference.signin import merge_token, signed_in
from guestpass.reference.storage.db import Connection
from guestpass.reference.users import confirm_email, get_user, update_user

# verify type -> the kinds of code it accepts; an invitation is a confirmation of an address the user
# did not sign up with (GoTrue's verify.go redeems both through signupVerify, from one token column)
VERIFY_TYPES: dict[str, tuple[str, ...]] = {
    "signup": ("confirmation", "invite"),
    "invite": ("invite", "confirmation"),
    "email": ("confirmation", "magiclink", "invite"),
    "magiclink": ("magiclink", "confirmation"),
    "recovery": ("recovery",),
    "email_change": ("email_change_current", "email_change_new"),
}
HALF_CONFIRMED = "Confirmation link accepted. Please proceed to confirm link sent to the other email"
VERIFY_BUCKET = "verify"


def verify_type(value: str | None) -> str:
    if value not in VERIFY_TYPES:
        raise ApiError(ErrorCode.validation_failed, f"Verify requires a type, one of {', '.join(VERIFY_TYPES)}")
    return value


def token_hash_of(body: dict[str, Any]) -> str:
    token_hash, token, email = field(body, "token_hash", str), field(body, "token", str), field(body, "email", str)
    if token_hash:
        return split_token(token_hash.strip())[0]
    if not token or not email:
        raise ApiError(ErrorCode.validation_failed, "Verify requires a token_hash, or a token and an email")
    return onetime.link_hash(normalized_email(email), token.strip())


def code_address(body: dict[str, Any]) -> str | None:
    """The address a typed code came with; None for a token_hash, which is a link, not six digits."""
    email = field(body, "email", str)
    if field(body, "token_hash", str) or not email:
        return None
    return normalized_email(email)


async def count_client_attempt(conn: Connection, config: Config, bucket: str, key: str) -> None:
    """Counts a try of the client before it is made, so that parallel tries cannot pass the limit;
    429 over_request_rate_limit once its tries for the window are used up, even for the right secret."""
    window = config.rate_limit_window_seconds
    await ratelimit.consume(conn, bucket, key, limit=config.verify_attempts_per_window, window_seconds=window)


async def refund_client_attempt(conn: Connection, config: Config, bucket: str, key: str) -> None:
    """A try that succeeded does not count: only wrong secrets use the allowance."""
    await ratelimit.give_back(conn, bucket, key, window_seconds=config.rate_limit_window_seconds)


async def attempt(
    request: Request, kinds: tuple[str, ...], token_hash: str, address: str | None, encrypted_password: str | None
) -> RowMapping | None:
    """One try at a code: counted against the client, and as a wrong guess against the address's other
    codes, before it is tried; a spent code is refused even when right."""
    rt = runtime(request)
    key = ratelimit.client_key(request, rt.config.rate_limit_header)
    async with rt.db.transaction() as conn:
        await count_client_attempt(conn, rt.config, VERIFY_BUCKET, key)
        if address is not None:
            await onetime.count_wrong_guess(conn, address, token_hash, kinds)
    async with rt.db.transaction() as conn:
        await onetime.refuse_spent(conn, token_hash, kinds, rt.config.code_attempts)
        user = await redeem(conn, kinds, token_hash, encrypted_password, runtime=rt)
        await refund_client_attempt(conn, rt.config, VERIFY_BUCKET, key)
    return user


async def redeem(
    conn: Connection, kinds: tuple[str, ...], token_hash: str, encrypted_password: str | None, *, runtime: Runtime
) -> RowMapping | None:
    """Consumes the code and applies it; the user to sign in, or None while an email change waits
    for its other confirmation."""
    code = await onetime.consume(conn, token_hash, kinds)
    user = await get_user(conn, code["user_id"])
    if user is None:
        raise ApiError(ErrorCode.otp_expired)
    if code["token_type"].startswith("email_change"):
        return await confirm_email_change(conn, runtime, user)
    if user["email_confirmed_at"] is None:
        user = await confirm_email(conn, user["id"])
    if code["token_type"] == "recovery" and encrypted_password is not None:
        user = await update_user(conn, user["id"], encrypted_password=encrypted_password)
        await end_sessions_of_user(conn, user["id"])
    return user


async def verify_post(request: Request) -> JSONResponse:
    rt = runtime(request)
    body = await json_object(request)
    kinds = VERIFY_TYPES[verify_type(field(body, "type", str))]
    merge_token(body)
    password = field(body, "password", str)
    if password is not None:
        if kinds != VERIFY_TYPES["recovery"]:
            raise ApiError(ErrorCode.validation_failed, "A password is accepted only with type recovery")
        check_password(rt.config, password)
    token_hash, address = token_hash_of(body), code_address(body)
    encrypted = await rt.passwords.hash(password) if password is not None else None
    user = await attempt(request, kinds, token_hash, address, encrypted)
    if user is None:
        return JSONResponse({"msg": HALF_CONFIRMED, "code": "200"})
    return JSONResponse(await signed_in(request, body, user["id"], "otp"))


async def verify_get(request: Request) -> Response:
    rt = runtime(request)
    params = request.query_params
    redirect_to = allowed_redirect(rt.config, params.get("redirect_to"))
    token_hash, pkce = split_token(params.get("token") or "")
    try:
        kind = verify_type(params.get("type"))
        if not token_hash:
            raise ApiError(ErrorCode.validation_failed, "The link carries no token")
        user = await attempt(request, VERIFY_TYPES[kind], token_hash, None, None)
        if user is None:
            fragment = {"message": HALF_CONFIRMED}
        elif pkce:
            async with rt.db.transaction() as conn:
                code = await issue_code(conn, rt.config, user["id"], kind)
            return RedirectResponse(site_redirect(redirect_to, {"code": code}, in_fragment=False), status_code=303)
        else:
            session = await signed_in(request, {}, user["id"], "otp")
            fragment = {key: str(session[key]) for key in ("access_token", "expires_at", "expires_in", "refresh_token")}
            fragment.update(token_type="bearer", type=kind)
    except ApiError as error:
        if error.code is ErrorCode.over_request_rate_limit:  # as GoTrue's limiter answers it: no redirect
            raise
        fragment = {"error": "access_denied", "error_code": error.code.value, "error_description": error.message}
    if pkce:  # as GoTrue's: what the fragment says goes in the query too, where a server-side page reads it
        redirect_to = site_redirect(redirect_to, fragment, in_fragment=False)
    return RedirectResponse(f"{redirect_to}#{urlencode(fragment)}", status_code=303)


routes = [Route("/verify", verify_post, methods=["POST"]), Route("/verify", verify_get, methods=["GET"])]
