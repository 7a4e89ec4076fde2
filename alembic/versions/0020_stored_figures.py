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

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("post_figures", "growth_quarters", "snapshot_reasons")

# The SQL this migration ran, frozen as text: `assetry.stored_figures` (which later migrations
# change) wrote it then. FILL computes the tables from the stored snapshots; FUNCTIONS (by name)
# create the trigger functions TRIGGERS run.
FILL = (
    """
INSERT INTO post_figures AS f (post_id, user_id, latest_at, missing, views_now, views_at, views_high, views_first, views_count, likes_now, likes_at, likes_high, likes_first, likes_count, comments_now, comments_at, comments_high, comments_first, comments_count, shares_now, shares_at, shares_high, shares_first, shares_count, saves_now, saves_at, saves_high, saves_first, saves_count, reach_now, reach_at, reach_high, reach_first, reach_count, interactions_now, interactions_at, interactions_high, interactions_first, interactions_count)
SELECT s.post_id, p.user_id, max(s.captured_at),
    (array_agg(s.missing ORDER BY s.captured_at DESC, CAST(s.missing AS text) DESC))[1], (array_agg(s.views ORDER BY s.captured_at DESC, s.views DESC) FILTER (WHERE s.views IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.views IS NOT NULL), max(s.views), coalesce(sum(s.views) FILTER (WHERE s.views_before IS NULL), 0), count(s.views), (array_agg(s.likes ORDER BY s.captured_at DESC, s.likes DESC) FILTER (WHERE s.likes IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.likes IS NOT NULL), max(s.likes), coalesce(sum(s.likes) FILTER (WHERE s.likes_before IS NULL), 0), count(s.likes), (array_agg(s.comments ORDER BY s.captured_at DESC, s.comments DESC) FILTER (WHERE s.comments IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.comments IS NOT NULL), max(s.comments), coalesce(sum(s.comments) FILTER (WHERE s.comments_before IS NULL), 0), count(s.comments), (array_agg(s.shares ORDER BY s.captured_at DESC, s.shares DESC) FILTER (WHERE s.shares IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.shares IS NOT NULL), max(s.shares), coalesce(sum(s.shares) FILTER (WHERE s.shares_before IS NULL), 0), count(s.shares), (array_agg(s.saves ORDER BY s.captured_at DESC, s.saves DESC) FILTER (WHERE s.saves IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.saves IS NOT NULL), max(s.saves), coalesce(sum(s.saves) FILTER (WHERE s.saves_before IS NULL), 0), count(s.saves), (array_agg(s.reach ORDER BY s.captured_at DESC, s.reach DESC) FILTER (WHERE s.reach IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.reach IS NOT NULL), max(s.reach), coalesce(sum(s.reach) FILTER (WHERE s.reach_before IS NULL), 0), count(s.reach), (array_agg(s.interactions ORDER BY s.captured_at DESC, s.interactions DESC) FILTER (WHERE s.interactions IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.interactions IS NOT NULL), max(s.interactions), coalesce(sum(s.interactions) FILTER (WHERE s.interactions_before IS NULL), 0), count(s.interactions)
FROM metric_snapshots s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
GROUP BY s.post_id, p.user_id
ON CONFLICT (post_id) DO UPDATE SET
    latest_at = GREATEST(f.latest_at, EXCLUDED.latest_at),
    missing = CASE WHEN f.latest_at IS NULL OR EXCLUDED.latest_at > f.latest_at
                        OR (EXCLUDED.latest_at = f.latest_at
                            AND CAST(EXCLUDED.missing AS text) > CAST(f.missing AS text))
                   THEN EXCLUDED.missing ELSE f.missing END, views_now = CASE WHEN f.views_at IS NULL OR EXCLUDED.views_at > f.views_at OR (EXCLUDED.views_at = f.views_at AND EXCLUDED.views_now > f.views_now) THEN EXCLUDED.views_now ELSE f.views_now END, views_at = GREATEST(f.views_at, EXCLUDED.views_at), views_high = GREATEST(f.views_high, EXCLUDED.views_high), views_first = f.views_first + EXCLUDED.views_first, views_count = f.views_count + EXCLUDED.views_count, likes_now = CASE WHEN f.likes_at IS NULL OR EXCLUDED.likes_at > f.likes_at OR (EXCLUDED.likes_at = f.likes_at AND EXCLUDED.likes_now > f.likes_now) THEN EXCLUDED.likes_now ELSE f.likes_now END, likes_at = GREATEST(f.likes_at, EXCLUDED.likes_at), likes_high = GREATEST(f.likes_high, EXCLUDED.likes_high), likes_first = f.likes_first + EXCLUDED.likes_first, likes_count = f.likes_count + EXCLUDED.likes_count, comments_now = CASE WHEN f.comments_at IS NULL OR EXCLUDED.comments_at > f.comments_at OR (EXCLUDED.comments_at = f.comments_at AND EXCLUDED.comments_now > f.comments_now) THEN EXCLUDED.comments_now ELSE f.comments_now END, comments_at = GREATEST(f.comments_at, EXCLUDED.comments_at), comments_high = GREATEST(f.comments_high, EXCLUDED.comments_high), comments_first = f.comments_first + EXCLUDED.comments_first, comments_count = f.comments_count + EXCLUDED.comments_count, shares_now = CASE WHEN f.shares_at IS NULL OR EXCLUDED.shares_at > f.shares_at OR (EXCLUDED.shares_at = f.shares_at AND EXCLUDED.shares_now > f.shares_now) THEN EXCLUDED.shares_now ELSE f.shares_now END, shares_at = GREATEST(f.shares_at, EXCLUDED.shares_at), shares_high = GREATEST(f.shares_high, EXCLUDED.shares_high), shares_first = f.shares_first + EXCLUDED.shares_first, shares_count = f.shares_count + EXCLUDED.shares_count, saves_now = CASE WHEN f.saves_at IS NULL OR EXCLUDED.saves_at > f.saves_at OR (EXCLUDED.saves_at = f.saves_at AND EXCLUDED.saves_now > f.saves_now) THEN EXCLUDED.saves_now ELSE f.saves_now END, saves_at = GREATEST(f.saves_at, EXCLUDED.saves_at), saves_high = GREATEST(f.saves_high, EXCLUDED.saves_high), saves_first = f.saves_first + EXCLUDED.saves_first, saves_count = f.saves_count + EXCLUDED.saves_count, reach_now = CASE WHEN f.reach_at IS NULL OR EXCLUDED.reach_at > f.reach_at OR (EXCLUDED.reach_at = f.reach_at AND EXCLUDED.reach_now > f.reach_now) THEN EXCLUDED.reach_now ELSE f.reach_now END, reach_at = GREATEST(f.reach_at, EXCLUDED.reach_at), reach_high = GREATEST(f.reach_high, EXCLUDED.reach_high), reach_first = f.reach_first + EXCLUDED.reach_first, reach_count = f.reach_count + EXCLUDED.reach_count, interactions_now = CASE WHEN f.interactions_at IS NULL OR EXCLUDED.interactions_at > f.interactions_at OR (EXCLUDED.interactions_at = f.interactions_at AND EXCLUDED.interactions_now > f.interactions_now) THEN EXCLUDED.interactions_now ELSE f.interactions_now END, interactions_at = GREATEST(f.interactions_at, EXCLUDED.interactions_at), interactions_high = GREATEST(f.interactions_high, EXCLUDED.interactions_high), interactions_first = f.interactions_first + EXCLUDED.interactions_first, interactions_count = f.interactions_count + EXCLUDED.interactions_count;
""",
    """
INSERT INTO snapshot_reasons AS r (user_id, post_id, missing, times, first_at)
SELECT p.user_id, s.post_id, CAST(s.missing AS text), count(*), min(s.captured_at)
FROM metric_snapshots s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE CAST(s.missing AS text) <> '{}'
GROUP BY p.user_id, s.post_id, CAST(s.missing AS text)
ON CONFLICT (post_id, missing) DO UPDATE SET
    times = r.times + EXCLUDED.times, first_at = LEAST(r.first_at, EXCLUDED.first_at);
""",
    """
INSERT INTO growth_quarters AS g (user_id, account_id, quarter, snapshots, views, likes, comments, shares, saves, reach, interactions)
SELECT user_id, account_id, quarter, sum(snapshots), sum(views), sum(likes), sum(comments), sum(shares), sum(saves), sum(reach), sum(interactions) FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM metric_snapshots s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
GROUP BY user_id, account_id, quarter
ON CONFLICT (user_id, account_id, quarter) DO UPDATE SET
    snapshots = g.snapshots + EXCLUDED.snapshots, views = g.views + EXCLUDED.views, likes = g.likes + EXCLUDED.likes, comments = g.comments + EXCLUDED.comments, shares = g.shares + EXCLUDED.shares, saves = g.saves + EXCLUDED.saves, reach = g.reach + EXCLUDED.reach, interactions = g.interactions + EXCLUDED.interactions;
""",
)
FUNCTIONS = {
    "stored_figures_insert": """CREATE FUNCTION stored_figures_insert() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$ BEGIN 
INSERT INTO post_figures AS f (post_id, user_id, latest_at, missing, views_now, views_at, views_high, views_first, views_count, likes_now, likes_at, likes_high, likes_first, likes_count, comments_now, comments_at, comments_high, comments_first, comments_count, shares_now, shares_at, shares_high, shares_first, shares_count, saves_now, saves_at, saves_high, saves_first, saves_count, reach_now, reach_at, reach_high, reach_first, reach_count, interactions_now, interactions_at, interactions_high, interactions_first, interactions_count)
SELECT s.post_id, p.user_id, max(s.captured_at),
    (array_agg(s.missing ORDER BY s.captured_at DESC, CAST(s.missing AS text) DESC))[1], (array_agg(s.views ORDER BY s.captured_at DESC, s.views DESC) FILTER (WHERE s.views IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.views IS NOT NULL), max(s.views), coalesce(sum(s.views) FILTER (WHERE s.views_before IS NULL), 0), count(s.views), (array_agg(s.likes ORDER BY s.captured_at DESC, s.likes DESC) FILTER (WHERE s.likes IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.likes IS NOT NULL), max(s.likes), coalesce(sum(s.likes) FILTER (WHERE s.likes_before IS NULL), 0), count(s.likes), (array_agg(s.comments ORDER BY s.captured_at DESC, s.comments DESC) FILTER (WHERE s.comments IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.comments IS NOT NULL), max(s.comments), coalesce(sum(s.comments) FILTER (WHERE s.comments_before IS NULL), 0), count(s.comments), (array_agg(s.shares ORDER BY s.captured_at DESC, s.shares DESC) FILTER (WHERE s.shares IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.shares IS NOT NULL), max(s.shares), coalesce(sum(s.shares) FILTER (WHERE s.shares_before IS NULL), 0), count(s.shares), (array_agg(s.saves ORDER BY s.captured_at DESC, s.saves DESC) FILTER (WHERE s.saves IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.saves IS NOT NULL), max(s.saves), coalesce(sum(s.saves) FILTER (WHERE s.saves_before IS NULL), 0), count(s.saves), (array_agg(s.reach ORDER BY s.captured_at DESC, s.reach DESC) FILTER (WHERE s.reach IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.reach IS NOT NULL), max(s.reach), coalesce(sum(s.reach) FILTER (WHERE s.reach_before IS NULL), 0), count(s.reach), (array_agg(s.interactions ORDER BY s.captured_at DESC, s.interactions DESC) FILTER (WHERE s.interactions IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.interactions IS NOT NULL), max(s.interactions), coalesce(sum(s.interactions) FILTER (WHERE s.interactions_before IS NULL), 0), count(s.interactions)
FROM new_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
GROUP BY s.post_id, p.user_id
ON CONFLICT (post_id) DO UPDATE SET
    latest_at = GREATEST(f.latest_at, EXCLUDED.latest_at),
    missing = CASE WHEN f.latest_at IS NULL OR EXCLUDED.latest_at > f.latest_at
                        OR (EXCLUDED.latest_at = f.latest_at
                            AND CAST(EXCLUDED.missing AS text) > CAST(f.missing AS text))
                   THEN EXCLUDED.missing ELSE f.missing END, views_now = CASE WHEN f.views_at IS NULL OR EXCLUDED.views_at > f.views_at OR (EXCLUDED.views_at = f.views_at AND EXCLUDED.views_now > f.views_now) THEN EXCLUDED.views_now ELSE f.views_now END, views_at = GREATEST(f.views_at, EXCLUDED.views_at), views_high = GREATEST(f.views_high, EXCLUDED.views_high), views_first = f.views_first + EXCLUDED.views_first, views_count = f.views_count + EXCLUDED.views_count, likes_now = CASE WHEN f.likes_at IS NULL OR EXCLUDED.likes_at > f.likes_at OR (EXCLUDED.likes_at = f.likes_at AND EXCLUDED.likes_now > f.likes_now) THEN EXCLUDED.likes_now ELSE f.likes_now END, likes_at = GREATEST(f.likes_at, EXCLUDED.likes_at), likes_high = GREATEST(f.likes_high, EXCLUDED.likes_high), likes_first = f.likes_first + EXCLUDED.likes_first, likes_count = f.likes_count + EXCLUDED.likes_count, comments_now = CASE WHEN f.comments_at IS NULL OR EXCLUDED.comments_at > f.comments_at OR (EXCLUDED.comments_at = f.comments_at AND EXCLUDED.comments_now > f.comments_now) THEN EXCLUDED.comments_now ELSE f.comments_now END, comments_at = GREATEST(f.comments_at, EXCLUDED.comments_at), comments_high = GREATEST(f.comments_high, EXCLUDED.comments_high), comments_first = f.comments_first + EXCLUDED.comments_first, comments_count = f.comments_count + EXCLUDED.comments_count, shares_now = CASE WHEN f.shares_at IS NULL OR EXCLUDED.shares_at > f.shares_at OR (EXCLUDED.shares_at = f.shares_at AND EXCLUDED.shares_now > f.shares_now) THEN EXCLUDED.shares_now ELSE f.shares_now END, shares_at = GREATEST(f.shares_at, EXCLUDED.shares_at), shares_high = GREATEST(f.shares_high, EXCLUDED.shares_high), shares_first = f.shares_first + EXCLUDED.shares_first, shares_count = f.shares_count + EXCLUDED.shares_count, saves_now = CASE WHEN f.saves_at IS NULL OR EXCLUDED.saves_at > f.saves_at OR (EXCLUDED.saves_at = f.saves_at AND EXCLUDED.saves_now > f.saves_now) THEN EXCLUDED.saves_now ELSE f.saves_now END, saves_at = GREATEST(f.saves_at, EXCLUDED.saves_at), saves_high = GREATEST(f.saves_high, EXCLUDED.saves_high), saves_first = f.saves_first + EXCLUDED.saves_first, saves_count = f.saves_count + EXCLUDED.saves_count, reach_now = CASE WHEN f.reach_at IS NULL OR EXCLUDED.reach_at > f.reach_at OR (EXCLUDED.reach_at = f.reach_at AND EXCLUDED.reach_now > f.reach_now) THEN EXCLUDED.reach_now ELSE f.reach_now END, reach_at = GREATEST(f.reach_at, EXCLUDED.reach_at), reach_high = GREATEST(f.reach_high, EXCLUDED.reach_high), reach_first = f.reach_first + EXCLUDED.reach_first, reach_count = f.reach_count + EXCLUDED.reach_count, interactions_now = CASE WHEN f.interactions_at IS NULL OR EXCLUDED.interactions_at > f.interactions_at OR (EXCLUDED.interactions_at = f.interactions_at AND EXCLUDED.interactions_now > f.interactions_now) THEN EXCLUDED.interactions_now ELSE f.interactions_now END, interactions_at = GREATEST(f.interactions_at, EXCLUDED.interactions_at), interactions_high = GREATEST(f.interactions_high, EXCLUDED.interactions_high), interactions_first = f.interactions_first + EXCLUDED.interactions_first, interactions_count = f.interactions_count + EXCLUDED.interactions_count;

INSERT INTO snapshot_reasons AS r (user_id, post_id, missing, times, first_at)
SELECT p.user_id, s.post_id, CAST(s.missing AS text), count(*), min(s.captured_at)
FROM new_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE CAST(s.missing AS text) <> '{}'
GROUP BY p.user_id, s.post_id, CAST(s.missing AS text)
ON CONFLICT (post_id, missing) DO UPDATE SET
    times = r.times + EXCLUDED.times, first_at = LEAST(r.first_at, EXCLUDED.first_at);

INSERT INTO growth_quarters AS g (user_id, account_id, quarter, snapshots, views, likes, comments, shares, saves, reach, interactions)
SELECT user_id, account_id, quarter, sum(snapshots), sum(views), sum(likes), sum(comments), sum(shares), sum(saves), sum(reach), sum(interactions) FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM new_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
GROUP BY user_id, account_id, quarter
ON CONFLICT (user_id, account_id, quarter) DO UPDATE SET
    snapshots = g.snapshots + EXCLUDED.snapshots, views = g.views + EXCLUDED.views, likes = g.likes + EXCLUDED.likes, comments = g.comments + EXCLUDED.comments, shares = g.shares + EXCLUDED.shares, saves = g.saves + EXCLUDED.saves, reach = g.reach + EXCLUDED.reach, interactions = g.interactions + EXCLUDED.interactions;
 RETURN NULL; END $$""",
    "stored_figures_update": """CREATE FUNCTION stored_figures_update() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$ BEGIN 
DELETE FROM post_figures WHERE post_id IN (SELECT post_id FROM old_rows);
DELETE FROM snapshot_reasons WHERE post_id IN (SELECT post_id FROM old_rows);

INSERT INTO post_figures AS f (post_id, user_id, latest_at, missing, views_now, views_at, views_high, views_first, views_count, likes_now, likes_at, likes_high, likes_first, likes_count, comments_now, comments_at, comments_high, comments_first, comments_count, shares_now, shares_at, shares_high, shares_first, shares_count, saves_now, saves_at, saves_high, saves_first, saves_count, reach_now, reach_at, reach_high, reach_first, reach_count, interactions_now, interactions_at, interactions_high, interactions_first, interactions_count)
SELECT s.post_id, p.user_id, max(s.captured_at),
    (array_agg(s.missing ORDER BY s.captured_at DESC, CAST(s.missing AS text) DESC))[1], (array_agg(s.views ORDER BY s.captured_at DESC, s.views DESC) FILTER (WHERE s.views IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.views IS NOT NULL), max(s.views), coalesce(sum(s.views) FILTER (WHERE s.views_before IS NULL), 0), count(s.views), (array_agg(s.likes ORDER BY s.captured_at DESC, s.likes DESC) FILTER (WHERE s.likes IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.likes IS NOT NULL), max(s.likes), coalesce(sum(s.likes) FILTER (WHERE s.likes_before IS NULL), 0), count(s.likes), (array_agg(s.comments ORDER BY s.captured_at DESC, s.comments DESC) FILTER (WHERE s.comments IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.comments IS NOT NULL), max(s.comments), coalesce(sum(s.comments) FILTER (WHERE s.comments_before IS NULL), 0), count(s.comments), (array_agg(s.shares ORDER BY s.captured_at DESC, s.shares DESC) FILTER (WHERE s.shares IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.shares IS NOT NULL), max(s.shares), coalesce(sum(s.shares) FILTER (WHERE s.shares_before IS NULL), 0), count(s.shares), (array_agg(s.saves ORDER BY s.captured_at DESC, s.saves DESC) FILTER (WHERE s.saves IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.saves IS NOT NULL), max(s.saves), coalesce(sum(s.saves) FILTER (WHERE s.saves_before IS NULL), 0), count(s.saves), (array_agg(s.reach ORDER BY s.captured_at DESC, s.reach DESC) FILTER (WHERE s.reach IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.reach IS NOT NULL), max(s.reach), coalesce(sum(s.reach) FILTER (WHERE s.reach_before IS NULL), 0), count(s.reach), (array_agg(s.interactions ORDER BY s.captured_at DESC, s.interactions DESC) FILTER (WHERE s.interactions IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.interactions IS NOT NULL), max(s.interactions), coalesce(sum(s.interactions) FILTER (WHERE s.interactions_before IS NULL), 0), count(s.interactions)
FROM (SELECT * FROM metric_snapshots WHERE post_id IN (SELECT post_id FROM old_rows)) s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
GROUP BY s.post_id, p.user_id
ON CONFLICT (post_id) DO UPDATE SET
    latest_at = GREATEST(f.latest_at, EXCLUDED.latest_at),
    missing = CASE WHEN f.latest_at IS NULL OR EXCLUDED.latest_at > f.latest_at
                        OR (EXCLUDED.latest_at = f.latest_at
                            AND CAST(EXCLUDED.missing AS text) > CAST(f.missing AS text))
                   THEN EXCLUDED.missing ELSE f.missing END, views_now = CASE WHEN f.views_at IS NULL OR EXCLUDED.views_at > f.views_at OR (EXCLUDED.views_at = f.views_at AND EXCLUDED.views_now > f.views_now) THEN EXCLUDED.views_now ELSE f.views_now END, views_at = GREATEST(f.views_at, EXCLUDED.views_at), views_high = GREATEST(f.views_high, EXCLUDED.views_high), views_first = f.views_first + EXCLUDED.views_first, views_count = f.views_count + EXCLUDED.views_count, likes_now = CASE WHEN f.likes_at IS NULL OR EXCLUDED.likes_at > f.likes_at OR (EXCLUDED.likes_at = f.likes_at AND EXCLUDED.likes_now > f.likes_now) THEN EXCLUDED.likes_now ELSE f.likes_now END, likes_at = GREATEST(f.likes_at, EXCLUDED.likes_at), likes_high = GREATEST(f.likes_high, EXCLUDED.likes_high), likes_first = f.likes_first + EXCLUDED.likes_first, likes_count = f.likes_count + EXCLUDED.likes_count, comments_now = CASE WHEN f.comments_at IS NULL OR EXCLUDED.comments_at > f.comments_at OR (EXCLUDED.comments_at = f.comments_at AND EXCLUDED.comments_now > f.comments_now) THEN EXCLUDED.comments_now ELSE f.comments_now END, comments_at = GREATEST(f.comments_at, EXCLUDED.comments_at), comments_high = GREATEST(f.comments_high, EXCLUDED.comments_high), comments_first = f.comments_first + EXCLUDED.comments_first, comments_count = f.comments_count + EXCLUDED.comments_count, shares_now = CASE WHEN f.shares_at IS NULL OR EXCLUDED.shares_at > f.shares_at OR (EXCLUDED.shares_at = f.shares_at AND EXCLUDED.shares_now > f.shares_now) THEN EXCLUDED.shares_now ELSE f.shares_now END, shares_at = GREATEST(f.shares_at, EXCLUDED.shares_at), shares_high = GREATEST(f.shares_high, EXCLUDED.shares_high), shares_first = f.shares_first + EXCLUDED.shares_first, shares_count = f.shares_count + EXCLUDED.shares_count, saves_now = CASE WHEN f.saves_at IS NULL OR EXCLUDED.saves_at > f.saves_at OR (EXCLUDED.saves_at = f.saves_at AND EXCLUDED.saves_now > f.saves_now) THEN EXCLUDED.saves_now ELSE f.saves_now END, saves_at = GREATEST(f.saves_at, EXCLUDED.saves_at), saves_high = GREATEST(f.saves_high, EXCLUDED.saves_high), saves_first = f.saves_first + EXCLUDED.saves_first, saves_count = f.saves_count + EXCLUDED.saves_count, reach_now = CASE WHEN f.reach_at IS NULL OR EXCLUDED.reach_at > f.reach_at OR (EXCLUDED.reach_at = f.reach_at AND EXCLUDED.reach_now > f.reach_now) THEN EXCLUDED.reach_now ELSE f.reach_now END, reach_at = GREATEST(f.reach_at, EXCLUDED.reach_at), reach_high = GREATEST(f.reach_high, EXCLUDED.reach_high), reach_first = f.reach_first + EXCLUDED.reach_first, reach_count = f.reach_count + EXCLUDED.reach_count, interactions_now = CASE WHEN f.interactions_at IS NULL OR EXCLUDED.interactions_at > f.interactions_at OR (EXCLUDED.interactions_at = f.interactions_at AND EXCLUDED.interactions_now > f.interactions_now) THEN EXCLUDED.interactions_now ELSE f.interactions_now END, interactions_at = GREATEST(f.interactions_at, EXCLUDED.interactions_at), interactions_high = GREATEST(f.interactions_high, EXCLUDED.interactions_high), interactions_first = f.interactions_first + EXCLUDED.interactions_first, interactions_count = f.interactions_count + EXCLUDED.interactions_count;

INSERT INTO snapshot_reasons AS r (user_id, post_id, missing, times, first_at)
SELECT p.user_id, s.post_id, CAST(s.missing AS text), count(*), min(s.captured_at)
FROM (SELECT * FROM metric_snapshots WHERE post_id IN (SELECT post_id FROM old_rows)) s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE CAST(s.missing AS text) <> '{}'
GROUP BY p.user_id, s.post_id, CAST(s.missing AS text)
ON CONFLICT (post_id, missing) DO UPDATE SET
    times = r.times + EXCLUDED.times, first_at = LEAST(r.first_at, EXCLUDED.first_at);

INSERT INTO growth_quarters AS g (user_id, account_id, quarter, snapshots, views, likes, comments, shares, saves, reach, interactions)
SELECT user_id, account_id, quarter, sum(snapshots), sum(views), sum(likes), sum(comments), sum(shares), sum(saves), sum(reach), sum(interactions) FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM new_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
GROUP BY user_id, account_id, quarter
ON CONFLICT (user_id, account_id, quarter) DO UPDATE SET
    snapshots = g.snapshots + EXCLUDED.snapshots, views = g.views + EXCLUDED.views, likes = g.likes + EXCLUDED.likes, comments = g.comments + EXCLUDED.comments, shares = g.shares + EXCLUDED.shares, saves = g.saves + EXCLUDED.saves, reach = g.reach + EXCLUDED.reach, interactions = g.interactions + EXCLUDED.interactions;

UPDATE growth_quarters g SET snapshots = g.snapshots - c.snapshots, views = g.views - c.views, likes = g.likes - c.likes, comments = g.comments - c.comments, shares = g.shares - c.shares, saves = g.saves - c.saves, reach = g.reach - c.reach, interactions = g.interactions - c.interactions
FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM old_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.account_id IS NOT DISTINCT FROM c.account_id;
DELETE FROM growth_quarters g USING (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM old_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.snapshots <= 0;
 RETURN NULL; END $$""",
    "stored_figures_snapshots_deleted": """CREATE FUNCTION stored_figures_snapshots_deleted() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$ BEGIN 
DELETE FROM post_figures WHERE post_id IN (SELECT post_id FROM old_rows);
DELETE FROM snapshot_reasons WHERE post_id IN (SELECT post_id FROM old_rows);

INSERT INTO post_figures AS f (post_id, user_id, latest_at, missing, views_now, views_at, views_high, views_first, views_count, likes_now, likes_at, likes_high, likes_first, likes_count, comments_now, comments_at, comments_high, comments_first, comments_count, shares_now, shares_at, shares_high, shares_first, shares_count, saves_now, saves_at, saves_high, saves_first, saves_count, reach_now, reach_at, reach_high, reach_first, reach_count, interactions_now, interactions_at, interactions_high, interactions_first, interactions_count)
SELECT s.post_id, p.user_id, max(s.captured_at),
    (array_agg(s.missing ORDER BY s.captured_at DESC, CAST(s.missing AS text) DESC))[1], (array_agg(s.views ORDER BY s.captured_at DESC, s.views DESC) FILTER (WHERE s.views IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.views IS NOT NULL), max(s.views), coalesce(sum(s.views) FILTER (WHERE s.views_before IS NULL), 0), count(s.views), (array_agg(s.likes ORDER BY s.captured_at DESC, s.likes DESC) FILTER (WHERE s.likes IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.likes IS NOT NULL), max(s.likes), coalesce(sum(s.likes) FILTER (WHERE s.likes_before IS NULL), 0), count(s.likes), (array_agg(s.comments ORDER BY s.captured_at DESC, s.comments DESC) FILTER (WHERE s.comments IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.comments IS NOT NULL), max(s.comments), coalesce(sum(s.comments) FILTER (WHERE s.comments_before IS NULL), 0), count(s.comments), (array_agg(s.shares ORDER BY s.captured_at DESC, s.shares DESC) FILTER (WHERE s.shares IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.shares IS NOT NULL), max(s.shares), coalesce(sum(s.shares) FILTER (WHERE s.shares_before IS NULL), 0), count(s.shares), (array_agg(s.saves ORDER BY s.captured_at DESC, s.saves DESC) FILTER (WHERE s.saves IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.saves IS NOT NULL), max(s.saves), coalesce(sum(s.saves) FILTER (WHERE s.saves_before IS NULL), 0), count(s.saves), (array_agg(s.reach ORDER BY s.captured_at DESC, s.reach DESC) FILTER (WHERE s.reach IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.reach IS NOT NULL), max(s.reach), coalesce(sum(s.reach) FILTER (WHERE s.reach_before IS NULL), 0), count(s.reach), (array_agg(s.interactions ORDER BY s.captured_at DESC, s.interactions DESC) FILTER (WHERE s.interactions IS NOT NULL))[1], max(s.captured_at) FILTER (WHERE s.interactions IS NOT NULL), max(s.interactions), coalesce(sum(s.interactions) FILTER (WHERE s.interactions_before IS NULL), 0), count(s.interactions)
FROM (SELECT * FROM metric_snapshots WHERE post_id IN (SELECT post_id FROM old_rows)) s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
GROUP BY s.post_id, p.user_id
ON CONFLICT (post_id) DO UPDATE SET
    latest_at = GREATEST(f.latest_at, EXCLUDED.latest_at),
    missing = CASE WHEN f.latest_at IS NULL OR EXCLUDED.latest_at > f.latest_at
                        OR (EXCLUDED.latest_at = f.latest_at
                            AND CAST(EXCLUDED.missing AS text) > CAST(f.missing AS text))
                   THEN EXCLUDED.missing ELSE f.missing END, views_now = CASE WHEN f.views_at IS NULL OR EXCLUDED.views_at > f.views_at OR (EXCLUDED.views_at = f.views_at AND EXCLUDED.views_now > f.views_now) THEN EXCLUDED.views_now ELSE f.views_now END, views_at = GREATEST(f.views_at, EXCLUDED.views_at), views_high = GREATEST(f.views_high, EXCLUDED.views_high), views_first = f.views_first + EXCLUDED.views_first, views_count = f.views_count + EXCLUDED.views_count, likes_now = CASE WHEN f.likes_at IS NULL OR EXCLUDED.likes_at > f.likes_at OR (EXCLUDED.likes_at = f.likes_at AND EXCLUDED.likes_now > f.likes_now) THEN EXCLUDED.likes_now ELSE f.likes_now END, likes_at = GREATEST(f.likes_at, EXCLUDED.likes_at), likes_high = GREATEST(f.likes_high, EXCLUDED.likes_high), likes_first = f.likes_first + EXCLUDED.likes_first, likes_count = f.likes_count + EXCLUDED.likes_count, comments_now = CASE WHEN f.comments_at IS NULL OR EXCLUDED.comments_at > f.comments_at OR (EXCLUDED.comments_at = f.comments_at AND EXCLUDED.comments_now > f.comments_now) THEN EXCLUDED.comments_now ELSE f.comments_now END, comments_at = GREATEST(f.comments_at, EXCLUDED.comments_at), comments_high = GREATEST(f.comments_high, EXCLUDED.comments_high), comments_first = f.comments_first + EXCLUDED.comments_first, comments_count = f.comments_count + EXCLUDED.comments_count, shares_now = CASE WHEN f.shares_at IS NULL OR EXCLUDED.shares_at > f.shares_at OR (EXCLUDED.shares_at = f.shares_at AND EXCLUDED.shares_now > f.shares_now) THEN EXCLUDED.shares_now ELSE f.shares_now END, shares_at = GREATEST(f.shares_at, EXCLUDED.shares_at), shares_high = GREATEST(f.shares_high, EXCLUDED.shares_high), shares_first = f.shares_first + EXCLUDED.shares_first, shares_count = f.shares_count + EXCLUDED.shares_count, saves_now = CASE WHEN f.saves_at IS NULL OR EXCLUDED.saves_at > f.saves_at OR (EXCLUDED.saves_at = f.saves_at AND EXCLUDED.saves_now > f.saves_now) THEN EXCLUDED.saves_now ELSE f.saves_now END, saves_at = GREATEST(f.saves_at, EXCLUDED.saves_at), saves_high = GREATEST(f.saves_high, EXCLUDED.saves_high), saves_first = f.saves_first + EXCLUDED.saves_first, saves_count = f.saves_count + EXCLUDED.saves_count, reach_now = CASE WHEN f.reach_at IS NULL OR EXCLUDED.reach_at > f.reach_at OR (EXCLUDED.reach_at = f.reach_at AND EXCLUDED.reach_now > f.reach_now) THEN EXCLUDED.reach_now ELSE f.reach_now END, reach_at = GREATEST(f.reach_at, EXCLUDED.reach_at), reach_high = GREATEST(f.reach_high, EXCLUDED.reach_high), reach_first = f.reach_first + EXCLUDED.reach_first, reach_count = f.reach_count + EXCLUDED.reach_count, interactions_now = CASE WHEN f.interactions_at IS NULL OR EXCLUDED.interactions_at > f.interactions_at OR (EXCLUDED.interactions_at = f.interactions_at AND EXCLUDED.interactions_now > f.interactions_now) THEN EXCLUDED.interactions_now ELSE f.interactions_now END, interactions_at = GREATEST(f.interactions_at, EXCLUDED.interactions_at), interactions_high = GREATEST(f.interactions_high, EXCLUDED.interactions_high), interactions_first = f.interactions_first + EXCLUDED.interactions_first, interactions_count = f.interactions_count + EXCLUDED.interactions_count;

INSERT INTO snapshot_reasons AS r (user_id, post_id, missing, times, first_at)
SELECT p.user_id, s.post_id, CAST(s.missing AS text), count(*), min(s.captured_at)
FROM (SELECT * FROM metric_snapshots WHERE post_id IN (SELECT post_id FROM old_rows)) s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE CAST(s.missing AS text) <> '{}'
GROUP BY p.user_id, s.post_id, CAST(s.missing AS text)
ON CONFLICT (post_id, missing) DO UPDATE SET
    times = r.times + EXCLUDED.times, first_at = LEAST(r.first_at, EXCLUDED.first_at);

UPDATE growth_quarters g SET snapshots = g.snapshots - c.snapshots, views = g.views - c.views, likes = g.likes - c.likes, comments = g.comments - c.comments, shares = g.shares - c.shares, saves = g.saves - c.saves, reach = g.reach - c.reach, interactions = g.interactions - c.interactions
FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM old_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.account_id IS NOT DISTINCT FROM c.account_id;
DELETE FROM growth_quarters g USING (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM old_rows s JOIN posts p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.snapshots <= 0;
 RETURN NULL; END $$""",
    "stored_figures_post_deleted": """CREATE FUNCTION stored_figures_post_deleted() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$ BEGIN 
UPDATE growth_quarters g SET snapshots = g.snapshots - c.snapshots, views = g.views - c.views, likes = g.likes - c.likes, comments = g.comments - c.comments, shares = g.shares - c.shares, saves = g.saves - c.saves, reach = g.reach - c.reach, interactions = g.interactions - c.interactions
FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM metric_snapshots s JOIN (SELECT OLD.id AS id, OLD.user_id AS user_id, OLD.account_id AS account_id, OLD.source AS source) p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.account_id IS NOT DISTINCT FROM c.account_id;
DELETE FROM growth_quarters g USING (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM metric_snapshots s JOIN (SELECT OLD.id AS id, OLD.user_id AS user_id, OLD.account_id AS account_id, OLD.source AS source) p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.snapshots <= 0;
 RETURN OLD; END $$""",
    "stored_figures_post_changed": """CREATE FUNCTION stored_figures_post_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$ BEGIN 
UPDATE growth_quarters g SET snapshots = g.snapshots - c.snapshots, views = g.views - c.views, likes = g.likes - c.likes, comments = g.comments - c.comments, shares = g.shares - c.shares, saves = g.saves - c.saves, reach = g.reach - c.reach, interactions = g.interactions - c.interactions
FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM metric_snapshots s JOIN (SELECT o.* FROM old_rows o JOIN new_rows x ON x.id = o.id WHERE (o.account_id, o.source, o.user_id) IS DISTINCT FROM (x.account_id, x.source, x.user_id)) p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.account_id IS NOT DISTINCT FROM c.account_id;
DELETE FROM growth_quarters g USING (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM metric_snapshots s JOIN (SELECT o.* FROM old_rows o JOIN new_rows x ON x.id = o.id WHERE (o.account_id, o.source, o.user_id) IS DISTINCT FROM (x.account_id, x.source, x.user_id)) p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
WHERE g.user_id = c.user_id AND g.quarter = c.quarter AND g.snapshots <= 0;

INSERT INTO growth_quarters AS g (user_id, account_id, quarter, snapshots, views, likes, comments, shares, saves, reach, interactions)
SELECT user_id, account_id, quarter, sum(snapshots), sum(views), sum(likes), sum(comments), sum(shares), sum(saves), sum(reach), sum(interactions) FROM (
SELECT s.user_id, p.account_id, date_bin('15 minutes', s.captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS quarter,
    1 * count(*) AS snapshots, 1 * sum(CASE WHEN s.views > s.views_before THEN s.views - s.views_before ELSE 0 END) AS views, 1 * sum(CASE WHEN s.likes > s.likes_before THEN s.likes - s.likes_before ELSE 0 END) AS likes, 1 * sum(CASE WHEN s.comments > s.comments_before THEN s.comments - s.comments_before ELSE 0 END) AS comments, 1 * sum(CASE WHEN s.shares > s.shares_before THEN s.shares - s.shares_before ELSE 0 END) AS shares, 1 * sum(CASE WHEN s.saves > s.saves_before THEN s.saves - s.saves_before ELSE 0 END) AS saves, 1 * sum(CASE WHEN s.reach > s.reach_before THEN s.reach - s.reach_before ELSE 0 END) AS reach, 1 * sum(CASE WHEN s.interactions > s.interactions_before THEN s.interactions - s.interactions_before ELSE 0 END) AS interactions
FROM metric_snapshots s JOIN (SELECT o.* FROM new_rows o JOIN old_rows x ON x.id = o.id WHERE (o.account_id, o.source, o.user_id) IS DISTINCT FROM (x.account_id, x.source, x.user_id)) p ON p.id = s.post_id AND p.user_id = s.user_id
WHERE p.source = 'own'
GROUP BY 1, 2, 3
) c
GROUP BY user_id, account_id, quarter
ON CONFLICT (user_id, account_id, quarter) DO UPDATE SET
    snapshots = g.snapshots + EXCLUDED.snapshots, views = g.views + EXCLUDED.views, likes = g.likes + EXCLUDED.likes, comments = g.comments + EXCLUDED.comments, shares = g.shares + EXCLUDED.shares, saves = g.saves + EXCLUDED.saves, reach = g.reach + EXCLUDED.reach, interactions = g.interactions + EXCLUDED.interactions;
 RETURN NULL; END $$""",
}
TRIGGERS = (
    'CREATE TRIGGER metric_snapshots_figures_insert AFTER INSERT ON metric_snapshots REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stored_figures_insert()',
    'CREATE TRIGGER metric_snapshots_figures_update AFTER UPDATE ON metric_snapshots REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stored_figures_update()',
    'CREATE TRIGGER metric_snapshots_figures_delete AFTER DELETE ON metric_snapshots REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stored_figures_snapshots_deleted()',
    'CREATE TRIGGER posts_figures_delete BEFORE DELETE ON posts FOR EACH ROW EXECUTE FUNCTION stored_figures_post_deleted()',
    'CREATE TRIGGER posts_figures_update AFTER UPDATE ON posts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stored_figures_post_changed()',
)


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
    for statement in FUNCTIONS.values():
        op.execute(statement)
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")  # and its trigger
    for table in reversed(TABLES):
        op.drop_table(table)
