"""Defects of PKCE for mailed links: the link's code, its exchange, and what the exchange keeps."""

from __future__ import annotations

from typing import Any

import pytest
from catalogue import defect, patch_source
from oauth_defects import patch_pkce_grant
from sqlalchemy import delete, select

from guestpass.reference import mail_pkce, oauth
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.flows import otp, recover, signup, user, verify
from guestpass.reference.sessions import hash_token
from guestpass.reference.storage.schema import flow_states, items

PKCE = ("mail-pkce",)
CHALLENGE_READERS = (signup, otp, recover, user)


def replace_challenge_of(mp: pytest.MonkeyPatch, change: Any) -> None:
    """Every handler reads the challenge through its own imported name."""
    for module in CHALLENGE_READERS:
        mp.setattr(module, "challenge_of", change)


@defect(*PKCE, source="the mailer builds the link from the bare token hash, without GoTrue's pkce_ prefix")
def mail_pkce_link_without_prefix(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mail_pkce, "link_token", lambda token_hash, pkce: token_hash)


@defect(*PKCE, source="the pkce grant reads the code_verifier of a mail flow and never compares it")
def mail_pkce_verifier_ignored(mp: pytest.MonkeyPatch) -> None:
    verifier_check = 'if not hmac.compare_digest(s256(verifier), flow["code_challenge"]):'
    patch_pkce_grant(mp, lambda code: code.replace(verifier_check, "if False:"))


@defect(*PKCE, source="the flow state is read at the exchange but never destroyed: the link's code buys many sessions")
def mail_pkce_code_reusable(mp: pytest.MonkeyPatch) -> None:
    async def take_auth_code(conn: Any, auth_code: str) -> Any:
        statement = select(flow_states).where(
            flow_states.c.auth_code_hash == hash_token(auth_code), flow_states.c.stage == oauth.CODE
        )
        flow = (await conn.execute(statement)).mappings().first()
        if flow is None:
            raise ApiError(ErrorCode.flow_state_not_found)
        return flow

    mp.setattr(oauth, "take_auth_code", take_auth_code)


@defect(*PKCE, source="the flow state's lifetime is stored but the exchange never compares it")
def mail_pkce_expiry_ignored(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(oauth, "expired", lambda flow: False)


@defect(*PKCE, source="the pkce grant issues the session of a mailed link without the merge step")
def mail_pkce_exchange_skips_merge(mp: pytest.MonkeyPatch) -> None:
    patch_pkce_grant(mp, lambda code: code.replace("complete_sign_in(request, body,", "complete_sign_in(request, {},"))


@defect(*PKCE, source="the exchange stamps every session 'oauth', whatever the mailed flow was")
def mail_pkce_amr_always_oauth(mp: pytest.MonkeyPatch) -> None:
    patch_pkce_grant(
        mp, lambda code: code.replace('flow["authentication_method"] or oauth.AMR_METHOD', "oauth.AMR_METHOD")
    )


@defect(*PKCE, source="a confirmed PKCE email change starts the converted account afresh, dropping the guest's rows")
def mail_pkce_conversion_drops_rows(mp: pytest.MonkeyPatch) -> None:
    original = verify.issue_code

    async def issue_code(conn: Any, config: Any, user_id: Any, link_type: str) -> str:
        if link_type == "email_change":
            await conn.execute(delete(items).where(items.c.user_id == user_id))
        return await original(conn, config, user_id, link_type)

    mp.setattr(verify, "issue_code", issue_code)


@defect(*PKCE, source="POST /verify looks the token_hash up as sent, pkce_ prefix included, and finds no code")
def mail_pkce_prefixed_token_hash_refused(mp: pytest.MonkeyPatch) -> None:
    patch_source(
        mp, verify, "token_hash_of", lambda code: code.replace("split_token(token_hash.strip())[0]", "token_hash")
    )


@defect(*PKCE, source="a code_challenge without its method is taken for the implicit flow instead of refused")
def mail_pkce_challenge_without_method_ignored(mp: pytest.MonkeyPatch) -> None:
    original = mail_pkce.challenge_of

    def challenge_of(body: dict[str, Any]) -> str | None:
        return original(body) if body.get("code_challenge_method") else None

    replace_challenge_of(mp, challenge_of)


@defect(*PKCE, source="code_challenge_method plain accepted (GoTrue's flow_state.go): the challenge is the verifier")
def mail_pkce_plain_accepted(mp: pytest.MonkeyPatch) -> None:
    original = mail_pkce.challenge_of

    def challenge_of(body: dict[str, Any]) -> str | None:
        if str(body.get("code_challenge_method", "")).lower() == "plain":
            return body.get("code_challenge")
        return original(body)

    replace_challenge_of(mp, challenge_of)
