"""Stored running figures: each post's latest values and each creator's growth per quarter hour.

The dashboard read every snapshot of a creator (a year of them) on every page load. These
tables hold what it needs, kept by the database on every change of their inputs, so a view
reads one row per post and one row per quarter hour of its days (`services.dashboard_figures`):

- post_figures: per post with snapshots, its latest snapshot's time and `missing`, and per
  metric the latest value and when it was captured (`<m>_now`, `<m>_at`), the highest value
  (`<m>_high`), the first value seen (`<m>_first`: the snapshot whose `<m>_before` is NULL)
  and how many snapshots have the metric (`<m>_count`).
- growth_quarters: per creator, account and quarter hour (UTC, from 2000-01-01) of capture,
  what the creator's own posts rose above their highest earlier value (`<m>`, summed; 0: no
  rise) and how many snapshots were captured then (`snapshots`). From 2012 on, every zone's
  offset is a whole number of quarter hours and no clock change splits a quarter hour between
  two days (tests/unit/services/test_local_time.py), so a quarter hour lies in one local day.
- snapshot_reasons: per post and distinct `missing` (as JSON text, `{}` left out), how many
  snapshots gave it and when the first was captured.

Kept by triggers that run as the schema's owner, whoever writes:
- a statement inserting snapshots adds them (named so that it runs before 0018's
  `metric_snapshots_raise_later`, whose updates then find the rows);
- a statement updating snapshots (0018 raising `<m>_before` after a late arrival) moves the
  rises and first values it changed;
- a post that is deleted takes its rises along first (its figures and reasons go with it by
  foreign key; snapshots are never deleted but with their post);
- a post whose account or source changes (an account deleted while its posts are kept) moves
  its rises to its new account, or out of the creator's own.
A user's rows go with the user (foreign keys), and row-level security covers each table.
Existing snapshots are added here.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetry import rls
from assetry.models.analytics import METRICS
from assetry.stored_figures import FILL, FUNCTIONS, TRIGGERS, function

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("post_figures", "growth_quarters", "snapshot_reasons")


def _owner() -> sa.Column:
    return sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "post_figures",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("post_id", sa.Uuid(), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
        _owner(),
        sa.Column("latest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missing", sa.JSON(), nullable=True),
        *(
            column
            for m in METRICS
            for column in (
                sa.Column(f"{m}_now", sa.BigInteger(), nullable=True),
                sa.Column(f"{m}_at", sa.DateTime(timezone=True), nullable=True),
                sa.Column(f"{m}_high", sa.BigInteger(), nullable=True),
                sa.Column(f"{m}_first", sa.BigInteger(), nullable=False, server_default="0"),
                sa.Column(f"{m}_count", sa.BigInteger(), nullable=False, server_default="0"),
            )
        ),
    )
    op.create_unique_constraint("post_figures_post_id_key", "post_figures", ["post_id"])
    op.create_index("ix_post_figures_user_id", "post_figures", ["user_id"])
    op.create_table(
        "growth_quarters",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        _owner(),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("quarter", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshots", sa.BigInteger(), nullable=False, server_default="0"),
        *(sa.Column(m, sa.BigInteger(), nullable=False, server_default="0") for m in METRICS),
    )
    op.create_index(
        "ix_growth_quarters_user_account_quarter",
        "growth_quarters",
        ["user_id", "account_id", "quarter"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ix_growth_quarters_user_quarter",
        "growth_quarters",
        ["user_id", "quarter"],
        postgresql_include=["account_id", *METRICS],
    )
    op.create_table(
        "snapshot_reasons",
        sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        _owner(),
        sa.Column("post_id", sa.Uuid(), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("missing", sa.Text(), nullable=False),
        sa.Column("times", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("post_id", "missing"),
    )
    op.create_index("ix_snapshot_reasons_user_id", "snapshot_reasons", ["user_id"])
    for table in TABLES:
        op.execute(rls.user_owned_table(table))
    for statement in FILL:
        op.execute(statement)
    op.execute(f"ANALYZE {', '.join(TABLES)}")  # planned on real sizes from the first page load
    for name in FUNCTIONS:
        op.execute(function(name))
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")  # and its trigger
    for table in reversed(TABLES):
        op.drop_table(table)
