"""UTC time and its wire format."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC."""
    if moment is None:
        return None
    return as_utc(moment).astimezone(UTC).isoformat().replace("+00:00", "Z")
