"""Post links: which post a generation became, proposed matches, rejections, video fingerprints.

Every table is user-owned (RLS one policy per operation, index on user_id). Links,
proposals and rejections cascade from both the post and the generation, so deleting
either side takes them along; `post_id` is unique in links and proposals (one each per post).

Revision ID: 0013
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetry import rls

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("post_links", "match_proposals", "match_rejections", "video_fingerprints")


def _owned_columns() -> list:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
    ]


def _keys(*parents: tuple[str, str]) -> list:
    return [
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        *(sa.ForeignKeyConstraint([column], [target], ondelete="CASCADE") for column, target in parents),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    post_and_generation = (("post_id", "posts.id"), ("generation_id", "generations.id"))
    op.create_table(
        "post_links",
        *_owned_columns(),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys(*post_and_generation),
        sa.UniqueConstraint("post_id"),
    )
    op.create_table(
        "match_proposals",
        *_owned_columns(),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys(*post_and_generation),
        sa.UniqueConstraint("post_id"),
    )
    op.create_table(
        "match_rejections",
        *_owned_columns(),
        sa.Column("post_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys(*post_and_generation),
        sa.UniqueConstraint("post_id", "generation_id"),
    )
    op.create_table(
        "video_fingerprints",
        *_owned_columns(),
        sa.Column("generation_id", sa.Uuid(), nullable=False),
        sa.Column("output_id", sa.Uuid(), nullable=False),
        sa.Column("hashes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_keys(("generation_id", "generations.id"), ("output_id", "generation_outputs.id")),
        sa.UniqueConstraint("output_id"),
    )
    for table in TABLES:
        for column in ("user_id", "created_at", "generation_id"):
            op.create_index(f"ix_{table}_{column}", table, [column])
    op.create_index("ix_match_rejections_post_id", "match_rejections", ["post_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(rls.user_owned_table(table))


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
