"""Versions of the privacy policy and terms, and who accepted which."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import created_field, id_field, owner_field


class PolicyVersion(SQLModel, table=True):
    """A published text of a policy; its digest detects a changed source."""

    __tablename__ = "policy_versions"
    __table_args__ = (sa.UniqueConstraint("kind", "digest"),)

    id: uuid.UUID = id_field()
    kind: str = Field(max_length=16)  # "privacy" or "terms"
    effective_on: date
    digest: str = Field(max_length=64)
    created_at: datetime = created_field()


class PolicyAcceptance(SQLModel, table=True):
    """A user's acceptance of one policy version."""

    __tablename__ = "policy_acceptances"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    policy_version_id: uuid.UUID = Field(foreign_key="policy_versions.id", index=True)
    created_at: datetime = created_field()
