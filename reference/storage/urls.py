"""Database URLs as users write them, read for the drivers."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def ssl_mode(url: str) -> tuple[str, str | None]:
    """The URL without its TLS mode, and the mode: libpq's `sslmode` (disable, allow, prefer, require,
    verify-ca, verify-full) or SQLAlchemy's asyncpg `ssl` with the same values; None leaves asyncpg's
    default (prefer)."""
    parsed = make_url(url)
    mode = parsed.query.get("sslmode") or parsed.query.get("ssl")
    if isinstance(mode, tuple):
        raise ValueError(f"more than one TLS mode in the database URL: {mode}")
    return parsed.difference_update_query(["sslmode", "ssl"]).render_as_string(hide_password=False), mode


def shown(url: str) -> str:
    """The URL as messages show it: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def database_reason(error: Exception) -> str:
    """The first line of what a database error says, in its driver's words where it has them."""
    return str(getattr(error, "orig", None) or error).splitlines()[0]
