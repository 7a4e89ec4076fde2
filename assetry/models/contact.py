"""What visitors send us: waitlist sign-ups and support messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field


class WaitlistEntry(SQLModel, table=True):
    """An email address that asked to hear when Assetry opens up."""

    __tablename__ = "waitlist_entries"

    id: uuid.UUID = id_field()
    email: str = Field(max_length=254, unique=True)
    # When an admin sent the invitation email (None: not invited yet).
    invited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_field()


class SupportMessage(SQLModel, table=True):
    """A message to the team; it lands in the admin inbox."""

    __tablename__ = "support_messages"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID | None = owner_field(nullable=True)
    name: str = Field(default="", max_length=120)
    email: str = Field(max_length=254)
    # support, or a privacy request: access | correction | objection | complaint | child
    kind: str = Field(default="support", max_length=24, index=True)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=5000)
    status: str = Field(default="open", max_length=16, index=True)  # open | done
    # When the team last answered by email (None: not answered yet).
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_field()
