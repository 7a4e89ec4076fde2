"""Durable background jobs: one row per unit of work that outlives a request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field, utcnow

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


class Job(SQLModel, table=True):
    """A unit of background work; any worker may claim it once due, under a lease."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_due", "status", "run_after"),
        sa.Index("ix_jobs_status_created", "status", "created_at"),
        sa.Index("ix_jobs_kind_created", "kind", "created_at"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = owner_field(nullable=True)
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: str = Field(default=QUEUED, max_length=16)
    attempts: int = 0
    max_attempts: int = 5
    run_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    worker_id: str = Field(default="", max_length=64)
    # Bound on the whole job: past it the job fails instead of running on forever.
    deadline_at: datetime = Field(sa_type=UTCDateTime)
    cancel_requested: bool = False
    # Live progress the page shows (phase, queue position, ...); free-form, small.
    progress: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    # A message the user can act on; the technical detail goes to the log with the job id.
    error: str = Field(default="", max_length=2000)
    # Same key, same job: a second click on Generate finds the first job.
    dedupe_key: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = created_field()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
