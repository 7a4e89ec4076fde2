"""What the sandbox imitations of TikTok and Instagram issued, kept where every instance reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, utcnow


class SandboxRecord(SQLModel, table=True):
    """One code, grant or token a sandbox imitation issued (`assetry.sandbox.ledger`).

    Filed by the SHA-256 of its key (the code or token itself), so no usable sandbox token sits
    in the database in clear; the record holds what the imitation needs to check it.
    """

    __tablename__ = "sandbox_records"

    platform: str = Field(max_length=16, primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)
    key_hash: str = Field(max_length=64, primary_key=True)
    record: dict[str, Any] = Field(sa_type=JSONB)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
