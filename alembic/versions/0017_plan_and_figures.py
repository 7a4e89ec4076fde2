"""The posting plan, and What works' figures kept until their inputs change.

- plan_slots: a generation placed on the hour the creator means to post it. A slot outlives
  its generation (`generation_id` SET NULL, `what` keeps the words); it goes with its account.
- what_works_figures: one row per creator and time zone, the page's aggregate rows kept until an input
  changes. Triggers on the inputs (post_links, posts, metric_snapshots; a deleted generation
  takes its links along) count each change in `changes`, one statement at a time; rows computed
  when the count was `rows_changes` are current while the two are equal.

Both user-owned (RLS one policy per operation, index on user_id).

Revision ID: 0017
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetry import rls

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


INPUTS = ("post_links", "posts", "metric_snapshots")
# Runs as its owner (the schema's): a sync's service session and a creator's own session alike
# count the change, whatever row-level security lets the caller see.
COUNT_CHANGES = """
CREATE FUNCTION what_works_inputs_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE what_works_figures f SET changes = f.changes + 1
    WHERE f.user_id IN (SELECT DISTINCT user_id FROM new_rows);
  ELSE
    UPDATE what_works_figures f SET changes = f.changes + 1
    WHERE f.user_id IN (SELECT DISTINCT user_id FROM old_rows);
  END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "plan_slots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("generation_id", sa.Uuid(), nullable=True),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["generation_id"], ["generations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("user_id", "generation_id", "created_at"):
        op.create_index(f"ix_plan_slots_{column}", "plan_slots", [column])
    op.create_index("ix_plan_slots_user_planned", "plan_slots", ["user_id", "planned_at"])
    op.create_index(
        "ix_plan_slots_due", "plan_slots", ["planned_at"], postgresql_where=sa.text("reminded_at IS NULL")
    )
    op.create_table(
        "what_works_figures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("stamp", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("rows_changes", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "stamp"),
    )
    op.create_index("ix_what_works_figures_user_id", "what_works_figures", ["user_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in ("plan_slots", "what_works_figures"):
            op.execute(rls.user_owned_table(table))
        op.execute(COUNT_CHANGES)
        for table in INPUTS:
            for event, rows in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "OLD TABLE AS old_rows"),
                                ("DELETE", "OLD TABLE AS old_rows")):  # fmt: skip
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_what_works AFTER {event} ON {table} "
                    f"REFERENCING {rows} FOR EACH STATEMENT EXECUTE FUNCTION what_works_inputs_changed()"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in INPUTS:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_what_works ON {table}")
        op.execute("DROP FUNCTION IF EXISTS what_works_inputs_changed()")
    op.drop_table("what_works_figures")
    op.drop_table("plan_slots")
