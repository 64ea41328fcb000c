"""The tables. Alembic migrations in `migrations/` must produce exactly this schema."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("aud", String(255), nullable=False),
    Column("role", String(255), nullable=False),
    Column("email", String(255), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("encrypted_password", String(255), nullable=True),
    Column("email_confirmed_at", Timestamp, nullable=True),
    Column("email_change", String(255), nullable=True),
    Column("banned_until", Timestamp, nullable=True),
    Column("invited_at", Timestamp, nullable=True),
    Column("last_sign_in_at", Timestamp, nullable=True),
    Column("last_active_at", Timestamp, nullable=False),
    Column("is_anonymous", Boolean, nullable=False),
    Column("app_metadata", JsonDocument, nullable=False),
    Column("user_metadata", JsonDocument, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("email"),
    Index("ix_users_anonymous_activity", "is_anonymous", "last_active_at"),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("provider", String(64), nullable=False),
    Column("provider_id", String(255), nullable=False),
    Column("identity_data", JsonDocument, nullable=False),
    Column("last_sign_in_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("provider", "provider_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("aal", String(8), nullable=False),
    Column("amr", JsonDocument, nullable=False),
    Column("user_agent", String(512), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("refreshed_at", Timestamp, nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("parent_id", Uuid, nullable=True, index=True),
    Column("revoked", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    # the token itself, sealed with its parent's token (which only its holder has): see sessions.unseal
    Column("sealed", String(128), nullable=True),
)

items = Table(
    "items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("body", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

cli_attempts = Table(
    "cli_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("polling_code_hash", String(64), nullable=False, unique=True),
    Column("login_code_hash", String(64), nullable=False, unique=True),
    Column("anonymous_user_id", Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True),
    # no foreign key: it outlives the session, whose end the claim and the merge must see
    Column("anonymous_session_id", Uuid, nullable=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("state", String(16), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False, index=True),
    Column("last_polled_at", Timestamp, nullable=True),
    Column("completed_at", Timestamp, nullable=True),
    Column("anonymous_claimed_at", Timestamp, nullable=True),
)

mfa_factors = Table(
    "mfa_factors",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("friendly_name", String(255), nullable=True),
    Column("factor_type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("secret", String(64), nullable=False),
    Column("last_used_step", BigInteger, nullable=True),
    Column("webauthn_credential_id", String(1366), nullable=True),
    Column("webauthn_public_key", LargeBinary, nullable=True),
    Column("webauthn_sign_count", BigInteger, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("user_id", "friendly_name"),
)

mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("factor_id", Uuid, ForeignKey("mfa_factors.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("verified_at", Timestamp, nullable=True),
    Column("ip", String(64), nullable=True),
)

# Codes sent by mail (signup confirmation, recovery, magic link, email change). One live token per
# user and type; only a hash of the link's token_hash is stored.
one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_type", String(32), nullable=False),
    Column("relates_to", String(255), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    UniqueConstraint("user_id", "token_type"),
    Index(None, "relates_to"),
)

passkeys = Table(
    "passkeys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("credential_id", String(1366), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("aaguid", String(36), nullable=False),
    Column("backed_up", Boolean, nullable=False),
    Column("friendly_name", String(255), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("last_used_at", Timestamp, nullable=True),
)

# WebAuthn challenges: single use (consumed by one DELETE), bound to their ceremony and, for
# registration, to the user; authentication challenges belong to nobody until a passkey answers.
webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("ceremony", String(16), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("challenge", String(128), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False, index=True),
)

# When mail was last sent to an address (known or not: the limit must not reveal which), by hash.
email_sends = Table(
    "email_sends",
    metadata,
    Column("address_hash", String(64), primary_key=True),
    Column("sent_at", Timestamp, nullable=False),
)

# Mail waiting for the courier: what to send (a code of `kind` to `address`, for `user_id`, or for
# whichever account has the address when the courier gets to it) and when to try next.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("address", String(255), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("redirect_to", Text, nullable=False),
    Column("new_user_metadata", JsonDocument, nullable=True),
    Column("notice_details", JsonDocument, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("locked_until", Timestamp, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("code_issued_at", Timestamp, nullable=True),
    Column("flow_state_id", Uuid, nullable=True),  # a PKCE flow the mail's link belongs to
    Index(None, "next_attempt_at"),
)

# Every table whose rows belong to a user through a `user_id` column: a merge moves their rows, a
# user's deletion takes them along, and a user who owns any is never reaped.
OWNED_TABLES = (items,)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("bucket", String(64), nullable=False),
    Column("client_key", String(255), nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False),
    PrimaryKeyConstraint("bucket", "client_key", "window_start"),
    Index(None, "window_start"),
)

# An OAuth sign-in or identity link in progress: created by /authorize, its state used once by the
# callback; with PKCE it then holds the auth code until POST /token?grant_type=pkce takes it. Only
# hashes of the state and of the auth code are stored. A mailed link asked for with PKCE has one too
# (`authentication_method` set, see mail_pkce.py): its link, once opened, gives the auth code.
flow_states = Table(
    "flow_states",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("state_hash", String(64), nullable=False, unique=True),
    Column("nonce", String(64), nullable=False),
    Column("provider_verifier", String(128), nullable=False),
    Column("redirect_to", String(2048), nullable=False),
    Column("linking_user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("code_challenge", String(128), nullable=True),
    Column("auth_code_hash", String(64), nullable=True, unique=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False, index=True),
    Column("authentication_method", String(32), nullable=True),
)
