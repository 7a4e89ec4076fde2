"""The dashboard's stored running figures, as SQL the migrations (0021) and the bench's loader run.

What each table holds is written in migrations 0020 and 0021. Everything here is derived from
the snapshots and their posts; `FILL` computes it from scratch, the triggers keep it as they change.
"""

from __future__ import annotations

from assetry.models.analytics import METRICS

# Quarter hours counted from 2000-01-01 UTC; each lies in one local day of every zone (from 2012 on).
QUARTER = "date_bin('15 minutes', {t}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"


# The columns of a post its figures keep a copy of (migration 0021), so the dashboard reads no post.
POST_COPIES = ("account_id", "source", "platform", "posted_at")
_COPIES, _OF_POST = ", ".join(POST_COPIES), ", ".join(f"p.{c}" for c in POST_COPIES)


def _each(template: str, sep: str = ", ") -> str:
    return sep.join(template.format(m=metric) for metric in METRICS)


def _post_figures(snapshots: str) -> str:
    """Add the snapshots (a relation with metric_snapshots' columns) to their posts' figures.

    Of snapshots captured at the same moment, the latest value is the highest (and the latest
    `missing` the greatest as text): one rule, whatever order they arrive in, so figures kept
    row by row equal figures computed at once."""
    return f"""
INSERT INTO post_figures AS f (post_id, user_id, {_COPIES}, first_at, latest_at, missing, {
        _each("{m}_now, {m}_at, {m}_high, {m}_first, {m}_count")
    })
SELECT s.post_id, p.user_id, {_OF_POST}, min(s.captured_at), max(s.captured_at),
    (array_agg(s.missing ORDER BY s.captured_at DESC, CAST(s.missing AS text) DESC))[1], {
        _each(
            "(array_agg(s.{m} ORDER BY s.captured_at DESC, s.{m} DESC) FILTER (WHERE s.{m} IS NOT NULL))[1],"
            " max(s.captured_at) FILTER (WHERE s.{m} IS NOT NULL), max(s.{m}),"
            " coalesce(sum(s.{m}) FILTER (WHERE s.{m}_before IS NULL), 0), count(s.{m})"
        )
    }
FROM {snapshots} s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
GROUP BY s.post_id, p.user_id, {_OF_POST}
ON CONFLICT (post_id) DO UPDATE SET
    first_at = LEAST(f.first_at, EXCLUDED.first_at), latest_at = GREATEST(f.latest_at, EXCLUDED.latest_at),
    missing = CASE WHEN f.latest_at IS NULL OR EXCLUDED.latest_at > f.latest_at
                        OR (EXCLUDED.latest_at = f.latest_at
                            AND CAST(EXCLUDED.missing AS text) > CAST(f.missing AS text))
                   THEN EXCLUDED.missing ELSE f.missing END, {
        _each(
            "{m}_now = CASE WHEN f.{m}_at IS NULL OR EXCLUDED.{m}_at > f.{m}_at"
            " OR (EXCLUDED.{m}_at = f.{m}_at AND EXCLUDED.{m}_now > f.{m}_now)"
            " THEN EXCLUDED.{m}_now ELSE f.{m}_now END,"
            " {m}_at = GREATEST(f.{m}_at, EXCLUDED.{m}_at), {m}_high = GREATEST(f.{m}_high, EXCLUDED.{m}_high),"
            " {m}_first = f.{m}_first + EXCLUDED.{m}_first, {m}_count = f.{m}_count + EXCLUDED.{m}_count"
        )
    };
"""


def _reasons(snapshots: str) -> str:
    """Count the snapshots' reasons for missing numbers."""
    return f"""
INSERT INTO snapshot_reasons AS r (user_id, post_id, missing, times, first_at)
SELECT p.user_id, s.post_id, CAST(s.missing AS text), count(*), min(s.captured_at)
FROM {snapshots} s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE CAST(s.missing AS text) <> '{{}}'
GROUP BY p.user_id, s.post_id, CAST(s.missing AS text)
ON CONFLICT (post_id, missing) DO UPDATE SET
    times = r.times + EXCLUDED.times, first_at = LEAST(r.first_at, EXCLUDED.first_at);
"""


def _rises(snapshots: str, posts: str, sign: int = 1) -> str:
    """Per (creator, account, quarter hour): `sign` × (snapshots, each metric's rises) of the
    snapshots of own posts; `posts` is a relation with posts' id, user_id, account_id, source."""
    rise = "CASE WHEN s.{m} > s.{m}_before THEN s.{m} - s.{m}_before ELSE 0 END"
    return f"""
SELECT s.user_id, p.account_id, {QUARTER.format(t="s.captured_at")} AS quarter,
    {sign} * count(*) AS snapshots, {_each(f"{sign} * sum({rise}) AS {{m}}")}
FROM {snapshots} s JOIN {posts} p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
"""


def _add(rises: str) -> str:
    """Add rows of `_rises` to growth_quarters (a quarter hour's row is made when missing)."""
    return f"""
INSERT INTO growth_quarters AS g (user_id, account_id, quarter, snapshots, {_each("{m}")})
SELECT user_id, account_id, quarter, sum(snapshots), {_each("sum({m})")} FROM ({rises}) c
GROUP BY user_id, account_id, quarter
ON CONFLICT (user_id, account_id, quarter) DO UPDATE SET
    snapshots = g.snapshots + EXCLUDED.snapshots, {_each("{m} = g.{m} + EXCLUDED.{m}")};
"""


def _take(rises: str) -> str:
    """Take rows of `_rises` from growth_quarters, only from rows that are there (a creator
    being deleted may have lost them already), and drop the rows left with no snapshot."""
    return f"""
UPDATE growth_quarters g SET snapshots = g.snapshots - c.snapshots, {_each("{m} = g.{m} - c.{m}")}
FROM ({rises}) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.account_id IS NOT DISTINCT FROM c.account_id;
DELETE FROM growth_quarters g USING ({rises}) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.snapshots <= 0;
"""


def function(name: str) -> str:
    """SQL creating a trigger function of FUNCTIONS, run as its owner (the schema's): whoever
    writes, every row is seen and kept. A row trigger (BEFORE DELETE) lets the delete go on."""
    returns = "OLD" if name == "stored_figures_post_deleted" else "NULL"
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
        f"SET search_path = public AS $$ BEGIN {FUNCTIONS[name]} RETURN {returns}; END $$"
    )


# The posts of the changed snapshots, their figures and reasons worked out again from all their snapshots.
_AGAIN = "(SELECT * FROM metric_snapshots WHERE post_id IN (SELECT post_id FROM old_rows))"
_RECOUNT = f"""
DELETE FROM post_figures WHERE post_id IN (SELECT post_id FROM old_rows);
DELETE FROM snapshot_reasons WHERE post_id IN (SELECT post_id FROM old_rows);
{_post_figures(_AGAIN)}{_reasons(_AGAIN)}"""
# The posts whose account or source (or owner) an update changed, before and after.
_MOVED = (
    "(SELECT o.* FROM {side} o JOIN {other} x ON x.id = o.id"
    " WHERE (o.account_id, o.source, o.user_id) IS DISTINCT FROM (x.account_id, x.source, x.user_id))"
)

# The posts whose copied columns an update changed: their figures take the new values.
_COPY = f"""
UPDATE post_figures f SET {", ".join(f"{c} = n.{c}" for c in POST_COPIES)}
FROM new_rows n
WHERE f.post_id = n.id AND ({", ".join(f"f.{c}" for c in POST_COPIES)}) IS DISTINCT FROM ({
    ", ".join(f"n.{c}" for c in POST_COPIES)
});
"""

# The post a row trigger is deleting.
_DELETED = "(SELECT OLD.id AS id, OLD.user_id AS user_id, OLD.account_id AS account_id, OLD.source AS source)"

# Trigger functions by name.
FUNCTIONS = {
    "stored_figures_insert": _post_figures("new_rows")
    + _reasons("new_rows")
    + _add(_rises("new_rows", "posts")),
    "stored_figures_update": _RECOUNT
    + _add(_rises("new_rows", "posts"))
    + _take(_rises("old_rows", "posts")),
    "stored_figures_snapshots_deleted": _RECOUNT + _take(_rises("old_rows", "posts")),
    "stored_figures_post_deleted": _take(_rises("metric_snapshots", _DELETED)),
    "stored_figures_post_changed": (
        _take(_rises("metric_snapshots", _MOVED.format(side="old_rows", other="new_rows")))
        + _add(_rises("metric_snapshots", _MOVED.format(side="new_rows", other="old_rows")))
        + _COPY
    ),
}

TRIGGERS = (
    # Named to run before 0018's `metric_snapshots_raise_later` (AFTER triggers run by name).
    "CREATE TRIGGER metric_snapshots_figures_insert AFTER INSERT ON metric_snapshots "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stored_figures_insert()",
    "CREATE TRIGGER metric_snapshots_figures_update AFTER UPDATE ON metric_snapshots "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION stored_figures_update()",
    "CREATE TRIGGER metric_snapshots_figures_delete AFTER DELETE ON metric_snapshots "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stored_figures_snapshots_deleted()",
    "CREATE TRIGGER posts_figures_delete BEFORE DELETE ON posts "
    "FOR EACH ROW EXECUTE FUNCTION stored_figures_post_deleted()",
    "CREATE TRIGGER posts_figures_update AFTER UPDATE ON posts "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION stored_figures_post_changed()",
)

# Everything from the snapshots stored so far (the tables empty).
FILL = (
    _post_figures("metric_snapshots"),
    _reasons("metric_snapshots"),
    _add(_rises("metric_snapshots", "posts")),
)
