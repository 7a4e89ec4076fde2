"""Runs of background work a page shows: an export, a sync, a round of invitations.

Each row owns its status and progress (the job engine's tables are never read by a page).
One status machine for every run and for a generation:
queued → running → succeeded | failed; queued | running → cancelling → cancelled.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field

QUEUED, RUNNING, CANCELLING = "queued", "running", "cancelling"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING, CANCELLING)
ENDED = (SUCCEEDED, FAILED, CANCELLED)


class DataExport(SQLModel, table=True):
    """A user's request for a copy of their data, and its ZIP archive while it is kept."""

    __tablename__ = "data_exports"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    status: str = Field(default=QUEUED, max_length=16)
    phase: str = Field(default="", max_length=64)
    percent: int = 0
    error: str = Field(default="", max_length=2000)
    size_bytes: int = Field(default=0, sa_type=sa.BigInteger)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archive_deleted: bool = False
    created_at: datetime = created_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SyncRun(SQLModel, table=True):
    """One sync of one connected account; a first sync's cursor lets a rerun resume."""

    __tablename__ = "sync_runs"
    __table_args__ = (sa.Index("ix_sync_runs_account_status", "account_id", "status"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    account_id: uuid.UUID = Field(foreign_key="connected_accounts.id", ondelete="CASCADE")
    status: str = Field(default=QUEUED, max_length=16)
    cursor: str | None = Field(default=None, max_length=512)
    posts: int = 0
    error: str = Field(default="", max_length=2000)
    created_at: datetime = created_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InvitationRound(SQLModel, table=True):
    """An admin's "invite everyone waiting": how many of how many were sent."""

    __tablename__ = "invitation_rounds"

    id: uuid.UUID = id_field()
    status: str = Field(default=QUEUED, max_length=16)
    query: str = Field(default="", max_length=320)
    joined_by: datetime = Field(sa_type=UTCDateTime)
    sent: int = 0
    total: int = 0
    error: str = Field(default="", max_length=2000)
    created_at: datetime = created_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
