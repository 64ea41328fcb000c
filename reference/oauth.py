"""OAuth sign-in and identity linking: flow states (state used once, auth code used once), the user an
ID token resolves to, and the redirect back to the site. The handlers are in flows/external.py,
flows/identities.py and the pkce grant of flows/token.py."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import RowMapping, delete, insert, select, update
from starlette.responses import Response

from guestpass.reference.clock import as_utc, utcnow
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.sessions import end_sessions_of_user, hash_token
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import flow_states, identities, one_time_tokens
from guestpass.reference.users import create_user, find_by_email, get_user, update_user

AUTHORIZE, CALLBACK, CODE = "authorize", "callback", "code"
AMR_METHOD = "oauth"
LINK_COOKIE = "sb-oauth-link-"


@dataclass(frozen=True)
class NewFlow:
    state: str
    nonce: str
    verifier: str


def callback_url(config: Config) -> str:
    return f"{config.external_url.rstrip('/')}/callback"


async def open_flow(
    conn: Connection,
    config: Config,
    provider: str,
    redirect_to: str,
    code_challenge: str | None,
    linking_user_id: uuid.UUID | None = None,
) -> NewFlow:
    flow = NewFlow(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48))
    now = utcnow()
    await conn.execute(delete(flow_states).where(flow_states.c.expires_at < now - timedelta(hours=1)))
    await conn.execute(
        insert(flow_states).values(
            id=uuid.uuid4(),
            provider=provider,
            stage=AUTHORIZE,
            state_hash=hash_token(flow.state),
            nonce=flow.nonce,
            provider_verifier=flow.verifier,
            redirect_to=redirect_to,
            linking_user_id=linking_user_id,
            code_challenge=code_challenge,
            created_at=now,
            expires_at=now + timedelta(seconds=config.oauth_flow_ttl),
        )
    )
    return flow


async def take_state(conn: Connection, state: str) -> RowMapping:
    """The flow this callback's state belongs to, moved past its authorize stage: a state works once."""
    statement = (
        update(flow_states)
        .where(flow_states.c.state_hash == hash_token(state), flow_states.c.stage == AUTHORIZE)
        .values(stage=CALLBACK)
        .returning(*flow_states.c)
    )
    flow = (await conn.execute(statement)).mappings().first()
    if flow is None:
        raise ApiError(ErrorCode.bad_oauth_state)
    return flow


# --- a link is completed only in the browser that started it (RFC 6749 10.12, RFC 9700 4.7) ---------


def link_cookie_name(state: str) -> str:
    return LINK_COOKIE + hash_token(state)[:16]


def link_binding(provider_verifier: str) -> str:
    """What the client that started a link holds: derived from the flow's provider verifier, which never
    leaves the server, so neither the provider URL nor the callback URL gives it away."""
    return hmac.new(provider_verifier.encode(), b"guestpass identity link", hashlib.sha256).hexdigest()


def started_here(cookies: Mapping[str, str], state: str, flow: RowMapping) -> bool:
    """Whether the browser at the callback started the flow: any browser for a sign-in (its session goes
    to whoever signed in at the provider), only the one holding the link's cookie for a link."""
    if flow["linking_user_id"] is None:
        return True
    return hmac.compare_digest(cookies.get(link_cookie_name(state), ""), link_binding(flow["provider_verifier"]))


def set_link_cookie(response: Response, config: Config, flow: NewFlow) -> None:
    response.set_cookie(
        link_cookie_name(flow.state),
        link_binding(flow.verifier),
        max_age=config.oauth_flow_ttl,
        **cookie_scope(config),
    )


def clear_link_cookie(response: Response, config: Config, state: str) -> None:
    response.delete_cookie(link_cookie_name(state), **cookie_scope(config))


def cookie_scope(config: Config) -> dict[str, Any]:
    """Sent to the callback only, on the top-level redirect from the provider (Lax), never to scripts."""
    url = urlsplit(callback_url(config))
    return {"path": url.path or "/", "secure": url.scheme == "https", "httponly": True, "samesite": "lax"}


def expired(flow: RowMapping) -> bool:
    return as_utc(flow["expires_at"]) <= utcnow()


async def issue_auth_code(conn: Connection, config: Config, flow: RowMapping, user_id: uuid.UUID) -> str:
    code = secrets.token_urlsafe(32)
    await conn.execute(
        update(flow_states)
        .where(flow_states.c.id == flow["id"])
        .values(
            stage=CODE,
            auth_code_hash=hash_token(code),
            user_id=user_id,
            expires_at=utcnow() + timedelta(seconds=config.oauth_flow_ttl),
        )
    )
    return code


async def take_auth_code(conn: Connection, auth_code: str) -> RowMapping:
    """Deletes and returns the flow holding this auth code; 404 flow_state_not_found if none does."""
    statement = (
        delete(flow_states)
        .where(flow_states.c.auth_code_hash == hash_token(auth_code), flow_states.c.stage == CODE)
        .returning(*flow_states.c)
    )
    flow = (await conn.execute(statement)).mappings().first()
    if flow is None:
        raise ApiError(ErrorCode.flow_state_not_found)
    return flow


async def end_flow(conn: Connection, flow: RowMapping) -> None:
    await conn.execute(delete(flow_states).where(flow_states.c.id == flow["id"]))


# --- the user an ID token stands for -----------------------------------------------------------------


def identity_data(claims: dict[str, Any]) -> dict[str, Any]:
    kept = ("sub", "email", "email_verified", "name", "picture", "iss")
    return {key: claims[key] for key in kept if key in claims}


def verified_email(claims: dict[str, Any]) -> str | None:
    email = claims.get("email")
    return email.strip().lower() if isinstance(email, str) and claims.get("email_verified") is True else None


async def identity_of(conn: Connection, provider: str, sub: str) -> RowMapping | None:
    statement = select(identities).where(identities.c.provider == provider, identities.c.provider_id == sub)
    return (await conn.execute(statement)).mappings().first()


async def insert_identity(conn: Connection, user_id: uuid.UUID, provider: str, claims: dict[str, Any]) -> None:
    now = utcnow()
    await conn.execute(
        insert(identities).values(
            id=uuid.uuid4(),
            user_id=user_id,
            provider=provider,
            provider_id=claims["sub"],
            identity_data=identity_data(claims),
            last_sign_in_at=now,
            created_at=now,
            updated_at=now,
        )
    )


async def attach_identity(
    conn: Connection, user: RowMapping, provider: str, claims: dict[str, Any], **changes: Any
) -> None:
    """The identity joins `user`, whose providers then name it; `changes` go into the same update."""
    await insert_identity(conn, user["id"], provider, claims)
    providers = list(dict.fromkeys([*user["app_metadata"].get("providers", []), provider]))
    app_metadata = {**user["app_metadata"], "providers": providers}
    if user["is_anonymous"]:
        app_metadata["provider"] = provider
    await update_user(conn, user["id"], app_metadata=app_metadata, **changes)


async def permanent(conn: Connection, claims: dict[str, Any]) -> dict[str, Any]:
    """What makes an anonymous user who links an identity permanent (same id): the identity's email
    too, when the provider verified it and nobody else has it."""
    values: dict[str, Any] = {"is_anonymous": False}
    email = verified_email(claims)
    if email and await find_by_email(conn, email) is None:
        values.update(email=email, email_confirmed_at=utcnow())
    return values


async def linked_user(conn: Connection, user_id: uuid.UUID, provider: str, claims: dict[str, Any]) -> uuid.UUID:
    existing = await identity_of(conn, provider, claims["sub"])
    if existing is not None and existing["user_id"] != user_id:
        raise ApiError(ErrorCode.identity_already_exists)
    user = await get_user(conn, user_id)
    if user is None:
        raise ApiError(ErrorCode.user_not_found)
    changes = await permanent(conn, claims) if user["is_anonymous"] else {}
    if existing is None:
        await attach_identity(conn, user, provider, claims, **changes)
    elif changes:
        await update_user(conn, user_id, **changes)
    return user_id


async def signed_in_user(conn: Connection, config: Config, provider: str, claims: dict[str, Any]) -> uuid.UUID:
    """The identity's user; else the user whose address the provider verified; else a new user."""
    existing = await identity_of(conn, provider, claims["sub"])
    if existing is not None:
        await conn.execute(
            update(identities)
            .where(identities.c.id == existing["id"])
            .values(identity_data=identity_data(claims), last_sign_in_at=utcnow(), updated_at=utcnow())
        )
        return existing["user_id"]
    email = (claims.get("email") or "").strip().lower() or None
    owner = await find_by_email(conn, email) if email else None
    if owner is not None:
        if verified_email(claims) is None:
            raise ApiError(ErrorCode.provider_email_needs_verification)
        if owner["email_confirmed_at"] is None:
            await claim_unconfirmed(conn, owner, provider, claims)
        else:
            await attach_identity(conn, owner, provider, claims)
        return owner["id"]
    if not config.signup_enabled:
        raise ApiError(ErrorCode.signup_disabled)
    return await new_user(conn, provider, claims, email)


async def claim_unconfirmed(conn: Connection, user: RowMapping, provider: str, claims: dict[str, Any]) -> None:
    """The provider verified the address of an account nobody confirmed: its owner signs in now, and what
    was set before (a password, other identities, pending codes, metadata, sessions) came from whoever
    typed the address, maybe to take the account over later (GoTrue's RemoveUnconfirmedIdentities)."""
    await conn.execute(delete(identities).where(identities.c.user_id == user["id"]))
    await conn.execute(delete(one_time_tokens).where(one_time_tokens.c.user_id == user["id"]))
    await end_sessions_of_user(conn, user["id"])
    await insert_identity(conn, user["id"], provider, claims)
    app_metadata = {**user["app_metadata"], "provider": provider, "providers": [provider]}
    await update_user(
        conn,
        user["id"],
        encrypted_password=None,
        email_confirmed_at=utcnow(),
        user_metadata=identity_data(claims),
        app_metadata=app_metadata,
    )


async def new_user(conn: Connection, provider: str, claims: dict[str, Any], email: str | None) -> uuid.UUID:
    metadata = {"provider": provider, "providers": [provider]}
    user = await create_user(conn, user_metadata=identity_data(claims), app_metadata=metadata)
    confirmed = utcnow() if verified_email(claims) else None
    await update_user(conn, user["id"], email=email, email_confirmed_at=confirmed)
    await insert_identity(conn, user["id"], provider, claims)
    return user["id"]


# --- back to the site --------------------------------------------------------------------------------


def site_redirect(redirect_to: str, values: dict[str, Any], *, in_fragment: bool) -> str:
    """`redirect_to` carrying `values`: in the fragment (implicit flow, never sent to a server) or the query."""
    parts = urlsplit(redirect_to)
    encoded = urlencode({key: str(value) for key, value in values.items()})
    if in_fragment:
        return urlunsplit(parts._replace(fragment=encoded))
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit(parts._replace(query=query))


def error_values(error: ApiError) -> dict[str, str]:
    kind = "server_error" if error.status >= 500 else "invalid_request"
    return {"error": kind, "error_code": str(error.code), "error_description": error.message}


def session_values(session: dict[str, Any]) -> dict[str, Any]:
    keys = ("access_token", "expires_at", "expires_in", "refresh_token", "token_type")
    return {key: session[key] for key in keys if key in session}
