"""Column types and helpers shared by every table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored as UTC and always read back in UTC (Postgres answers in the session's zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def id_field() -> uuid.UUID:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_field() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)


def owner_field(*, nullable: bool = False) -> uuid.UUID:
    """The `user_id` column that marks a table as user-owned (RLS policies key on it)."""
    return Field(
        default=None if nullable else ...,
        foreign_key="users.id",
        ondelete="CASCADE",
        index=True,
        nullable=nullable,
    )
