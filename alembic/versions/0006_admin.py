"""Admin area: per-user daily quota, waitlist invitations, support replies, indexes for admin queries.

Revision ID: 0006
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index name, columns): what the admin pages filter and sort on.
INDEXES = [
    ("usage_events", "ix_usage_events_created_user", ["created_at", "user_id"]),
    ("jobs", "ix_jobs_status_created", ["status", "created_at"]),
    ("jobs", "ix_jobs_kind_created", ["kind", "created_at"]),
    ("audit_log", "ix_audit_log_target_created", ["target", "created_at"]),
    ("audit_log", "ix_audit_log_actor_created", ["actor_id", "created_at"]),
]
# Email prefix search (`LIKE 'abc%'`) can use a btree only with pattern operators under a
# non-C collation.
PATTERN_INDEXES = [
    ("users", "ix_users_email_pattern"),
    ("waitlist_entries", "ix_waitlist_entries_email_pattern"),
]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("daily_quota", sa.Integer(), nullable=True))
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True))
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for table, name in PATTERN_INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} (email varchar_pattern_ops)")


def downgrade() -> None:
    for _table, name in PATTERN_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("support_messages", schema=None) as batch_op:
        batch_op.drop_column("replied_at")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_column("invited_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("daily_quota")
