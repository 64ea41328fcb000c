"""Users and their identities: storage queries and the user object of the wire format."""

from __future__ import annotations

import functools
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import idna
from sqlalchemy import RowMapping, Update, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from guestpass.reference.clock import as_utc, iso, utcnow
from guestpass.reference.errors import ApiError, ErrorCode
from guestpass.reference.storage.db import Connection
from guestpass.reference.storage.schema import identities, mfa_factors, users

AUDIENCE = "authenticated"
MAX_ADDRESS_LENGTH = 255

# Built once: SQLAlchemy then derives each one's cache key once, not on every execution.
USER_BY_ID = select(users).where(users.c.id == bindparam("user_id"))
USER_BY_EMAIL = select(users).where(users.c.email == bindparam("email"))
IDENTITIES_OF = select(identities).where(identities.c.user_id == bindparam("user_id")).order_by(identities.c.created_at)
FACTORS_OF = select(mfa_factors).where(mfa_factors.c.user_id == bindparam("user_id")).order_by(mfa_factors.c.created_at)
USER_INSERT = insert(users).returning(*users.c)
IDENTITY_INSERT = insert(identities)


def mailbox(address: str) -> str:
    """The one spelling of a mailbox, so that no two spellings get two accounts: the local part in NFC
    (RFC 6532 §3.1) and lowercase, the domain as lowercase ASCII, a Unicode domain in punycode by IDNA
    2008 with the UTS 46 mapping (RFC 5891). 400 validation_failed for a domain IDNA refuses; the rest
    of the format is checked where the address is read."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    local = unicodedata.normalize("NFC", unicodedata.normalize("NFC", local).lower())
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True, transitional=False).decode()
        except idna.IDNAError:
            raise ApiError(ErrorCode.validation_failed, "Unable to validate email address: invalid domain") from None
    canonical = f"{local}@{domain.lower()}"
    if len(canonical) > MAX_ADDRESS_LENGTH:
        raise ApiError(ErrorCode.validation_failed, "An email address is too long")
    return canonical


def stored_form(address: str) -> str:
    """`mailbox`, or the address as given when it has no valid spelling (then it matches nothing)."""
    try:
        return mailbox(address)
    except ApiError:
        return address


async def get_user(conn: Connection, user_id: uuid.UUID) -> RowMapping | None:
    return (await conn.execute(USER_BY_ID, {"user_id": user_id})).mappings().first()


async def find_by_email(conn: Connection, email: str) -> RowMapping | None:
    return (await conn.execute(USER_BY_EMAIL, {"email": stored_form(email)})).mappings().first()


async def create_user(
    conn: Connection,
    *,
    email: str | None = None,
    encrypted_password: str | None = None,
    user_metadata: dict[str, Any] | None = None,
    app_metadata: dict[str, Any] | None = None,
    confirmed: bool = False,
    anonymous: bool = False,
) -> RowMapping:
    """Inserts the user (and its email identity); 422 user_already_exists if the email is taken."""
    email = stored_form(email) if email is not None else None
    values = new_user_row(
        email=email,
        encrypted_password=encrypted_password,
        user_metadata=user_metadata,
        app_metadata=app_metadata,
        confirmed=confirmed,
        anonymous=anonymous,
        now=utcnow(),
    )
    user_id = values["id"]
    if email is None:  # nothing unique to collide with
        return (await conn.execute(USER_INSERT, values)).mappings().one()
    try:
        async with conn.begin_nested():
            user = (await conn.execute(USER_INSERT, values)).mappings().one()
            await add_email_identity(conn, user_id, email, verified=confirmed)
    except IntegrityError:
        raise ApiError(ErrorCode.user_already_exists) from None
    return user


def new_user_row(
    *,
    email: str | None = None,
    encrypted_password: str | None = None,
    user_metadata: dict[str, Any] | None = None,
    app_metadata: dict[str, Any] | None = None,
    confirmed: bool = False,
    anonymous: bool = False,
    now: datetime,
    signed_in: bool = False,
) -> dict[str, Any]:
    """A users row, every column set; `signed_in`: it signs in at `now` too."""
    providers = ["anonymous"] if anonymous else ["email"]
    return {
        "id": uuid.uuid4(),
        "aud": AUDIENCE,
        "role": AUDIENCE,
        "email": email,
        "phone": None,
        "encrypted_password": encrypted_password,
        "email_confirmed_at": now if confirmed else None,
        "email_change": None,
        "banned_until": None,
        "invited_at": None,
        "last_sign_in_at": now if signed_in else None,
        "last_active_at": now,
        "is_anonymous": anonymous,
        "app_metadata": {**_provider_metadata(providers), **(app_metadata or {})},
        "user_metadata": user_metadata or {},
        "created_at": now,
        "updated_at": now,
    }


def _provider_metadata(providers: list[str]) -> dict[str, Any]:
    return {"provider": providers[0], "providers": providers}


async def add_email_identity(conn: Connection, user_id: uuid.UUID, email: str, *, verified: bool = True) -> None:
    """The email identity; its email_verified says whether the address is confirmed (GoTrue: false until
    the confirmation mail is used)."""
    now = utcnow()
    await conn.execute(
        IDENTITY_INSERT,
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "provider": "email",
            "provider_id": str(user_id),
            "identity_data": {"sub": str(user_id), "email": email, "email_verified": verified, "phone_verified": False},
            "last_sign_in_at": now,
            "created_at": now,
            "updated_at": now,
        },
    )


async def confirm_email(conn: Connection, user_id: uuid.UUID) -> RowMapping:
    """The address is confirmed now, and the email identity says so (GoTrue's verify.go signupVerify)."""
    user = await update_user(conn, user_id, email_confirmed_at=utcnow())
    found = select(identities).where(identities.c.user_id == user_id, identities.c.provider == "email")
    for identity in (await conn.execute(found)).mappings().all():
        await conn.execute(
            update(identities)
            .where(identities.c.id == identity["id"])
            .values(identity_data={**identity["identity_data"], "email_verified": True}, updated_at=utcnow())
        )
    return user


async def update_user(conn: Connection, user_id: uuid.UUID, **values: Any) -> RowMapping:
    for key in ("email", "email_change"):
        if values.get(key):
            values[key] = stored_form(values[key])
    values["updated_at"] = utcnow()
    statement = user_update(frozenset(values))
    parameters = {"user_id": user_id, **{f"new_{name}": value for name, value in values.items()}}
    return (await conn.execute(statement, parameters)).mappings().first()  # type: ignore[return-value]


@functools.cache
def user_update(columns: frozenset[str]) -> Update:
    """The UPDATE of these columns of one user, returning the row; its values are bound as `new_<column>`."""
    new_values = {name: bindparam(f"new_{name}", type_=users.c[name].type) for name in sorted(columns)}
    return update(users).where(users.c.id == bindparam("user_id")).values(new_values).returning(*users.c)


async def delete_user(conn: Connection, user_id: uuid.UUID) -> bool:
    """Deletes the user; sessions, refresh tokens, identities and owned rows cascade with it."""
    return (await conn.execute(delete(users).where(users.c.id == user_id))).rowcount == 1


async def set_email(conn: Connection, user: RowMapping, email: str) -> RowMapping:
    """Makes `email` the user's confirmed address, in place: same id, an email identity, permanent.
    422 email_exists if the address is taken."""
    email = stored_form(email)
    if await find_by_email(conn, email) is not None:
        raise ApiError(ErrorCode.email_exists)
    try:
        async with conn.begin_nested():
            changed = await update_user(
                conn,
                user["id"],
                email=email,
                email_change=None,
                email_confirmed_at=utcnow(),
                is_anonymous=False,
                app_metadata={**user["app_metadata"], **_provider_metadata(["email"])},
            )
            await conn.execute(
                delete(identities).where(identities.c.user_id == user["id"], identities.c.provider == "email")
            )
            await add_email_identity(conn, user["id"], email)
    except IntegrityError:
        raise ApiError(ErrorCode.email_exists) from None
    return changed


def is_banned(user: RowMapping) -> bool:
    return user["banned_until"] is not None and as_utc(user["banned_until"]) > utcnow()


def refuse_banned(user: RowMapping | None, *, status: int = 400) -> None:
    """GoTrue's answer to a banned user: 400 at sign-in and refresh, 403 for a token already held."""
    if user is not None and is_banned(user):
        raise ApiError(ErrorCode.user_banned, status=status)


def merged_metadata(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """GoTrue's `data` semantics: keys are set, a null value removes the key."""
    merged = {**current, **changes}
    return {key: value for key, value in merged.items() if value is not None}


async def user_json(conn: Connection, user: RowMapping) -> dict[str, Any]:
    return user_body(user, *await owned_rows(conn, user))


async def owned_rows(conn: Connection, user: RowMapping) -> tuple[list[RowMapping], list[RowMapping]]:
    """The rows the wire user lists: its identities and (unless anonymous) its factors."""
    factors = [] if user["is_anonymous"] else await factors_of(conn, user["id"])
    return await identities_of(conn, user), factors


def user_body(
    user: Mapping[str, Any], identity_rows: Sequence[Mapping[str, Any]], factor_rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The wire user, from its row and the rows of its identities and factors."""
    body: dict[str, Any] = {
        "id": str(user["id"]),
        "aud": user["aud"],
        "role": user["role"],
        "email": user["email"] or "",
        "phone": user["phone"] or "",
        "app_metadata": user["app_metadata"],
        "user_metadata": user["user_metadata"],
        "identities": [identity_json(row) for row in identity_rows],
        "created_at": iso(user["created_at"]),
        "updated_at": iso(user["updated_at"]),
        "is_anonymous": user["is_anonymous"],
    }
    optional = {
        "email_confirmed_at": iso(user["email_confirmed_at"]),
        "confirmed_at": iso(user["email_confirmed_at"]),
        "last_sign_in_at": iso(user["last_sign_in_at"]),
        "invited_at": iso(user["invited_at"]),
        "banned_until": iso(user["banned_until"]),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if user["email_change"]:
        body["new_email"] = user["email_change"]
    if factor_rows:
        body["factors"] = [factor_json(row) for row in factor_rows]
    return body


async def identities_of(conn: Connection, user: RowMapping) -> list[RowMapping]:
    """The user's identities; an anonymous user has none (an identity, like a factor, makes it permanent)."""
    if user["is_anonymous"]:
        return []
    return list((await conn.execute(IDENTITIES_OF, {"user_id": user["id"]})).mappings().all())


async def factors_of(conn: Connection, user_id: uuid.UUID) -> list[RowMapping]:
    return list((await conn.execute(FACTORS_OF, {"user_id": user_id})).mappings().all())


def factor_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "friendly_name": row["friendly_name"] or "",
        "factor_type": row["factor_type"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def identity_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "identity_id": str(row["id"]),
        "id": row["provider_id"],
        "user_id": str(row["user_id"]),
        "identity_data": row["identity_data"],
        "provider": row["provider"],
        "email": row["identity_data"].get("email", ""),
        "last_sign_in_at": iso(row["last_sign_in_at"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }
