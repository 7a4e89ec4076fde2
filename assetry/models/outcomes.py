"""What was made and the post it became: links, proposed matches, rejections, frame fingerprints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import created_field, id_field, owner_field

MANUAL, CONFIRMED = "manual", "confirmed"


class PostLink(SQLModel, table=True):
    """A post the creator made from a generation. One link per post; a link goes with either side."""

    __tablename__ = "post_links"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    post_id: uuid.UUID = Field(foreign_key="posts.id", ondelete="CASCADE", unique=True)
    generation_id: uuid.UUID = Field(foreign_key="generations.id", ondelete="CASCADE", index=True)
    # manual: picked by the creator; confirmed: a proposal the creator accepted.
    how: str = Field(default=MANUAL, max_length=16)
    created_at: datetime = created_field()


class MatchProposal(SQLModel, table=True):
    """The generation a new post most likely came from, waiting for the creator's yes or no.

    One proposal per post: a better candidate found later replaces it.
    """

    __tablename__ = "match_proposals"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    post_id: uuid.UUID = Field(foreign_key="posts.id", ondelete="CASCADE", unique=True)
    generation_id: uuid.UUID = Field(foreign_key="generations.id", ondelete="CASCADE", index=True)
    score: float = 0.0
    # What the evidence was, in the creator's words: {"cover": "...", "caption": "...", "timing": "..."}.
    reasons: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = created_field()


class MatchRejection(SQLModel, table=True):
    """ "This post was not made from that generation": never proposed again."""

    __tablename__ = "match_rejections"
    __table_args__ = (sa.UniqueConstraint("post_id", "generation_id"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    post_id: uuid.UUID = Field(foreign_key="posts.id", ondelete="CASCADE", index=True)
    generation_id: uuid.UUID = Field(foreign_key="generations.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_field()


class FrameHash(SQLModel, table=True):
    """A perceptual hash (64-bit pHash) of one frame of a generated video, kept to recognise its posts."""

    __tablename__ = "frame_hashes"
    __table_args__ = (sa.Index("ix_frame_hashes_output_position", "output_id", "position", unique=True),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    generation_id: uuid.UUID = Field(foreign_key="generations.id", ondelete="CASCADE", index=True)
    output_id: uuid.UUID = Field(foreign_key="generation_outputs.id", ondelete="CASCADE")
    position: int = 0
    # The 64 bits as a signed integer; the empty-video marker (no decodable frame) is position -1.
    phash: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = created_field()
