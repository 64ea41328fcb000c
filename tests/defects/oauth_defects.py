"""Defects of OAuth sign-in and identity linking: state, nonce, audience, PKCE, redirects, linking."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

import jwt
import pytest
from catalogue import AppWrapper, defect, is_request, patch_source, rewrite_responses
from sqlalchemy import RowMapping, delete, select, update
from starlette.requests import Request
from starlette.types import Scope

from guestpass.reference import oauth, oidc
from guestpass.reference.clock import utcnow
from guestpass.reference.flows import external, identities, token
from guestpass.reference.runtime import runtime
from guestpass.reference.sessions import hash_token
from guestpass.reference.storage.schema import flow_states, items
from guestpass.reference.users import get_user


def patch_pkce_grant(mp: pytest.MonkeyPatch, change: Callable[[str], str]) -> None:
    """The grant is reached through token.GRANTS, which must hold the edited function too."""
    patch_source(mp, token, "pkce_grant", change)
    mp.setitem(token.GRANTS, "pkce", token.pkce_grant)


@defect("oauth", source="the ID token's nonce is never compared with the one the sign-in sent")
def oauth_nonce_not_checked(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(oidc, "hmac", types.SimpleNamespace(compare_digest=lambda first, second: True))


@defect("oauth", source="no nonce (OPTIONAL in the code flow): the authorization request sends none, none is compared")
def oauth_nonce_not_sent(mp: pytest.MonkeyPatch) -> None:
    original = oidc.OidcProvider.authorization_url

    def authorization_url(self: oidc.OidcProvider, endpoint: str, **options: Any) -> str:
        url = original(self, endpoint, **options)
        return url.replace(f"&nonce={options['nonce']}", "")

    mp.setattr(oidc.OidcProvider, "authorization_url", authorization_url)
    mp.setattr(oidc, "hmac", types.SimpleNamespace(compare_digest=lambda first, second: True))


@defect("oauth", source="PyJWT called without the client id: any audience's ID token is accepted")
def oauth_audience_not_checked(mp: pytest.MonkeyPatch) -> None:
    original = jwt.decode

    def decode(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "options": {**kwargs.get("options", {}), "verify_aud": False}})

    mp.setattr(jwt, "decode", decode)


@defect("oauth", source="the callback takes the newest open flow, whatever state it carries (login CSRF)")
def oauth_state_not_checked(mp: pytest.MonkeyPatch) -> None:
    async def take_state(conn: Any, state: str) -> Any:
        newest = select(flow_states.c.id).where(flow_states.c.stage == oauth.AUTHORIZE)
        row = (await conn.execute(newest.order_by(flow_states.c.created_at.desc()).limit(1))).first()
        if row is None:
            raise oauth.ApiError(oauth.ErrorCode.bad_oauth_state)
        statement = update(flow_states).where(flow_states.c.id == row.id).values(stage=oauth.CALLBACK)
        return (await conn.execute(statement.returning(*flow_states.c))).mappings().one()

    mp.setattr(oauth, "take_state", take_state)


@defect("oauth", source="the flow state is read but never moved on, so a callback URL works again")
def oauth_callback_replayable(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, oauth, "take_state", lambda code: code.replace(".values(stage=CALLBACK)", ".values(stage=AUTHORIZE)")
    )
    patch_source(mp, oauth, "end_flow", lambda code: code.replace("await conn.execute(", "(lambda statement: None)("))


@defect("oauth", source="the flow's expiry is stored but never compared")
def oauth_flow_expiry_ignored(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(oauth, "expired", lambda flow: False)


@defect("oauth", source="supabase/auth before PKCE verification: the code_verifier is read and ignored")
def oauth_pkce_verifier_ignored(mp: pytest.MonkeyPatch) -> None:
    verifier_check = 'if not hmac.compare_digest(s256(verifier), flow["code_challenge"]):'
    patch_pkce_grant(mp, lambda code: code.replace(verifier_check, "if False:"))


@defect("oauth", source="the auth code is looked up but never deleted: it buys a session every time (RFC 6749 4.1.2)")
def oauth_auth_code_reusable(mp: pytest.MonkeyPatch) -> None:
    async def take_auth_code(conn: Any, auth_code: str) -> RowMapping:
        statement = select(flow_states).where(
            flow_states.c.auth_code_hash == hash_token(auth_code), flow_states.c.stage == oauth.CODE
        )
        flow = (await conn.execute(statement)).mappings().first()
        if flow is None:
            raise oauth.ApiError(oauth.ErrorCode.flow_state_not_found)
        return flow

    mp.setattr(oauth, "take_auth_code", take_auth_code)


@defect("oauth", source="the callback answers the session itself even when the client began with a code_challenge")
def oauth_pkce_session_in_callback(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, external, "completed_flow", lambda code: code.replace('if flow["code_challenge"] is not None:', "if False:")
    )


@defect("oauth", source="the pkce grant issues its session without the merge step")
def oauth_pkce_skips_merge(mp: pytest.MonkeyPatch) -> None:
    patch_pkce_grant(mp, lambda code: code.replace("complete_sign_in(request, body,", "complete_sign_in(request, {},"))


@defect("oauth", source="redirect_to followed wherever it points: the session goes to an attacker's site")
def oauth_redirect_to_not_checked(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(external, "allowed_redirect", lambda config, requested: requested or config.site_url)


@defect("oauth", source="implicit-flow tokens put in the query string, where servers and logs see them")
def oauth_tokens_in_query(mp: pytest.MonkeyPatch) -> None:
    original = oauth.site_redirect

    def site_redirect(redirect_to: str, values: dict[str, Any], *, in_fragment: bool) -> str:
        return original(redirect_to, values, in_fragment=False)

    mp.setattr(oauth, "site_redirect", site_redirect)


@defect("oauth", source="supabase/auth 1525, inverted: linking signs in (or creates) another user instead of upgrading")
def oauth_linking_creates_second_user(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        external,
        "completed_flow",
        lambda code: code.replace('if flow["linking_user_id"] is not None:', "if False:"),
    )


@defect("oauth", source="anonymous rows taken for scratch data: the upgrade by linking deletes them")
def oauth_link_drops_anonymous_rows(mp: pytest.MonkeyPatch) -> None:
    original = oauth.linked_user

    async def linked_user(conn: Any, user_id: Any, provider: str, claims: dict[str, Any]) -> Any:
        user = await get_user(conn, user_id)
        linked = await original(conn, user_id, provider, claims)
        if user is not None and user["is_anonymous"]:
            await conn.execute(delete(items).where(items.c.user_id == user_id))
        return linked

    mp.setattr(oauth, "linked_user", linked_user)


@defect("oauth", source="a refused link falls back to the sign-in merge: the caller's rows go to the identity's owner")
def oauth_refused_link_hands_rows_over(mp: pytest.MonkeyPatch) -> None:
    owners: dict[Any, Any] = {}  # linking user id -> the user the identity belongs to
    original_link, original_flow = oauth.linked_user, external.completed_flow

    async def linked_user(conn: Any, user_id: Any, provider: str, claims: dict[str, Any]) -> Any:
        existing = await oauth.identity_of(conn, provider, claims["sub"])
        if existing is not None and existing["user_id"] != user_id:
            owners[user_id] = existing["user_id"]
        return await original_link(conn, user_id, provider, claims)

    async def completed_flow(request: Request, flow: dict) -> dict[str, str]:
        try:
            return await original_flow(request, flow)
        except oauth.ApiError:
            owner = owners.pop(flow["linking_user_id"], None)
            if owner is not None:
                async with runtime(request).db.transaction() as conn:
                    moved = items.c.user_id == flow["linking_user_id"]
                    await conn.execute(update(items).where(moved).values(user_id=owner))
            raise

    mp.setattr(oauth, "linked_user", linked_user)
    mp.setattr(external, "completed_flow", completed_flow)


@defect("oauth", source="the identity's sub is not looked up: every sign-in through the provider is a sign-up")
def oauth_returning_user_not_found(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        oauth,
        "signed_in_user",
        lambda code: code.replace(
            'existing = await identity_of(conn, provider, claims["sub"])', "existing = None"
        ).replace("owner = await find_by_email(conn, email) if email else None", "owner = None"),
    )


@defect("oauth", source="GoTrue DeleteIdentity without its count: a user unlinks the identity they sign in with")
def oauth_last_identity_deletable(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, identities, "unlink_identity", lambda code: code.replace("if len(owned) <= 1:", "if False:"))


@defect("oauth", source="GET /settings lists only the built-in providers")
def oauth_settings_omit_provider(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if not (is_request(scope, "GET", "/settings") and status == 200):
            return None
        external_providers = {key: value for key, value in body["external"].items() if key in ("email", "phone")}
        return 200, {**body, "external": {**external_providers, "anonymous_users": True}}

    return rewrite_responses(rewrite)


@defect("oauth", source="supabase/auth LinkIdentity: the link's state is bound to the user, not to the browser (CSRF)")
def oauth_link_not_bound_to_browser(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(oauth, "started_here", lambda cookies, state, flow: True)


@defect("oauth", source="PKCE taken for the browser binding: a link begun with a code_challenge completes anywhere")
def oauth_pkce_link_not_bound_to_browser(mp: pytest.MonkeyPatch) -> None:
    original = oauth.started_here

    def started_here(cookies: Mapping[str, str], state: str, flow: RowMapping) -> bool:
        return flow["code_challenge"] is not None or original(cookies, state, flow)

    mp.setattr(oauth, "started_here", started_here)


@defect(
    "oauth",
    "email-confirmation",
    source="pre-account takeover (Sudhodanan & Paverd 2022): the provider confirms the address, the password typed "
    "by whoever signed it up first stays",
)
def oauth_claim_keeps_unconfirmed_password(mp: pytest.MonkeyPatch) -> None:
    async def claim_unconfirmed(conn: Any, user: RowMapping, provider: str, claims: dict[str, Any]) -> None:
        await oauth.attach_identity(conn, user, provider, claims, email_confirmed_at=utcnow())

    mp.setattr(oauth, "claim_unconfirmed", claim_unconfirmed)
