"""Email: the outbox every message passes through, password-reset tokens, policy-change notices."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field

# queued: waiting for (another) delivery attempt; sent: the SMTP server took it;
# failed: given up (the reason is in last_error); kept: no SMTP configured, the
# message stays here for an admin to read.
QUEUED, SENT, FAILED, KEPT = "queued", "sent", "failed", "kept"


class OutboxMessage(SQLModel, table=True):
    """One email, rendered, with how its delivery went. A user's messages go with their account."""

    __tablename__ = "outbox"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = owner_field(nullable=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_type=sa.Text)
    body_html: str = Field(default="", sa_type=sa.Text)
    template: str = Field(max_length=48, index=True)
    status: str = Field(default=QUEUED, max_length=16, index=True)
    attempts: int = 0
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = created_field()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordReset(SQLModel, table=True):
    """A password-reset link sent by email; only the SHA-256 of its token is stored."""

    __tablename__ = "password_resets"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_field()


class PolicyNotice(SQLModel, table=True):
    """That a user was emailed about a policy version (so it happens once)."""

    __tablename__ = "policy_notices"
    __table_args__ = (sa.UniqueConstraint("user_id", "policy_version_id"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    policy_version_id: uuid.UUID = Field(foreign_key="policy_versions.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_field()
