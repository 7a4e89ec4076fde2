"""Privacy: account deletion, email change, communication and usage preferences; kinds of support messages.

Revision ID: 0005
Revises: 0003 (set to 0004 once the outbox migration is merged)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_emails", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("usage_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("pending_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("email_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_token_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deletion_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_email_token_hash"), ["email_token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_users_deletion_due_at"), ["deletion_due_at"], unique=False)
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=24), nullable=False, server_default="support"))
        batch_op.create_index(batch_op.f("ix_support_messages_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_messages_kind"))
        batch_op.drop_column("kind")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_deletion_due_at"))
        batch_op.drop_index(batch_op.f("ix_users_email_token_hash"))
        for column in (
            "deletion_due_at", "deleted_at", "email_token_expires_at", "email_token_hash",
            "pending_email", "usage_opt_out", "product_emails",
        ):  # fmt: skip
            batch_op.drop_column(column)
