"""Each snapshot keeps, per metric, the highest value of its post's earlier snapshots.

The dashboard counts what a snapshot rose above the highest value seen before it (the first
value seen counts on the post's publish day). Working that out took a window pass over all
of a creator's snapshots on every page load; stored on the row, the day series, the totals
and each post's gain are plain sums over the covering index.

`<metric>_before`: the highest value of that metric in the post's snapshots captured before
this one (NULL: none had it). The database keeps it for every insert, whoever writes the row:
- before each row goes in, the highest of the post's snapshots captured at or before it
  (one already stored at the same moment counts as earlier);
- after each statement, a snapshot that arrived late (captured before ones already stored)
  raises the `_before` of the post's later snapshots.
Snapshots are never updated or deleted one by one (a post's go with it), so nothing else can
make a stored value stale. Existing rows are filled here, in capture order (ties by id).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METRICS = ("views", "likes", "comments", "shares", "saves", "reach", "interactions")
INDEX = "ix_metric_snapshots_user_post_captured"
KEY = ["user_id", "post_id", "captured_at"]
BEFORE = [f"{m}_before" for m in METRICS]
WHAT_WORKS_COUNT = "metric_snapshots_update_what_works"  # 0017



def _function(name: str, body: str) -> str:
    """A trigger function that runs as its owner (the schema's): whoever inserts, the post's
    other rows are all seen and kept."""
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger "
        f"LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$ BEGIN {body} END $$"
    )


HIGHEST_BEFORE = _function(
    "metric_snapshots_highest_before",
    f"""SELECT {", ".join(f"max({m})" for m in METRICS)} INTO {", ".join(f"NEW.{m}_before" for m in METRICS)}
    FROM metric_snapshots
    WHERE user_id = NEW.user_id AND post_id = NEW.post_id AND captured_at <= NEW.captured_at;
    RETURN NEW;""",
)
RAISE_LATER = _function(
    "metric_snapshots_raise_later",
    f"""UPDATE metric_snapshots s SET {", ".join(f"{m}_before = GREATEST(s.{m}_before, late.{m})" for m in METRICS)}
    FROM (SELECT later.id, {", ".join(f"max(n.{m}) AS {m}" for m in METRICS)} FROM new_rows n
          JOIN metric_snapshots later ON later.user_id = n.user_id AND later.post_id = n.post_id
               AND later.captured_at > n.captured_at
          GROUP BY later.id) late
    WHERE s.id = late.id;
    RETURN NULL;""",
)
_EARLIER = "PARTITION BY post_id ORDER BY captured_at, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
FILL = f"""
UPDATE metric_snapshots s SET {", ".join(f"{m}_before = w.{m}_before" for m in METRICS)}
FROM (SELECT id, {", ".join(f"max({m}) OVER earlier AS {m}_before" for m in METRICS)}
      FROM metric_snapshots WINDOW earlier AS ({_EARLIER})) w
WHERE s.id = w.id AND ({" OR ".join(f"w.{m}_before IS NOT NULL" for m in METRICS)})
"""


def upgrade() -> None:
    for column in BEFORE:
        op.add_column("metric_snapshots", sa.Column(column, sa.BigInteger(), nullable=True))
    op.drop_index(INDEX, table_name="metric_snapshots")
    # What works reads no `_before`: filling them is no change of its inputs to count.
    op.execute(f"ALTER TABLE metric_snapshots DISABLE TRIGGER {WHAT_WORKS_COUNT}")
    op.execute(FILL)
    op.execute(f"ALTER TABLE metric_snapshots ENABLE TRIGGER {WHAT_WORKS_COUNT}")
    op.create_index(INDEX, "metric_snapshots", KEY, postgresql_include=[*METRICS, *BEFORE, "missing"])
    op.execute(HIGHEST_BEFORE)
    op.execute(RAISE_LATER)
    op.execute(
        "CREATE TRIGGER metric_snapshots_highest_before BEFORE INSERT ON metric_snapshots "
        "FOR EACH ROW EXECUTE FUNCTION metric_snapshots_highest_before()"
    )
    op.execute(
        "CREATE TRIGGER metric_snapshots_raise_later AFTER INSERT ON metric_snapshots "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION metric_snapshots_raise_later()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS metric_snapshots_raise_later ON metric_snapshots")
    op.execute("DROP TRIGGER IF EXISTS metric_snapshots_highest_before ON metric_snapshots")
    op.execute("DROP FUNCTION IF EXISTS metric_snapshots_raise_later()")
    op.execute("DROP FUNCTION IF EXISTS metric_snapshots_highest_before()")
    op.drop_index(INDEX, table_name="metric_snapshots")
    op.create_index(INDEX, "metric_snapshots", KEY, postgresql_include=[*METRICS, "missing"])
    for column in BEFORE:
        op.drop_column("metric_snapshots", column)
