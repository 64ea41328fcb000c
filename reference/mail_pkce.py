"""PKCE for mailed links (GoTrue's flow states of signup, recovery, magic link and email change).

A request that carries a code_challenge opens a flow state in its own transaction; its mail (composed
by the courier after the commit) names the flow, the courier binds the flow to the account it mails and
prefixes the link's token with `pkce_`. Opening such a link (GET /verify) redirects with `?code=` and
never with a session; POST /token?grant_type=pkce exchanges the code, with the verifier, for a session
whose amr method is the flow's authentication method. Codes typed into POST /verify (or the link's
token_hash posted) still answer a session, as GoTrue's do."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from guestpass.reference.clock import utcnow
from guestpass.reference.config import Config
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import flow_states

PREFIX = "pkce_"
MAILED = "mailed"  # the flow's stage until its link is opened; then oauth.CODE, until the exchange
PROVIDER = "email"
# the kind of code mailed -> GoTrue's authentication method of its flow
METHODS = {
    "confirmation": "email/signup",
    "magiclink": "magiclink",
    "recovery": "recovery",
    "email_change_current": "email_change",
    "email_change_new": "email_change",
}
# the type of a /verify link -> the authentication method of its flow (GoTrue's ParseAuthenticationMethod)
LINK_METHODS = {
    "signup": "email/signup",
    "magiclink": "magiclink",
    "recovery": "recovery",
    "email_change": "email_change",
}
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43,128}")
INVALID_PARAMS = "PKCE flow requires code_challenge_method and code_challenge"


def challenge_of(body: dict[str, Any]) -> str | None:
    """The S256 code_challenge of a mail request, or None for the implicit flow; 400 validation_failed
    for one without the other, or a challenge that is not S256 (43 to 128 URL-safe characters)."""
    challenge, method = body.get("code_challenge"), body.get("code_challenge_method")
    if not isinstance(challenge, str | None) or not isinstance(method, str | None):
        raise ApiError(ErrorCode.bad_json, "Could not parse request body as JSON: code_challenge has the wrong type")
    if bool(challenge) != bool(method):
        raise ApiError(ErrorCode.validation_failed, INVALID_PARAMS)
    if not challenge:
        return None
    if method.lower() != "s256" or not CODE_CHALLENGE.fullmatch(challenge):
        raise ApiError(ErrorCode.validation_failed, "code_challenge must be an S256 challenge (43 to 128 characters)")
    return challenge


async def open_mail_flow(
    conn: Connection,
    config: Config,
    token_type: str,
    challenge: str | None,
    redirect_to: str,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """A flow state for the mail about to be queued (None without a challenge). Its user is set by the
    courier when the request does not know the account."""
    if challenge is None:
        return None
    now = utcnow()
    await conn.execute(delete(flow_states).where(flow_states.c.expires_at < now - timedelta(hours=1)))
    flow_id = uuid.uuid4()
    await conn.execute(
        insert(flow_states).values(
            id=flow_id,
            provider=PROVIDER,
            stage=MAILED,
            state_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),  # a mail flow has no OAuth state
            nonce="",
            provider_verifier="",
            redirect_to=redirect_to,
            code_challenge=challenge,
            user_id=user_id,
            authentication_method=METHODS[token_type],
            created_at=now,
            expires_at=now + timedelta(seconds=config.mail_token_ttl + config.oauth_flow_ttl),
        )
    )
    return flow_id


async def bind(conn: Connection, flow_id: uuid.UUID, user_id: uuid.UUID, token_type: str) -> bool:
    """The courier's part: the flow belongs to the account mailed, for the kind of code it gets. False
    when the flow is gone (the link is then an ordinary one)."""
    statement = (
        update(flow_states)
        .where(flow_states.c.id == flow_id, flow_states.c.stage == MAILED)
        .values(user_id=user_id, authentication_method=METHODS[token_type])
    )
    return (await conn.execute(statement)).rowcount == 1


def link_token(token_hash: str, pkce: bool) -> str:
    return PREFIX + token_hash if pkce else token_hash


def split_token(token: str) -> tuple[str, bool]:
    """The token_hash of a link's token, and whether the link was asked for with PKCE."""
    return (token.removeprefix(PREFIX), True) if token.startswith(PREFIX) else (token, False)


async def issue_code(conn: Connection, config: Config, user_id: uuid.UUID, link_type: str) -> str:
    """The auth code of the user's latest mailed flow for this kind of link, whose lifetime starts now;
    400 flow_state_not_found when there is none (GoTrue's issueAuthCode)."""
    from guestpass.reference import oauth  # the courier's modules load before the sessions oauth needs

    method = LINK_METHODS.get(link_type)
    statement = (
        select(flow_states)
        .where(
            flow_states.c.user_id == user_id,
            flow_states.c.stage == MAILED,
            flow_states.c.authentication_method == method,
        )
        .order_by(flow_states.c.created_at.desc())
        .limit(1)
    )
    flow = (await conn.execute(statement)).mappings().first()
    if flow is None:
        raise ApiError(ErrorCode.flow_state_not_found, "No associated flow state found.", status=400)
    return await oauth.issue_auth_code(conn, config, flow, user_id)
