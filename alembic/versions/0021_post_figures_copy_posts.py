"""Post figures keep a copy of their post's account, source, platform and publish time, and
the time of the post's earliest snapshot.

The dashboard's statement read each post's figures joined with the post for those four columns
(to keep the creator's own posts, of the accounts asked, and to place them by publish time);
with the copies it reads post_figures alone. The copies are filled from the posts here and kept
by the triggers of 0020 (their functions replaced here): a post's figures take its columns when snapshots add to them, and
take the new values when an update changes them (a post moved to another account, its account
deleted while the post is kept, a post turned into a tracked one, a corrected publish time).

`first_at`, the earliest snapshot's capture time, kept as snapshots come and go: a post whose
snapshots all came since a period's start rose from nothing then, so the dashboard looks up
its highest values before that start only for the other posts.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

# assetry.stored_figures as of this revision: a later change to that SQL first freezes it here
# as text (as 0020 keeps its own).
from assetry.stored_figures import POST_COPIES, function

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The trigger functions that write post_figures.
CHANGED = (
    "stored_figures_insert",
    "stored_figures_update",
    "stored_figures_snapshots_deleted",
    "stored_figures_post_changed",
)


def _replace(statement: str) -> str:
    return statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.add_column("post_figures", sa.Column("account_id", sa.Uuid(), nullable=True))
    op.add_column("post_figures", sa.Column("source", sa.String(16), nullable=True))
    op.add_column("post_figures", sa.Column("platform", sa.String(16), nullable=True))
    op.add_column("post_figures", sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("post_figures", sa.Column("first_at", sa.DateTime(timezone=True), nullable=True))
    columns = ", ".join(POST_COPIES)
    op.execute(
        f"UPDATE post_figures f SET ({columns}, first_at) = ({', '.join(f'p.{c}' for c in POST_COPIES)}, s.first_at) "
        "FROM posts p, (SELECT post_id, min(captured_at) AS first_at FROM metric_snapshots GROUP BY post_id) s "
        "WHERE p.id = f.post_id AND s.post_id = f.post_id"
    )
    for column in ("source", "platform", "posted_at", "first_at"):
        op.alter_column("post_figures", column, nullable=False)
    op.execute("ANALYZE post_figures")
    for name in CHANGED:
        op.execute(_replace(function(name)))


def downgrade() -> None:
    before = context.script.get_revision("0020").module.FUNCTIONS  # the SQL 0020 ran
    for name in CHANGED:
        op.execute(_replace(before[name]))
    for column in (*POST_COPIES, "first_at"):
        op.drop_column("post_figures", column)
