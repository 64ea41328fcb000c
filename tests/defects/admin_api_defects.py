"""Defects of the admin API (admin keys, users, invitations, a user's factors and passkeys), of bans,
of the settings' field set and of the manual linking switch."""

from __future__ import annotations

from typing import Any

import pytest
from catalogue import AppWrapper, defect, is_request, patch_source, rewrite_responses
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from guestpass.reference import auth, onetime, sessions, signin, tokens, users
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import admin, admin_users, identities, invite, verify
from guestpass.reference.storage.schema import one_time_tokens


async def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def _is_admin_path(scope: Scope, method: str, *parts: str) -> bool:
    path = scope["path"]
    return scope["method"] == method and "/admin/users/" in path and all(part in path for part in parts)


# --- admin keys --------------------------------------------------------------------------------------


@defect("admin", source="admin keys held to the user-token rules: Supabase's keys without exp are refused")
def admin_key_needs_expiry(mp: pytest.MonkeyPatch) -> None:
    original = tokens.verify_admin_key

    def strict(key: Any, token: str) -> dict[str, Any]:
        claims = original(key, token)
        if "exp" not in claims or "iss" not in claims:
            raise ApiError(ErrorCode.bad_jwt, "invalid JWT: token is missing the exp or iss claim")
        return claims

    mp.setattr(tokens, "verify_admin_key", strict)


@defect("admin", source="only service_role is an admin role; supabase_admin (GoTrue's JWT_ADMIN_ROLES) is refused")
def admin_roles_service_role_only(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(Config, "admin_role_names", property(lambda self: frozenset({"service_role"})))


@defect("admin", source="an admin key's exp is not checked: a leaked, expired key keeps working")
def admin_key_expiry_ignored(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        tokens,
        "verify_admin_key",
        lambda code: code.replace('"verify_iss": False}', '"verify_iss": False, "verify_exp": False}'),
    )


@defect("admin", source="an admin key's signature is not verified, only its role read")
def admin_key_signature_unchecked(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        tokens,
        "verify_admin_key",
        lambda code: code.replace('"verify_iss": False}', '"verify_iss": False, "verify_signature": False}'),
    )


@defect("admin", source="the user list trusts any valid JWT, not only an admin role")
def admin_list_any_jwt(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(admin_users, "require_service_role", auth.bearer_claims)


# --- listing, reading and updating users -------------------------------------------------------------


@defect("admin", source="per_page is ignored: every user comes back on one page")
def admin_list_ignores_per_page(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, admin_users, "list_users", lambda code: code.replace(".limit(per_page).offset(", ".offset("))


@defect("admin", source="X-Total-Count counts the page, not the matching users")
def admin_list_counts_page(mp: pytest.MonkeyPatch) -> None:
    original = admin_users.pagination_headers

    def headers(request: Any, page: int, per_page: int, total: int) -> dict[str, str]:
        return original(request, page, per_page, min(total, per_page))

    mp.setattr(admin_users, "pagination_headers", headers)


@defect("admin", source="the Link header names only the last page, never the next one")
def admin_list_no_next_link(mp: pytest.MonkeyPatch) -> None:
    original = admin_users.pagination_headers

    def headers(request: Any, page: int, per_page: int, total: int) -> dict[str, str]:
        found = original(request, page, per_page, total)
        return {**found, "Link": found["Link"].split(", ")[-1]}

    mp.setattr(admin_users, "pagination_headers", headers)


@defect("admin", source="a missing user crashes the admin read (500) instead of 404 user_not_found")
def admin_missing_user_crashes(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: dict[str, Any] | None) -> tuple[int, Any] | None:
        if _is_admin_path(scope, "GET") and status == 404:
            return 500, {"code": 500, "error_code": "unexpected_failure", "msg": "Unexpected failure"}
        return None

    return rewrite_responses(rewrite)


@defect("admin", source="PUT /admin/users/{id} answers 200 but drops the password")
def admin_update_ignores_password(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, admin_users, "update", lambda code: code.replace('changes["encrypted_password"] = encrypted', "pass")
    )


@defect("admin", source="metadata replaced wholesale instead of merged key by key (and nulls stored)")
def admin_metadata_replaced(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(admin_users, "merged_metadata", lambda current, changes: changes)


@defect("admin", source="email_confirm is read at creation only, ignored by an update")
def admin_update_ignores_confirm(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        admin_users,
        "update",
        lambda code: code.replace('changes["email_confirmed_at"] = utcnow()', "pass"),
    )


@defect("admin", source="an admin email change updates the identity but not the user's address")
def admin_email_change_not_saved(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, admin_users, "change_email", lambda code: code.replace('{"email": email, "app_metadata"', '{"app_metadata"')
    )


# --- bans --------------------------------------------------------------------------------------------


@defect("admin", source="a ban is stored but the password grant never looks at it")
def ban_ignored_at_sign_in(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(signin, "refuse_banned", lambda user, status=400: None)


@defect("admin", source="a banned user keeps refreshing: the refresh grant never looks at the ban")
def ban_ignored_at_refresh(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(sessions, "refuse_banned_holder", _nothing)


@defect("admin", source="access tokens issued before a ban keep working until they expire")
def ban_ignored_for_tokens(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(auth, "refuse_banned", lambda user, status=400: None)


@defect("admin", source='ban_duration "none" is skipped as empty: a ban can never be lifted')
def ban_cannot_be_lifted(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, admin_users, "update", lambda code: code.replace("        if ban:\n", "        if banned_until:\n")
    )


@defect("admin", source="an unparsable ban_duration is taken as no ban, and the rest of the update applied")
def ban_duration_unchecked(mp: pytest.MonkeyPatch) -> None:
    original = admin_users.ban_end
    mp.setattr(admin_users, "ban_end", lambda value: original(value) if admin_users.DURATION.fullmatch(value) else None)


# --- invitations and links ---------------------------------------------------------------------------


@defect("admin", source="the invited user is created but no invitation is mailed")
def invite_not_mailed(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(invite, "send_code", _nothing)


@defect("admin", source="a confirmed user can be invited again (a fresh code for a taken account)")
def invite_confirmed_user(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp,
        invite,
        "invite",
        lambda code: code.replace('user is not None and user["email_confirmed_at"] is not None', "False"),
    )


@defect("admin", source="generate_link answers email_change for both email-change types (supabase-py rejects it)")
def generate_link_email_change_type(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: dict[str, Any] | None) -> tuple[int, Any] | None:
        if is_request(scope, "POST", "/admin/generate_link") and body and "verification_type" in body:
            kind = body["verification_type"]
            return status, {**body, "verification_type": "email_change" if kind.startswith("email_change") else kind}
        return None

    return rewrite_responses(rewrite)


# --- settings ----------------------------------------------------------------------------------------


@defect("core", source="settings without GoTrue's newer fields (passkeys_enabled, saml_private_key_next_configured)")
def settings_lack_newer_fields(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: dict[str, Any] | None) -> tuple[int, Any] | None:
        if is_request(scope, "GET", "/settings") and isinstance(body, dict):
            dropped = ("passkeys_enabled", "saml_private_key_next_configured")
            return status, {key: value for key, value in body.items() if key not in dropped}
        return None

    return rewrite_responses(rewrite)


# --- a user's factors and passkeys -------------------------------------------------------------------


@defect("mfa-totp", source="the admin factor list reads only the factors loaded with the user (none)")
def admin_factors_listed_empty(mp: pytest.MonkeyPatch) -> None:
    async def none(conn: Any, user_id: Any) -> list[Any]:
        return []

    mp.setattr(admin_users, "factors_of", none)


@defect("mfa-totp", source="deleting an absent factor through the admin API reports success")
def admin_absent_factor_deleted(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: dict[str, Any] | None) -> tuple[int, Any] | None:
        if _is_admin_path(scope, "DELETE", "/factors/") and status == 404:
            return 200, {}
        return None

    return rewrite_responses(rewrite)


@defect("passkeys", source="DELETE /admin/users/{id}/passkeys/{id} stubbed: 204 and nothing deleted")
def admin_passkey_delete_stub(mp: pytest.MonkeyPatch) -> AppWrapper:
    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and _is_admin_path(scope, "DELETE", "/passkeys/"):
                await send({"type": "http.response.start", "status": 204, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            await app(scope, receive, send)

        return wrapped

    return wrap


@defect("passkeys", source="the admin passkey delete does not check that the passkey exists")
def admin_absent_passkey_deleted(mp: pytest.MonkeyPatch) -> None:
    patch_source(mp, admin_users, "delete_passkey", lambda code: code.replace("rowcount != 1", "rowcount > 1"))


# --- the manual linking switch -----------------------------------------------------------------------


@defect("oauth", source="GoTrue's SECURITY_MANUAL_LINKING_ENABLED has no effect: linking is always open")
def manual_linking_switch_ignored(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(identities, "require_manual_linking", lambda request: None)


@defect("oauth", source="manual linking refused whatever the switch says")
def manual_linking_always_refused(mp: pytest.MonkeyPatch) -> None:
    def refuse(request: Any) -> None:
        raise ApiError(ErrorCode.manual_linking_disabled)

    mp.setattr(identities, "require_manual_linking", refuse)


# --- accepting an invitation -------------------------------------------------------------------------


@defect("admin", source="POST /invite mails a link that /verify does not know: the invited user cannot get in")
def invite_not_redeemable(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(verify, "VERIFY_TYPES", {k: v for k, v in verify.VERIFY_TYPES.items() if k != "invite"})


@defect("admin", source="an accepted invitation signs the user in but leaves the address unconfirmed")
def invite_accepted_unconfirmed(mp: pytest.MonkeyPatch) -> None:
    original = verify.confirm_email

    async def confirm_email(conn: Any, user_id: Any) -> Any:
        found = await users.get_user(conn, user_id)
        if found is not None and found["invited_at"] is not None:
            return found
        return await original(conn, user_id)

    mp.setattr(verify, "confirm_email", confirm_email)


@defect("admin", source="the invitation code is looked up but not used up: it signs in again and again")
def invite_code_reusable(mp: pytest.MonkeyPatch) -> None:
    original = onetime.consume

    async def consume(conn: Any, token_hash: str, token_types: Any) -> Any:
        kinds = list(token_types)
        if "invite" not in kinds:
            return await original(conn, token_hash, kinds)
        statement = select(one_time_tokens).where(
            one_time_tokens.c.token_hash == onetime._stored(token_hash), one_time_tokens.c.token_type.in_(kinds)
        )
        row = (await conn.execute(statement)).mappings().first()
        if row is None:
            raise ApiError(ErrorCode.otp_expired)
        return row

    mp.setattr(onetime, "consume", consume)


@defect(
    "admin", source="generate_link answers an invite as verification_type signup (as it once did for email changes)"
)
def generate_link_invite_named_signup(mp: pytest.MonkeyPatch) -> AppWrapper:
    def rewrite(scope: Scope, status: int, body: Any) -> tuple[int, Any] | None:
        if (
            is_request(scope, "POST", "/admin/generate_link")
            and status == 200
            and body.get("verification_type") == "invite"
        ):
            return 200, {**body, "verification_type": "signup"}
        return None

    return rewrite_responses(rewrite)


@defect("admin", source="generate_link invites any address, a confirmed account's too (and resets its invitation)")
def generate_link_invites_confirmed_user(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, admin, "link_user", lambda code: code.replace('if user["email_confirmed_at"] is not None:', "if False:")
    )


@defect("admin", source="type signup accepts signup confirmations only, unlike GoTrue's one confirmation token")
def signup_type_refuses_invitation(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(verify, "VERIFY_TYPES", {**verify.VERIFY_TYPES, "signup": ("confirmation",)})
