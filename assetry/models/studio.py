"""The prompt studio: each generation and what it produced."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field


class Generation(SQLModel, table=True):
    """One prompt sent to one provider, with everything needed to relate it to results later."""

    __tablename__ = "generations"
    __table_args__ = (
        sa.Index("ix_generations_user_created", "user_id", "created_at"),
        sa.UniqueConstraint("user_id", "client_request_id", name="uq_generations_client_request"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    kind: str = Field(max_length=16)  # video | image | caption
    prompt: str = Field(max_length=4000)
    options: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    provider: str = Field(max_length=32)  # offline | fal | gemini | anthropic
    model: str = Field(max_length=128)
    seed: int | None = Field(default=None, sa_type=sa.BigInteger)
    cost_usd: float = 0.0
    status: str = Field(default="queued", max_length=16, index=True)  # see models.runs
    # Where a queued or running generation is: queued | in_queue (at the provider) | running.
    phase: str = Field(default="", max_length=16)
    queue_position: int | None = None
    # The provider's id for a queued request: a restart resumes it instead of paying twice.
    provider_request_id: str | None = Field(default=None, max_length=128)
    error: str = Field(default="", max_length=2000)
    # The job engine's id of the job running it (procrastinate's), to cancel it.
    job_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    # The browser's id for the click that started it: a second click finds this one.
    client_request_id: str | None = Field(default=None, max_length=128)
    # The generation this one re-runs or varies, if any.
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="generations.id", ondelete="SET NULL")
    created_at: datetime = created_field()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class GenerationOutput(SQLModel, table=True):
    """A file (image, video) or a caption a generation produced."""

    __tablename__ = "generation_outputs"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    generation_id: uuid.UUID = Field(foreign_key="generations.id", ondelete="CASCADE", index=True)
    position: int = 0
    # Where the file lives in media storage (None for captions).
    storage_key: str | None = Field(default=None, max_length=256)
    content_type: str = Field(default="", max_length=64)
    size_bytes: int = Field(default=0, sa_type=sa.BigInteger)
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    text: str | None = Field(default=None, max_length=4000)
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_field()
