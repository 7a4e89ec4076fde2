"""Active users without reading usage events: `users.last_seen_at`, `active_days` and their daily counts.

The admin overview counted distinct user ids in `usage_events` for every day shown and for
the last 1, 7 and 30 days: with 1,000,000 events (a tenth of bench/admin.py's full scale) that
took 0.6 s for 7 days and 2.6 s for 90. `services.usage.record` now keeps three small rollups
in step with each event tied to a user, and the overview reads those instead:

- `users.last_seen_at`: the latest such event, written at most every few minutes and on the
  first event of each UTC day, so its day is the user's latest active day.
- `active_days`: one row per user and UTC day with usage (personal data, so RLS, export and
  deletion cover it, and it is purged with the events after 90 days).
- `daily_active_users`: per day, `users` active on it (its `active_days` rows) and `last_seen`,
  users whose `last_seen_at` falls on it: the sum of `last_seen` from a day on is the number
  of distinct users active since that day (counts only, naming nobody).

They are filled here from the events already stored. Users who chose "don't tie my usage to
me" have events without their id, so they are in none of them, as before.

The overview's generations by kind, provider and status with their cost read every generation
of the period: at 1,000,000 generations a bitmap heap scan of 244,000 rows on 4,000 pages for 90
days, 10,600 pages for the 17,000 rows of 7 days (0.3 to 0.6 s). A covering index on creation
time answers it from the index alone.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from assetry import rls

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENERATIONS_INDEX = "ix_generations_created_groups"
GENERATIONS_KEY, GENERATIONS_READ = ["created_at"], ["kind", "provider", "status", "cost_usd"]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_last_seen_at"), ["last_seen_at"], unique=False)
    op.create_table(
        "active_days",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "user_id"),
    )
    op.create_index(op.f("ix_active_days_user_id"), "active_days", ["user_id"], unique=False)
    op.create_table(
        "daily_active_users",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("last_seen", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )

    op.execute(
        "INSERT INTO active_days (id, day, user_id) SELECT gen_random_uuid(), day, user_id FROM ("
        " SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date AS day, user_id FROM usage_events"
        " WHERE user_id IS NOT NULL) AS used"
    )
    op.execute(
        "INSERT INTO daily_active_users (day, users, last_seen) SELECT day, count(*), 0 FROM active_days GROUP BY day"
    )
    op.execute(
        "UPDATE users SET last_seen_at = seen.latest FROM ("
        " SELECT user_id, max(created_at) AS latest FROM usage_events WHERE user_id IS NOT NULL GROUP BY user_id"
        ") AS seen WHERE users.id = seen.user_id"
    )
    op.execute(
        "UPDATE daily_active_users SET last_seen = seen.users FROM ("
        " SELECT (last_seen_at AT TIME ZONE 'UTC')::date AS day, count(*) AS users FROM users"
        " WHERE last_seen_at IS NOT NULL GROUP BY 1) AS seen WHERE daily_active_users.day = seen.day"
    )

    op.execute(rls.user_owned_table("active_days"))
    op.execute(rls.service_table("daily_active_users"))
    op.create_index(GENERATIONS_INDEX, "generations", GENERATIONS_KEY, postgresql_include=GENERATIONS_READ)


def downgrade() -> None:
    op.drop_index(GENERATIONS_INDEX, table_name="generations")
    op.drop_table("daily_active_users")
    op.drop_index(op.f("ix_active_days_user_id"), table_name="active_days")
    op.drop_table("active_days")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_last_seen_at"))
        batch_op.drop_column("last_seen_at")
