"""What the service records about use: usage events and their daily rollups (90 days), the audit log."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import created_field, id_field, owner_field


class UsageEvent(SQLModel, table=True):
    """A page view, a feature used, or an error: the technical and usage data the policy names."""

    __tablename__ = "usage_events"
    __table_args__ = (sa.Index("ix_usage_events_created_user", "created_at", "user_id"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = owner_field(nullable=True)
    kind: str = Field(max_length=16, index=True)  # page_view | feature | error
    name: str = Field(max_length=200)  # route, feature name or error id
    ip: str = Field(default="", max_length=64)
    browser: str = Field(default="", max_length=64)
    device: str = Field(default="", max_length=32)
    os: str = Field(default="", max_length=64)
    referrer: str = Field(default="", max_length=512)
    detail: str = Field(default="", max_length=2000)
    created_at: datetime = created_field()


class ActiveDay(SQLModel, table=True):
    """A UTC day on which a user had usage tied to their account: one row per user and day.

    Kept in step with usage events by `services.usage.record`, for as long as they are (90 days).
    """

    __tablename__ = "active_days"
    __table_args__ = (sa.UniqueConstraint("day", "user_id"),)

    id: uuid.UUID = id_field()
    day: date
    user_id: uuid.UUID = owner_field()


class DailyActiveCount(SQLModel, table=True):
    """Counts of users for one UTC day, kept by `services.usage` (numbers only, naming nobody)."""

    __tablename__ = "daily_active_users"

    day: date = Field(primary_key=True)
    users: int = 0  # active that day: the rows of `active_days` for it
    last_seen: int = 0  # whose `users.last_seen_at` falls on it: summed from a day on, active since then


class AuditEntry(SQLModel, table=True):
    """Who did what to whom; written by the service, never edited."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_target_created", "target", "created_at"),
        sa.Index("ix_audit_log_actor_created", "actor_id", "created_at"),
    )

    id: uuid.UUID = id_field()
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: str = Field(max_length=64, index=True)
    target: str = Field(default="", max_length=200)
    detail: str = Field(default="", max_length=2000)
    created_at: datetime = created_field()
