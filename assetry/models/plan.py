"""The posting plan: a generated asset placed on the day and hour the creator means to post it."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field


class PlanSlot(SQLModel, table=True):
    """One planned post: what (a generation), when (an hour, stored in UTC) and its reminder.

    A generation deleted after it was planned leaves the slot in place (`generation_id` NULL)
    with `what` still saying what it was, so the creator sees why it sends no reminder.
    """

    __tablename__ = "plan_slots"
    __table_args__ = (
        sa.Index("ix_plan_slots_user_planned", "user_id", "planned_at"),
        # The reminder job's scan: slots whose hour came and that were not reminded yet.
        sa.Index("ix_plan_slots_due", "planned_at", postgresql_where=sa.text("reminded_at IS NULL")),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    generation_id: uuid.UUID | None = Field(
        default=None, foreign_key="generations.id", ondelete="SET NULL", index=True
    )
    # What was planned, in words, kept when the generation goes: "Video: latte art at dawn".
    what: str = Field(max_length=200)
    planned_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # When the reminder went out (email queued, shown in the app); None until the hour comes.
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the creator dismissed the in-app reminder.
    reminder_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_field()
