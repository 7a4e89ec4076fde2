"""Analytics: connected platform accounts, their posts, metric snapshots over time, tracked URLs, notes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from assetry.models.base import UTCDateTime, created_field, id_field, owner_field

ACTIVE, NEEDS_RECONNECT = "active", "needs_reconnect"
OWN, TRACKED = "own", "tracked"
METRICS = ("views", "likes", "comments", "shares", "saves", "reach", "interactions")


class ConnectedAccount(SQLModel, table=True):
    """A TikTok or Instagram account a user connected with OAuth. Tokens are stored encrypted."""

    __tablename__ = "connected_accounts"
    __table_args__ = (sa.UniqueConstraint("user_id", "platform", "platform_account_id"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    platform: str = Field(max_length=16)  # tiktok | instagram
    platform_account_id: str = Field(max_length=128)
    display_name: str = Field(default="", max_length=200)
    username: str = Field(default="", max_length=200)
    avatar_url: str = Field(default="", max_length=2000)
    account_type: str = Field(default="", max_length=32)
    sandbox: bool = False
    status: str = Field(default=ACTIVE, max_length=24)
    status_message: str = Field(default="", max_length=500)
    # Authenticated encryption with a key id ("v1:<kid>:<nonce+ciphertext>"); never plain text.
    access_token_enc: str | None = Field(default=None, max_length=4000)
    refresh_token_enc: str | None = Field(default=None, max_length=4000)
    token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refresh_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    scope: str = Field(default="", max_length=500)
    followers: int | None = None
    posts_count: int | None = None
    first_sync_done: bool = False
    last_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = created_field()


class Post(SQLModel, table=True):
    """A post: one of the creator's own (from a connected account) or a public one they track."""

    __tablename__ = "posts"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "source", "platform", "platform_post_id"),
        sa.Index("ix_posts_user_posted", "user_id", "posted_at"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    account_id: uuid.UUID | None = Field(
        default=None, foreign_key="connected_accounts.id", ondelete="SET NULL", index=True
    )
    source: str = Field(default=OWN, max_length=16)  # own | tracked
    platform: str = Field(max_length=16)
    platform_post_id: str = Field(max_length=128)
    title: str = Field(default="", max_length=4000)
    url: str = Field(default="", max_length=2000)
    cover_url: str = Field(default="", max_length=2000)
    media_type: str = Field(default="", max_length=32)
    duration_s: float | None = None
    author: str = Field(default="", max_length=200)
    posted_at: datetime = Field(sa_type=UTCDateTime)
    last_metrics_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_field()


class MetricSnapshot(SQLModel, table=True):
    """A post's numbers at one moment; appended over time, never overwritten."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (
        sa.Index("ix_metric_snapshots_post_captured", "post_id", "captured_at"),
        sa.Index("ix_metric_snapshots_user_captured", "user_id", "captured_at"),
        # The dashboard reads a creator's snapshots from this index alone (migration 0007).
        sa.Index(
            "ix_metric_snapshots_user_post_captured",
            "user_id",
            "post_id",
            "captured_at",
            postgresql_include=[*METRICS, *(f"{m}_before" for m in METRICS), "missing"],
        ),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    post_id: uuid.UUID = Field(foreign_key="posts.id", ondelete="CASCADE")
    captured_at: datetime = Field(sa_type=UTCDateTime)
    views: int | None = Field(default=None, sa_type=sa.BigInteger)
    likes: int | None = Field(default=None, sa_type=sa.BigInteger)
    comments: int | None = Field(default=None, sa_type=sa.BigInteger)
    shares: int | None = Field(default=None, sa_type=sa.BigInteger)
    saves: int | None = Field(default=None, sa_type=sa.BigInteger)
    reach: int | None = Field(default=None, sa_type=sa.BigInteger)
    interactions: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Why a number is absent, e.g. {"reach": "too few viewers ..."}.
    missing: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # Per metric, the highest value of the post's snapshots captured before this one (None: none
    # had it), kept by the database on every insert (migration 0018); the dashboard counts the rise.
    views_before: int | None = Field(default=None, sa_type=sa.BigInteger)
    likes_before: int | None = Field(default=None, sa_type=sa.BigInteger)
    comments_before: int | None = Field(default=None, sa_type=sa.BigInteger)
    shares_before: int | None = Field(default=None, sa_type=sa.BigInteger)
    saves_before: int | None = Field(default=None, sa_type=sa.BigInteger)
    reach_before: int | None = Field(default=None, sa_type=sa.BigInteger)
    interactions_before: int | None = Field(default=None, sa_type=sa.BigInteger)


class AccountSnapshot(SQLModel, table=True):
    """A connected account's followers and post count at one moment."""

    __tablename__ = "account_snapshots"
    __table_args__ = (sa.Index("ix_account_snapshots_account_captured", "account_id", "captured_at"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    account_id: uuid.UUID = Field(foreign_key="connected_accounts.id", ondelete="CASCADE")
    captured_at: datetime = Field(sa_type=UTCDateTime)
    followers: int | None = Field(default=None, sa_type=sa.BigInteger)
    posts: int | None = None


class TrackedUrl(SQLModel, table=True):
    """A public post URL the creator pasted; its numbers come through Apify on a schedule."""

    __tablename__ = "tracked_urls"
    __table_args__ = (sa.UniqueConstraint("user_id", "url"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    url: str = Field(max_length=2000)
    platform: str = Field(max_length=16)
    status: str = Field(default="pending", max_length=16)  # pending | ok | error
    message: str = Field(default="", max_length=500)
    post_id: uuid.UUID | None = Field(default=None, foreign_key="posts.id", ondelete="SET NULL")
    last_fetched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_fetch_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = created_field()


class Note(SQLModel, table=True):
    """A creator's note for a day or a post; shown as an annotation on the charts."""

    __tablename__ = "notes"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    post_id: uuid.UUID | None = Field(default=None, foreign_key="posts.id", ondelete="SET NULL")
    day: date
    body: str = Field(max_length=2000)
    created_at: datetime = created_field()
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthState(SQLModel, table=True):
    """A pending OAuth consent: bound to the session that started it, single-use, short-lived."""

    __tablename__ = "oauth_states"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    platform: str = Field(max_length=16)
    state_hash: str = Field(max_length=64, unique=True)
    session_hash: str = Field(max_length=64)
    code_verifier: str | None = Field(default=None, max_length=200)
    # The account being reconnected, if this consent replaces its tokens.
    reconnect_account_id: uuid.UUID | None = Field(default=None)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_field()


# Running figures the database keeps from the snapshots (migration 0020 says what each holds).
# Nothing in Python writes them, so they are tables without a model class.
def _owner(*, index: bool = True) -> sa.Column:
    return sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=index
    )


post_figures = sa.Table(
    "post_figures",
    SQLModel.metadata,
    sa.Column(
        "id", sa.Uuid(), primary_key=True, default=uuid.uuid4, server_default=sa.text("gen_random_uuid()")
    ),
    sa.Column(
        "post_id", sa.Uuid(), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False, unique=True
    ),
    _owner(),
    # Copies of the post's columns (migration 0021), kept by the database as the post changes.
    sa.Column("account_id", sa.Uuid(), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("posted_at", UTCDateTime(), nullable=False),
    sa.Column("first_at", UTCDateTime(), nullable=False),  # the earliest snapshot's time (0021)
    sa.Column("latest_at", UTCDateTime(), nullable=True),
    sa.Column("missing", sa.JSON(), nullable=True),
    *(
        column
        for m in METRICS
        for column in (
            sa.Column(f"{m}_now", sa.BigInteger(), nullable=True),
            sa.Column(f"{m}_at", UTCDateTime(), nullable=True),
            sa.Column(f"{m}_high", sa.BigInteger(), nullable=True),
            sa.Column(f"{m}_first", sa.BigInteger(), nullable=False, server_default="0"),
            sa.Column(f"{m}_count", sa.BigInteger(), nullable=False, server_default="0"),
        )
    ),
)
growth_quarters = sa.Table(
    "growth_quarters",
    SQLModel.metadata,
    sa.Column(
        "id", sa.Uuid(), primary_key=True, default=uuid.uuid4, server_default=sa.text("gen_random_uuid()")
    ),
    _owner(index=False),  # both indexes below start with it (one of its own misled the planner)
    sa.Column("account_id", sa.Uuid(), nullable=True),
    sa.Column("quarter", UTCDateTime(), nullable=False),
    sa.Column("snapshots", sa.BigInteger(), nullable=False, server_default="0"),
    *(sa.Column(m, sa.BigInteger(), nullable=False, server_default="0") for m in METRICS),
    sa.Index(
        "ix_growth_quarters_user_account_quarter",
        "user_id",
        "account_id",
        "quarter",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    sa.Index(
        "ix_growth_quarters_user_quarter", "user_id", "quarter", postgresql_include=["account_id", *METRICS]
    ),
)
snapshot_reasons = sa.Table(
    "snapshot_reasons",
    SQLModel.metadata,
    sa.Column(
        "id", sa.Uuid(), primary_key=True, default=uuid.uuid4, server_default=sa.text("gen_random_uuid()")
    ),
    _owner(),
    sa.Column("post_id", sa.Uuid(), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("missing", sa.Text(), nullable=False),
    sa.Column("times", sa.BigInteger(), nullable=False),
    sa.Column("first_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("post_id", "missing"),
)
