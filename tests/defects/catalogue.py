"""Realistic server defects, applied to the reference server from outside its code.

Each defect either monkeypatches a reference-server function in the server process or wraps the
ASGI app. The self-test (tests/test_defects.py) serves the reference server with one defect at a
time, runs the suite, and requires the defect to be caught. Sources: the seeds (PR reviews and a
milestone plan), and bugs reported against Supabase Auth, Better Auth and Stack Auth."""

from __future__ import annotations

import contextvars
import dataclasses
import json
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from sqlalchemy import delete, desc, select, update
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guestpass.reference import auth, body, data, merge, passwords, ratelimit, sessions, signin, tokens, users
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import admin, anonymous, cli, logout, mfa, signup, token, user, user_sessions
from guestpass.reference.responses import JSONResponse
from guestpass.reference.runtime import runtime
from guestpass.reference.storage.hot import PostgresHotPaths, SqliteHotPaths
from guestpass.reference.storage.schema import items, refresh_tokens
from guestpass.reference.storage.schema import sessions as sessions_table
from guestpass.reference.storage.schema import users as users_table

AppWrapper = Callable[[ASGIApp], ASGIApp]


@dataclass(frozen=True)
class Defect:
    name: str
    capabilities: tuple[str, ...]
    source: str
    apply: Callable[[pytest.MonkeyPatch], AppWrapper | None]


CATALOGUE: dict[str, Defect] = {}


def defect(*capabilities: str, source: str) -> Callable[[Callable[[pytest.MonkeyPatch], AppWrapper | None]], Defect]:
    """Registers a defect; the self-test runs the scenarios of `capabilities` against it."""

    def register(apply: Callable[[pytest.MonkeyPatch], AppWrapper | None]) -> Defect:
        name = apply.__name__.replace("_", "-")
        CATALOGUE[name] = Defect(name, capabilities, source, apply)
        return CATALOGUE[name]

    return register


# --- ASGI rewriting helpers --------------------------------------------------------------------------

ResponseRewrite = Callable[[Scope, int, dict[str, Any] | None], tuple[int, Any] | None]


def rewrite_responses(rewrite: ResponseRewrite) -> AppWrapper:
    """Buffers each response and lets `rewrite(scope, status, json_body)` replace status and body."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                else:
                    chunks.append(message.get("body", b""))

            await app(scope, receive, capture)
            raw = b"".join(chunks)
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            replaced = rewrite(scope, start["status"], parsed)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            status = start["status"]
            if replaced is not None:
                status, new_body = replaced
                raw = b"" if new_body is None else json.dumps(new_body).encode()
            headers.append((b"content-length", str(len(raw)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": raw})

        return wrapped

    return wrap


def rewrite_request_headers(change: Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]) -> AppWrapper:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                scope = {**scope, "headers": change(list(scope["headers"]))}
            await app(scope, receive, send)

        return wrapped

    return wrap


def force_arguments(
    mp: pytest.MonkeyPatch, module: types.ModuleType, function: Callable[..., Any], **forced: Any
) -> None:
    """`module` calls `function` with these keyword arguments, whatever it passed."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        return await function(*args, **{**kwargs, **forced})

    mp.setattr(module, function.__name__, call)


def wrap_hot_path(
    mp: pytest.MonkeyPatch, name: str, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Both databases' hot path `name` (reference/storage/hot.py) become `wrapper(original)`."""
    for kind in (PostgresHotPaths, SqliteHotPaths):
        original = getattr(kind, name)
        mp.setattr(kind, name, wrapper(original))


def full_refresh_only(mp: pytest.MonkeyPatch) -> None:
    """Every refresh takes the SQLAlchemy path (sessions.refresh), where a defect patched into it applies."""

    async def decline(self: Any, rotation: Any) -> None:
        return None

    wrap_hot_path(mp, "rotate", lambda original: decline)


def full_caller_check_only(mp: pytest.MonkeyPatch) -> None:
    """Every access token is checked by auth.authenticate, where a defect patched into it applies."""

    async def decline(self: Any, session_id: Any, user_id: Any, now: Any) -> None:
        return None

    wrap_hot_path(mp, "caller", lambda original: decline)


def is_request(scope: Scope, method: str, path_suffix: str) -> bool:
    return scope["method"] == method and scope["path"].endswith(path_suffix)


# --- core: settings, sign-up, errors -----------------------------------------------------------------


@defect("core", source="seed 004 §3.1.2: clients read settings at start-up; a bare object breaks them")
def settings_empty(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_responses(lambda scope, status, body: (200, {}) if is_request(scope, "GET", "/settings") else None)


@defect("core", source="sign-up that forgets to create the email identity (GoTrue identities regression)")
def signup_without_identity(mp: pytest.MonkeyPatch) -> None:
    async def no_identity(conn: Any, user_id: Any, email: str, **options: Any) -> None:
        return None

    mp.setattr(users, "add_email_identity", no_identity)


@defect("core", source="the token omits is_anonymous (seed 000: clients must read it off the session)")
def token_without_is_anonymous(mp: pytest.MonkeyPatch) -> None:
    original = sessions.access_token_claims
    mp.setattr(
        sessions,
        "access_token_claims",
        lambda rt, u, s: {k: v for k, v in original(rt, u, s).items() if k != "is_anonymous"},
    )


@defect("core", source="password check that passes whenever the account has a password")
def any_password_accepted(mp: pytest.MonkeyPatch) -> None:
    async def verify(self: Any, hashed: str | None, password: str) -> bool:
        return bool(hashed)

    mp.setattr(passwords.PasswordHasher, "verify", verify)


@defect("core", source="user enumeration: an unknown email gets its own error code")
def unknown_email_enumerates(mp: pytest.MonkeyPatch) -> None:
    async def find(conn: Any, email: str) -> Any:
        found = await users.find_by_email(conn, email)
        if found is None:
            raise ApiError(ErrorCode.user_not_found, "No user with this email", status=400)
        return found

    mp.setattr(token, "find_by_email", find)


@defect("core", source="unique-violation on a taken email escapes as a 500")
def duplicate_email_500(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(users, "IntegrityError", type("NeverRaised", (Exception,), {}))


@defect("core", source="no minimum password length")
def no_password_policy(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(signup, "check_password", lambda config, password: None)


@defect("core", source="email format not validated at sign-up")
def email_not_validated(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(signup, "normalized_email", lambda value: value.strip().lower())


@defect("core", source="malformed JSON raises a 500 instead of bad_json")
def malformed_json_500(mp: pytest.MonkeyPatch) -> None:
    async def json_object(request: Any) -> dict[str, Any]:
        return json.loads(await request.body() or b"{}")

    for module in (signup, token, user, admin, body):
        mp.setattr(module, "json_object", json_object)


@defect("core", source="field types not checked: a number where a string belongs crashes the handler")
def field_types_unchecked(mp: pytest.MonkeyPatch) -> None:
    for module in (signup, token, user, admin):
        mp.setattr(module, "field", lambda data, name, kind: data.get(name))


@defect("core", source="X-Supabase-Api-Version ignored: always the legacy error format")
def api_version_ignored(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_request_headers(lambda headers: [h for h in headers if h[0] != b"x-supabase-api-version"])


@defect("core", source="always the 2024-01-01 error format, even for legacy clients")
def always_new_error_format(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_request_headers(
        lambda headers: [
            *[h for h in headers if h[0] != b"x-supabase-api-version"],
            (b"x-supabase-api-version", b"2024-01-01"),
        ]
    )


@defect("core", source="an unknown grant_type falls through to the password grant")
def unknown_grant_is_password(mp: pytest.MonkeyPatch) -> None:
    class FallThrough(dict):
        def get(self, key: Any, default: Any = None) -> Any:
            return super().get(key) or super().get("password")

    mp.setattr(token, "GRANTS", FallThrough(token.GRANTS))


@defect(
    "core",
    "anonymous",
    "owned-data",
    "self-delete",
    "sessions",
    source="seed 000 review: a 403 without a machine-readable code (clients retry forever)",
)
def refusal_without_code(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_responses(
        lambda scope, status, body: (403, {"error": "Forbidden"}) if status in (401, 403) else None
    )


@defect("core", source="signatures not verified")
def signature_not_verified(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(tokens, "verify", lambda key, token, issuer: jwt.decode(token, options={"verify_signature": False}))


@defect("core", source="alg none accepted (the classic JWT library misuse)")
def alg_none_accepted(mp: pytest.MonkeyPatch) -> None:
    original = tokens.verify

    def verify(key: Any, token: str, issuer: str) -> dict[str, Any]:
        if jwt.get_unverified_header(token).get("alg") == "none":
            return jwt.decode(token, options={"verify_signature": False})
        return original(key, token, issuer)

    mp.setattr(tokens, "verify", verify)


@defect("core", source="expiry not checked")
def expired_token_accepted(mp: pytest.MonkeyPatch) -> None:
    def verify(key: Any, token: str, issuer: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token, key.public, algorithms=[key.algorithm], options={"verify_exp": False, "verify_aud": False}
            )
        except jwt.PyJWTError:
            raise ApiError(ErrorCode.bad_jwt) from None

    mp.setattr(tokens, "verify", verify)


# --- core: refresh tokens and logout -----------------------------------------------------------------


@defect("core", source="refresh starts a new session instead of continuing the old one")
def refresh_starts_new_session(mp: pytest.MonkeyPatch) -> None:
    original = sessions.refresh

    async def refresh(conn: Any, raw: str, reuse_interval: int) -> sessions.Grant:
        grant = await original(conn, raw, reuse_interval)
        fake_request = types.SimpleNamespace(headers={}, client=None)
        return await sessions.start_session(conn, grant.user, "password", fake_request)  # type: ignore[arg-type]

    full_refresh_only(mp)
    mp.setattr(sessions, "refresh", refresh)


@defect("core", source="common defect: a rotated refresh token is still accepted (no reuse detection)")
def rotated_token_accepted(mp: pytest.MonkeyPatch) -> None:
    original = sessions.refresh
    mp.setattr(sessions, "refresh", lambda conn, raw, interval: original(conn, raw, 10**9))


@defect("core", source="no reuse interval: tabs racing to refresh revoke their own session (GoTrue #1105 class)")
def no_reuse_interval(mp: pytest.MonkeyPatch) -> None:
    original = sessions.refresh
    mp.setattr(sessions, "refresh", lambda conn, raw, interval: original(conn, raw, -1))


@defect("core", source="strict rotation: a rotated token is never honoured, so racing tabs lose their session")
def rotated_token_never_honoured(mp: pytest.MonkeyPatch) -> None:
    async def refuse(conn: Any, token: Any, raw: str, reusable_since: Any) -> str:
        raise ApiError(ErrorCode.refresh_token_already_used)

    mp.setattr(sessions, "active_successor", refuse)


@defect(
    "core", source="GoTrue: a detected reuse revokes the refresh tokens but keeps the session (refresh_token.go:91)"
)
def reuse_keeps_session(mp: pytest.MonkeyPatch) -> None:
    async def revoke_tokens_only(conn: Any, raw: str) -> None:
        session_id = select(refresh_tokens.c.session_id).where(refresh_tokens.c.token_hash == sessions.hash_token(raw))
        statement = update(refresh_tokens).where(refresh_tokens.c.session_id.in_(session_id.scalar_subquery()))
        await conn.execute(statement.values(revoked=True))

    mp.setattr(sessions, "revoke_session_of_token", revoke_tokens_only)


@defect("core", source="issue: a rotated token presented again mints a new token, so the chain forks")
def rotated_token_forks(mp: pytest.MonkeyPatch) -> None:
    async def fork(conn: Any, token: Any, raw: str, reusable_since: Any) -> str:
        revoked_at = (
            await conn.execute(select(refresh_tokens.c.revoked_at).where(refresh_tokens.c.id == token["id"]))
        ).scalar_one()
        if revoked_at is None or sessions.as_utc(revoked_at) < reusable_since:
            raise ApiError(ErrorCode.refresh_token_already_used)
        return await sessions.issue_refresh_token(conn, token["session_id"], token["id"], raw)

    mp.setattr(sessions, "active_successor", fork)


@defect("core", source="refresh errors in the OAuth2 form only, with no error code")
def refresh_errors_without_code(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if is_request(scope, "POST", "/token") and b"refresh_token" in scope.get("query_string", b"") and status == 400:
            return 400, {"error": "invalid_grant", "error_description": (body or {}).get("message", "")}
        return None

    return rewrite_responses(rewrite)


@defect("core", source="seed 004: logout answers 200 with a body instead of 204")
def logout_200(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_responses(
        lambda scope, status, body: (200, {}) if is_request(scope, "POST", "/logout") and status == 204 else None
    )


@defect("core", source="seed 004: logout revokes refresh tokens but the session's access tokens keep working")
def logout_keeps_access_tokens(mp: pytest.MonkeyPatch) -> None:
    async def end_sessions(conn: Any, user_id: Any, current: Any, scope: str) -> None:
        owned = select(sessions_table.c.id).where(sessions_table.c.user_id == user_id)
        await conn.execute(update(refresh_tokens).where(refresh_tokens.c.session_id.in_(owned)).values(revoked=True))

    mp.setattr(logout, "end_sessions", end_sessions)


@defect("core", source="common defect: logout leaves refresh tokens alive")
def logout_keeps_refresh_tokens(mp: pytest.MonkeyPatch) -> None:
    async def end_sessions(conn: Any, user_id: Any, current: Any, scope: str) -> None:
        return None

    mp.setattr(logout, "end_sessions", end_sessions)


@defect("core", source="logout scope ignored: every logout is global")
def logout_always_global(mp: pytest.MonkeyPatch) -> None:
    original = sessions.end_sessions
    mp.setattr(logout, "end_sessions", lambda conn, user_id, current, scope: original(conn, user_id, current, "global"))


@defect("core", source="logout scope ignored: every logout is local")
def logout_always_local(mp: pytest.MonkeyPatch) -> None:
    original = sessions.end_sessions
    mp.setattr(logout, "end_sessions", lambda conn, user_id, current, scope: original(conn, user_id, current, "local"))


@defect("core", source="an unknown logout scope is treated as global instead of refused")
def unknown_scope_global(mp: pytest.MonkeyPatch) -> AppWrapper:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if (
                scope["type"] == "http"
                and scope["path"].endswith("/logout")
                and scope.get("query_string", b"") not in (b"", b"scope=global", b"scope=local", b"scope=others")
            ):
                scope = {**scope, "query_string": b"scope=global"}
            await app(scope, receive, send)

        return wrapped

    return wrap


@defect("core", source="PUT /user data replaces user_metadata instead of merging")
def metadata_replaced(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(user, "merged_metadata", lambda current, changes: dict(changes))


@defect("core", source="a password change leaves the user's other sessions signed in")
def password_change_keeps_sessions(mp: pytest.MonkeyPatch) -> None:
    async def end_sessions(conn: Any, user_id: Any, current: Any, scope: str) -> None:
        return None

    mp.setattr(user, "end_sessions", end_sessions)


@defect("core", source="expires_at in milliseconds (a JavaScript Date.now() slip)")
def expires_at_milliseconds(mp: pytest.MonkeyPatch) -> None:
    original = sessions.session_body

    def session_body(*args: Any, **kwargs: Any) -> dict[str, Any]:
        body = original(*args, **kwargs)
        return {**body, "expires_at": body["expires_at"] * 1000}

    mp.setattr(sessions, "session_body", session_body)
    mp.setattr(anonymous, "session_body", session_body)


# --- anonymous ---------------------------------------------------------------------------------------


@defect("anonymous", source="anonymous sign-in creates an ordinary user (is_anonymous false)")
def anonymous_not_flagged(mp: pytest.MonkeyPatch) -> None:
    original = users.new_user_row
    mp.setattr(anonymous, "new_user_row", lambda **values: original(**{**values, "anonymous": False}))


@defect("anonymous", source="anonymous sign-in drops the `data` object")
def anonymous_data_dropped(mp: pytest.MonkeyPatch) -> None:
    original = anonymous.sign_in_anonymously
    mp.setattr(signup, "sign_in_anonymously", lambda request, metadata: original(request, {}))


@defect("anonymous", source="anonymous sign-in hands out the newest existing guest account")
def anonymous_account_reused(mp: pytest.MonkeyPatch) -> None:
    original = anonymous.sign_in_anonymously

    async def sign_in_anonymously(request: Any, user_metadata: dict[str, Any]) -> Any:
        rt = runtime(request)
        newest = select(users_table).where(users_table.c.is_anonymous.is_(True))
        async with rt.db.transaction() as conn:
            user = (await conn.execute(newest.order_by(desc(users_table.c.created_at)).limit(1))).mappings().first()
            if user is not None:
                grant = await sessions.start_session(conn, user, "anonymous", request)
                return JSONResponse(await sessions.session_json(conn, rt, grant))
        return await original(request, user_metadata)

    mp.setattr(signup, "sign_in_anonymously", sign_in_anonymously)


@defect("anonymous", source="the switch for anonymous sign-ins is ignored")
def anonymous_switch_ignored(mp: pytest.MonkeyPatch) -> None:
    from guestpass.reference import server

    original = server.config_from_args
    mp.setattr(server, "config_from_args", lambda *given: original(*given).replace(anonymous_enabled=True))


@defect("anonymous", source="common defect: conversion creates a new user id instead of converting in place")
def conversion_new_user(mp: pytest.MonkeyPatch) -> None:
    async def convert(conn: Any, current: Any, email: str) -> Any:
        if await users.find_by_email(conn, email) is not None:
            raise ApiError(ErrorCode.email_exists)
        return await users.create_user(conn, email=email, user_metadata=current["user_metadata"], confirmed=True)

    mp.setattr(user, "set_email", convert)


@defect("anonymous", source="conversion does not check for a taken email; the unique index answers with a 500")
def conversion_unchecked(mp: pytest.MonkeyPatch) -> None:
    async def no_duplicate(conn: Any, email: str) -> None:
        return None

    mp.setattr(users, "find_by_email", no_duplicate)
    mp.setattr(users, "IntegrityError", type("NeverRaised", (Exception,), {}))


# --- rate limits and admin ---------------------------------------------------------------------------


@defect("rate-limits", source="common defect: the rate limit never triggers")
def rate_limit_never(mp: pytest.MonkeyPatch) -> None:
    async def consume(conn: Any, bucket: str, key: str, *, limit: int, window_seconds: int) -> None:
        return None

    def unlimited(original: Any) -> Any:
        return lambda self, sign_in: original(self, dataclasses.replace(sign_in, limit=1 << 30))

    mp.setattr(ratelimit, "consume", consume)
    wrap_hot_path(mp, "sign_in_anonymously", unlimited)


@defect("rate-limits", source="seed 001: one global bucket instead of one per client")
def rate_limit_global(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(ratelimit, "client_key", lambda request, header: "everyone")


@defect("admin", source="admin API trusts any valid JWT, not only the service role")
def admin_any_jwt(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(admin, "require_service_role", auth.bearer_claims)


@defect("admin", source="admin user creation ignores email_confirm")
def admin_ignores_confirm(mp: pytest.MonkeyPatch) -> None:
    force_arguments(mp, admin, users.create_user, confirmed=False)


@defect("anonymous", source="seed 000: permanent-only endpoints forget to check is_anonymous")
def anonymous_guard_missing(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mfa, "refuse_anonymous", lambda caller: None)


# --- merge -------------------------------------------------------------------------------------------


def patch_source(mp: pytest.MonkeyPatch, module: types.ModuleType, name: str, change: Callable[[str], str]) -> None:
    """Replaces `module.name` with an edited copy of its own code (the defect is the edit)."""
    import inspect
    import textwrap

    function = getattr(module, name)
    original = textwrap.dedent(inspect.getsource(function))
    source = change(original)
    assert source != original, f"the defect's edit no longer applies to {module.__name__}.{name}"
    # Executed in the module's own namespace, so that edited functions see each other's edits.
    exec(compile(source, module.__file__ or name, "exec"), module.__dict__)
    edited = module.__dict__[name]
    module.__dict__[name] = function
    replace_function(mp, module, name, edited)


def replace_function(mp: pytest.MonkeyPatch, module: types.ModuleType, name: str, function: Callable[..., Any]) -> None:
    """Sets `module.name`, and re-routes the module's routes that served the old function (the app is
    built after the defect is applied)."""
    original = getattr(module, name)
    mp.setattr(module, name, function)
    for index, route in enumerate(getattr(module, "routes", [])):
        if isinstance(route, Route) and route.endpoint is original:
            module.routes[index] = Route(route.path, function, methods=sorted(route.methods or ()))


def _patch_merge_body(mp: pytest.MonkeyPatch, change: Callable[[str], str]) -> None:
    patch_source(mp, merge, "absorb", change)


@defect("merge", source="better-auth onLinkAccount without a transaction (seed 002's warning)")
def merge_outside_transaction(mp: pytest.MonkeyPatch) -> None:
    class StatementAtATime:
        """Each statement commits on its own: no atomicity, and locks end with the statement."""

        def __init__(self, db: Any) -> None:
            self.db = db

        async def execute(self, statement: Any) -> Any:
            async with self.db.transaction() as conn:
                return await conn.execute(statement)

    async def merge_anonymous_user(db: Any, target_id: Any, raw: str) -> dict[str, Any]:
        try:
            conn = StatementAtATime(db)
            return await merge.absorb(conn, await merge.token_owner_id(conn, raw), target_id)
        except merge.MergeRejected as rejection:
            return {"status": "rejected", "code": rejection.code.value}

    mp.setattr(signin, "merge_anonymous_user", merge_anonymous_user)


@defect("merge", source="a merge that hands the anonymous sessions to the account instead of ending them")
def merge_moves_credentials(mp: pytest.MonkeyPatch) -> None:
    _patch_merge_body(
        mp,
        lambda code: code.replace(
            "await conn.execute(delete(sessions).where(sessions.c.user_id == source_id))",
            "await conn.execute(update(sessions).where(sessions.c.user_id == source_id).values(user_id=target_id))",
        ),
    )


_named_user: contextvars.ContextVar[Any] = contextvars.ContextVar("named_user", default=None)


@defect("merge", source="a merge that trusts a user id in the request instead of the refresh token")
def merge_trusts_user_id(mp: pytest.MonkeyPatch) -> None:
    import uuid as uuid_module

    original_complete, original_owner = signin.complete_sign_in, merge.token_owner_id

    async def complete_sign_in(request: Any, body_: dict[str, Any], user_id: Any, method: str) -> Any:
        _named_user.set(body_.get("anonymous_user_id"))
        return await original_complete(request, body_, user_id, method)

    async def token_owner(conn: Any, raw: str) -> Any:
        named = _named_user.get()
        return uuid_module.UUID(named) if named else await original_owner(conn, raw)

    mp.setattr(token, "complete_sign_in", complete_sign_in)
    mp.setattr(merge, "token_owner_id", token_owner)


@defect("merge", source="a merge that moves the rows but never revokes or deletes the anonymous user")
def merge_keeps_anonymous_sessions(mp: pytest.MonkeyPatch) -> None:
    _patch_merge_body(
        mp,
        lambda code: code.replace(
            "await conn.execute(delete(sessions).where(sessions.c.user_id == source_id))", "pass"
        ).replace("await conn.execute(delete(users).where(users.c.id == source_id))", "pass"),
    )


@defect("merge", source="the merge step never runs (the token is ignored)")
def merge_ignored(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(signin, "field", lambda body_, name, kind: None if name == signin.MERGE_FIELD else body_.get(name))


@defect("merge", source="better-auth: a sign-in links whatever anonymous session the client happens to hold")
def merge_without_consent(mp: pytest.MonkeyPatch) -> None:
    original = signin.complete_sign_in

    async def complete_sign_in(request: Any, body_: dict[str, Any], user_id: Any, method: str) -> Any:
        if not body_.get(signin.MERGE_FIELD):
            async with signin.runtime(request).db.transaction() as conn:
                newest = (
                    await conn.execute(
                        select(users_table.c.id)
                        .where(users_table.c.is_anonymous.is_(True))
                        .order_by(desc(users_table.c.created_at))
                        .limit(1)
                    )
                ).scalar()
                if newest is not None:
                    await conn.execute(update(items).where(items.c.user_id == newest).values(user_id=user_id))
        return await original(request, body_, user_id, method)

    mp.setattr(token, "complete_sign_in", complete_sign_in)


@defect("merge", source="the target's metadata is overwritten by the anonymous user's")
def merge_metadata_anonymous_wins(mp: pytest.MonkeyPatch) -> None:
    _patch_merge_body(
        mp,
        lambda code: code.replace(
            '{**source["user_metadata"], **target["user_metadata"]}',
            '{**target["user_metadata"], **source["user_metadata"]}',
        ),
    )


@defect("merge", source="Stack Auth's withdrawn merge: a permanent account can be merged away")
def merge_permanent_users(mp: pytest.MonkeyPatch) -> None:
    _patch_merge_body(mp, lambda code: code.replace('if not source["is_anonymous"]:', "if False:"))


@defect("merge", source="a failed merge fails the whole sign-in")
def merge_blocks_sign_in(mp: pytest.MonkeyPatch) -> None:
    original = signin.merge_anonymous_user

    async def merge_anonymous_user(db: Any, target_id: Any, raw: str) -> dict[str, Any]:
        outcome = await original(db, target_id, raw)
        if outcome["status"] != "merged":
            raise ApiError(ErrorCode.refresh_token_not_found)
        return outcome

    mp.setattr(signin, "merge_anonymous_user", merge_anonymous_user)


@defect("merge", source="a rotated anonymous refresh token still counts as proof of possession")
def merge_accepts_rotated_token(mp: pytest.MonkeyPatch) -> None:
    original = merge.token_owner_id

    async def token_owner(conn: Any, raw: str) -> Any:
        row = (
            await conn.execute(
                select(sessions_table.c.user_id)
                .join(refresh_tokens, refresh_tokens.c.session_id == sessions_table.c.id)
                .where(refresh_tokens.c.token_hash == sessions.hash_token(raw))
            )
        ).first()
        return row.user_id if row else await original(conn, raw)

    mp.setattr(merge, "token_owner_id", token_owner)


@defect("merge", source="a fixation guard that revokes the presented token's session even when the merge is refused")
def merge_consumes_refused_token(mp: pytest.MonkeyPatch) -> None:
    original = signin.merge_anonymous_user

    async def merge_anonymous_user(db: Any, target_id: Any, raw: str) -> dict[str, Any]:
        outcome = await original(db, target_id, raw)
        async with db.transaction() as conn:
            await sessions.revoke_session_of_token(conn, raw)
        return outcome

    mp.setattr(signin, "merge_anonymous_user", merge_anonymous_user)


# --- owned data and self-delete ----------------------------------------------------------------------


@defect("owned-data", source="PROTOCOL §4: the /sync refusal carries no code (seed 000's retry loop)")
def sync_refusal_without_code(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_responses(
        lambda scope, status, body_: (
            (403, {"error": "Forbidden"}) if is_request(scope, "GET", "/sync") and status == 403 else None
        )
    )


@defect("owned-data", "merge", source="seed 000: anonymous users are refused contributions as well as sync")
def anonymous_cannot_contribute(mp: pytest.MonkeyPatch) -> None:
    original = data.authenticate

    async def authenticate(request: Any, conn: Any) -> Any:
        caller = await original(request, conn)
        if request.method == "POST":
            auth.refuse_anonymous(caller)
        return caller

    mp.setattr(data, "authenticate", authenticate)


@defect("owned-data", source="a listing without its owner filter (an IDOR)")
def items_listed_for_everyone(mp: pytest.MonkeyPatch) -> None:
    async def owned_items(conn: Any, user_id: Any) -> list[dict[str, Any]]:
        rows = (await conn.execute(select(items).order_by(items.c.created_at))).mappings().all()
        return [data.item_json(row) for row in rows]

    mp.setattr(data, "owned_items", owned_items)


@defect("owned-data", source="an empty contribution is stored")
def empty_item_accepted(mp: pytest.MonkeyPatch) -> None:
    original = data.field
    mp.setattr(data, "field", lambda body_, name, kind: original(body_, name, kind) or "(empty)")


@defect("self-delete", source="PROTOCOL §8 / seed 001 review: self-delete takes a user id from the request")
def self_delete_takes_an_id(mp: pytest.MonkeyPatch) -> AppWrapper:
    import uuid as uuid_module
    from urllib.parse import parse_qs

    original = users.delete_user

    async def delete_user(conn: Any, user_id: Any) -> bool:
        named = _named_user.get()
        return await original(conn, uuid_module.UUID(named) if named else user_id)

    mp.setattr(user, "delete_user", delete_user)

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and is_request(scope, "DELETE", "/user"):
                _named_user.set(parse_qs(scope["query_string"].decode()).get("user_id", [None])[0])
            await app(scope, receive, send)

        return wrapped

    return wrap


@defect("self-delete", source="seed 004 §3.1.4: soft delete that revokes refresh tokens but leaves sessions")
def self_delete_soft(mp: pytest.MonkeyPatch) -> None:
    async def delete_user(conn: Any, user_id: Any) -> bool:
        owned = select(sessions_table.c.id).where(sessions_table.c.user_id == user_id)
        await conn.execute(update(refresh_tokens).where(refresh_tokens.c.session_id.in_(owned)).values(revoked=True))
        return True

    mp.setattr(user, "delete_user", delete_user)


@defect("self-delete", source="seed 000: account deletion hidden from, and refused to, anonymous users")
def anonymous_cannot_self_delete(mp: pytest.MonkeyPatch) -> None:
    original = user.delete_user

    async def delete_user(conn: Any, user_id: Any) -> bool:
        found = await users.get_user(conn, user_id)
        if found is not None and found["is_anonymous"]:
            raise ApiError(ErrorCode.no_authorization, "Anonymous users cannot delete their account", status=403)
        return await original(conn, user_id)

    mp.setattr(user, "delete_user", delete_user)


@defect("admin", source="admin delete answers success and deletes nothing")
def admin_delete_no_op(mp: pytest.MonkeyPatch) -> None:
    async def delete_user(conn: Any, user_id: Any) -> bool:
        return True

    mp.setattr(admin, "delete_user", delete_user)


# --- CLI hand-off and sessions -----------------------------------------------------------------------


@defect("cli-handoff", source="PROTOCOL §9: poll success twice (Stack Auth's public poll)")
def cli_poll_success_twice(mp: pytest.MonkeyPatch) -> None:
    """Stack Auth's public poll: no interval, and success for every poll once the browser completed."""
    patch_source(
        mp,
        cli,
        "poll",
        lambda code: code.replace(
            'if not await _transition(conn, attempt["id"], COMPLETED, state=USED):', "if False:"
        ).replace("if not await _take_poll_slot(conn, attempt, now):", "if False:"),
    )


@defect("cli-handoff", source="PROTOCOL §9 / Stack Auth: the CLI is handed the browser's own refresh token")
def cli_gets_browser_token(mp: pytest.MonkeyPatch) -> None:
    browser_tokens: dict[Any, str] = {}
    original_complete, original_start = cli._complete, cli.start_session

    async def complete_(conn: Any, attempt: Any, body_: dict[str, Any]) -> Any:
        answer = await original_complete(conn, attempt, body_)
        browser_tokens[(await merge.token_owner(conn, body_["refresh_token"]))["id"]] = body_["refresh_token"]
        return answer

    async def start_session(conn: Any, user_: Any, method: str, request: Any) -> Any:
        raw = browser_tokens.get(user_["id"]) if method == "cli" else None
        if raw is None:
            return await original_start(conn, user_, method, request)
        session_id = (
            await conn.execute(
                select(refresh_tokens.c.session_id).where(refresh_tokens.c.token_hash == sessions.hash_token(raw))
            )
        ).scalar_one()
        return sessions.Grant(user_, await sessions.get_session(conn, session_id), raw)

    mp.setattr(cli, "_complete", complete_)
    mp.setattr(cli, "start_session", start_session)


@defect("cli-handoff", source="PROTOCOL §9: expiry not checked on poll")
def cli_expiry_not_checked_on_poll(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, cli, "poll", lambda code: code.replace('if as_utc(attempt["expires_at"]) <= now:', "if False:"))


@defect("cli-handoff", source="PROTOCOL §9: complete accepted twice (no check of the attempt's state)")
def cli_complete_twice(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, cli, "complete", lambda code: code.replace('attempt["state"] != PENDING or ', ""))
    patch_source(
        mp, cli, "_complete", lambda code: code.replace("PENDING, state=COMPLETED", 'attempt["state"], state=COMPLETED')
    )


@defect("cli-handoff", source="PROTOCOL §9 / better-auth: the CLI's anonymous user is merged without consent")
def cli_merge_without_consent(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        cli,
        "_complete",
        lambda code: code.replace(
            'if field(body, "anonymous_merge", bool) and attempt["anonymous_user_id"]:',
            'if attempt["anonymous_user_id"]:',
        ),
    )


@defect("cli-handoff", source="short, guessable codes (a six-digit code used as the polling secret)")
def cli_short_codes(mp: pytest.MonkeyPatch) -> None:
    import secrets as secrets_module

    mp.setattr(cli, "new_code", lambda: f"{secrets_module.randbelow(10**6):06d}")


@defect("cli-handoff", source="an unknown polling code answered 404 without a code")
def cli_unknown_poll_404(mp: pytest.MonkeyPatch) -> AppWrapper:
    return rewrite_responses(
        lambda scope, status, body_: (
            (404, {"error": "not found"}) if is_request(scope, "POST", "/cli/poll") and status == 400 else None
        )
    )


@defect("cli-handoff", source="RFC 8628: no slow_down; pollers are never told to back off")
def cli_no_slow_down(mp: pytest.MonkeyPatch) -> None:
    async def take_poll_slot(conn: Any, attempt: Any, now: Any) -> bool:
        return True

    mp.setattr(cli, "_take_poll_slot", take_poll_slot)


@defect("cli-handoff", source="check mode marks the attempt as used")
def cli_check_has_side_effects(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        cli,
        "complete",
        lambda code: code.replace(
            '        if mode == "check":\n',
            '        if mode == "check":\n            await _transition(conn, attempt["id"], PENDING, state=USED)\n',
        ),
    )


@defect("cli-handoff", source="complete does not check expiry")
def cli_expiry_not_checked_on_complete(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, cli, "complete", lambda code: code.replace(' or as_utc(attempt["expires_at"]) <= utcnow()', ""))


@defect("cli-handoff", source="a complete without a refresh token crashes the handler")
def cli_missing_token_crashes(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, cli, "_complete", lambda code: code.replace("    if not refresh_token:\n", "    if False:\n"))


@defect("cli-handoff", source="anon_refresh_token not checked when the attempt is created")
def cli_anonymous_token_unchecked(mp: pytest.MonkeyPatch) -> None:
    async def anonymous_owner(conn: Any, raw: str) -> None:
        return None

    mp.setattr(cli, "_anonymous_owner", anonymous_owner)


@defect("cli-handoff", source="the consented merge at complete never happens")
def cli_merge_ignored(mp: pytest.MonkeyPatch) -> None:
    async def merge_within(conn: Any, source_id: Any, target_id: Any) -> dict[str, Any]:
        return {"status": "rejected", "code": "refresh_token_not_found"}

    mp.setattr(cli, "merge_within", merge_within)


@defect("cli-handoff", source="claiming hands out a new anonymous user instead of the CLI's")
def cli_claim_new_user(mp: pytest.MonkeyPatch) -> None:
    original = cli.start_session

    async def start_session(conn: Any, user_: Any, method: str, request: Any) -> Any:
        if method == "anonymous":
            user_ = await users.create_user(conn, anonymous=True)
        return await original(conn, user_, method, request)

    mp.setattr(cli, "start_session", start_session)


@defect("cli-handoff", source="the anonymous session can be claimed again and again")
def cli_claim_repeatable(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, cli, "_claim", lambda code: code.replace("cli_attempts.c.anonymous_claimed_at.is_(None),", ""))


@defect("sessions", "cli-handoff", source="ending a session revokes its refresh tokens but not the session")
def session_end_keeps_access(mp: pytest.MonkeyPatch) -> None:
    async def end_session(conn: Any, session_id: Any, user_id: Any) -> bool:
        await conn.execute(update(refresh_tokens).where(refresh_tokens.c.session_id == session_id).values(revoked=True))
        return True

    mp.setattr(user_sessions, "end_session", end_session)


@defect("sessions", source="an IDOR: DELETE /sessions/{id} ends anyone's session")
def session_end_anyone(mp: pytest.MonkeyPatch) -> None:
    async def end_session(conn: Any, session_id: Any, user_id: Any) -> bool:
        return (await conn.execute(delete(sessions_table).where(sessions_table.c.id == session_id))).rowcount == 1

    mp.setattr(user_sessions, "end_session", end_session)


@defect("sessions", source="GET /sessions does not say which session is the caller's")
def sessions_no_current(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body_: Any) -> tuple[int, Any] | None:
        if is_request(scope, "GET", "/sessions") and status == 200:
            return 200, {"sessions": [{**s, "current": False} for s in body_["sessions"]]}
        return None

    return rewrite_responses(rewrite)


# The defects of the mail flows and of MFA live in their own modules; importing them registers them.
import address_abuse_defects  # noqa: E402, F401
import admin_api_defects  # noqa: E402, F401
import captcha_defects  # noqa: E402, F401
import client_parity_defects  # noqa: E402, F401
import enumeration_defects  # noqa: E402, F401
import handoff_abuse_defects  # noqa: E402, F401
import input_abuse_defects  # noqa: E402, F401
import mail_defects  # noqa: E402, F401
import mail_pkce_defects  # noqa: E402, F401
import mfa_abuse_defects  # noqa: E402, F401
import mfa_defects  # noqa: E402, F401
import notification_defects  # noqa: E402, F401
import oauth_defects  # noqa: E402, F401
import passkey_defects  # noqa: E402, F401
import session_values_defects  # noqa: E402, F401
import token_defects  # noqa: E402, F401
