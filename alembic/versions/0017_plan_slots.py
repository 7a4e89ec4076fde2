"""The posting plan: slots placing a generation on the hour the creator means to post it.

User-owned (RLS one policy per operation, index on user_id). A slot outlives its generation
(`generation_id` SET NULL, `what` keeps the words); it goes with its account.

Revision ID: 0017
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetry import rls

revision: str = "0017"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(rls.user_owned_table("plan_slots"))


def downgrade() -> None:
    op.drop_table("plan_slots")
