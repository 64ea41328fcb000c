"""Defects of OAuth sign-in and identity linking: state, nonce, audience, PKCE, redirects, linking."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from catalogue import AppWrapper, defect, is_request, patch_source, rewrite_responses
from sqlalchemy import select, update
from starlette.types import Scope

from guestpass.reference import oauth, oidc
from guestpass.reference.flows import external, identities, token
from guestpass.reference.storage.schema import flow_states


def patch_pkce_grant(mp: pytest.MonkeyPatch, change: Callable[[str], str]) -> None:
    """The grant is reached through token.GRANTS, which must hold the edited function too."""
    patch_source(mp, token, "pkce_grant", change)
    mp.setitem(token.GRANTS, "pkce", token.pkce_grant)


@defect("oauth", source="the ID token's nonce is never compared with the one the sign-in sent")
def oauth_nonce_not_checked(mp: pytest.MonkeyPatch) -> None:
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
    patch_source(mp, identities, "unlink_identity", lambda code: code.replace("if len(owned_ids) <= 1:", "if False:"))


@defect("oauth", source="GET /settings lists only the built-in providers")
def oauth_settings_omit_provider(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if not (is_request(scope, "GET", "/settings") and status == 200):
            return None
        external_providers = {key: value for key, value in body["external"].items() if key in ("email", "phone")}
        return 200, {**body, "external": {**external_providers, "anonymous_users": True}}

    return rewrite_responses(rewrite)
