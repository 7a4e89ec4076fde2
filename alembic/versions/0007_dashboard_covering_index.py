"""Dashboard: one creator's snapshots read from an index alone, in post and time order.

The dashboard reads every snapshot of one creator (10,000 for 1,000 posts). Snapshots are
appended as syncs run, round after round across all creators, so one creator's rows sit on
as many table pages as there are rows: with 10 million snapshots the query visited 10,000
heap pages (113 ms median in the server; bench/dashboard.py). This index holds everything
the query reads, keyed by creator, post and time, so Postgres answers it with an
index-only scan of a few hundred pages.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_metric_snapshots_user_post_captured"
KEY = ["user_id", "post_id", "captured_at"]
READ = ["views", "likes", "comments", "shares", "saves", "reach", "interactions", "missing"]


def upgrade() -> None:
    op.create_index(NAME, "metric_snapshots", KEY, postgresql_include=READ)


def downgrade() -> None:
    op.drop_index(NAME, table_name="metric_snapshots")
