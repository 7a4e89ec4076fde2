"""What was made and the post it became: links, proposed matches, rejections, video fingerprints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field, utcnow

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


class WhatWorksFigures(SQLModel, table=True):
    """What works' aggregate rows for one creator, kept until an input changes.

    One row per `stamp` (the statement's version and the time zone). Database triggers count
    every change of the creator's links, posts and snapshots in `changes` of each of their rows;
    the rows were computed when the count was `rows_changes`, and are current while it still is.
    """

    __tablename__ = "what_works_figures"
    __table_args__ = (sa.UniqueConstraint("user_id", "stamp"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    stamp: str = Field(max_length=200)
    rows: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    changes: int = Field(default=0, sa_type=sa.BigInteger)
    rows_changes: int = Field(default=-1, sa_type=sa.BigInteger)
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class VideoFingerprint(SQLModel, table=True):
    """Perceptual hashes (64-bit dHash) of a generated video's frames, kept to recognise its posts.

    Frames are sampled several times a second, so whichever frame a platform shows as the
    cover is near one of them. A video with no decodable frame keeps an empty list.
    """

    __tablename__ = "video_fingerprints"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    generation_id: uuid.UUID = Field(foreign_key="generations.id", ondelete="CASCADE", index=True)
    output_id: uuid.UUID = Field(foreign_key="generation_outputs.id", ondelete="CASCADE", unique=True)
    # Each hash's 64 bits as a signed integer.
    hashes: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = created_field()
