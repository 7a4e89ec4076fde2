"""The SQL behind the dashboard: each statement adds up a creator's snapshots in the database
and returns only its small result (a row per day, per top post, per heatmap cell).

The rule is the one `services.dashboard` states: the first value seen of a post counts on
the day it was published; each later snapshot adds what rose above the highest value seen
before it, on the day it was captured. Each snapshot carries that highest earlier value
(`<metric>_before`, kept by the database on insert: migration 0018), so every figure is a
plain sum over the creator's rows of the covering index, with no pass over a post's history.

The dashboard's own statement reads running figures the database keeps instead (migration
0020: each post's latest, highest and first values, the creator's growth per quarter hour),
so a view reads a row per post and per quarter hour of its days (`STORED`); a range that
ended before the creator's latest snapshot reads the snapshots (`DASHBOARD`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select

from assetry.models import AccountSnapshot, ConnectedAccount, MetricSnapshot, Post
from assetry.models.analytics import METRICS
from assetry.services import local_time

TOP_POSTS = 10
# The oldest post a platform can have (YouTube opened in 2005; TikTok and Instagram later).
FIRST_POSTS = datetime(2005, 1, 1, tzinfo=UTC)


def snapshots(user_id: uuid.UUID, own_posts: list, end: datetime) -> sa.CTE:
    """The posts' snapshots captured before `end`, each with its post's publish time and, per
    metric, its value and the highest value seen before it (`<metric>_before`)."""
    columns = [MetricSnapshot.post_id, MetricSnapshot.captured_at, Post.posted_at]
    for metric in METRICS:
        columns += [getattr(MetricSnapshot, metric), getattr(MetricSnapshot, f"{metric}_before")]
    return (
        select(*columns)
        .join(Post, Post.id == MetricSnapshot.post_id)
        .where(MetricSnapshot.user_id == user_id, MetricSnapshot.captured_at < end, *own_posts)
        .cte("seen")
    )


def _first(seen: sa.CTE, metric: str):
    """The first value seen of the post (counted on its publish day), else NULL."""
    return sa.case((seen.c[f"{metric}_before"].is_(None), seen.c[metric]))


def _rise(seen: sa.CTE, metric: str):
    """What the snapshot rose above the highest value seen before it (counted on its capture day), else NULL."""
    value, before = seen.c[metric], seen.c[f"{metric}_before"]
    return sa.case((value > before, value - before))


def _sum(value):
    """SUM as a whole number (Postgres sums BIGINTs as NUMERIC)."""
    return sa.cast(sa.func.sum(value), sa.BigInteger)


def _latest_views(seen: sa.CTE):
    """SQL aggregate: the views of the post's latest snapshot that has them (the highest
    [capture time in microseconds, views] pair; of two at the same moment, the higher views)."""
    moment = sa.cast(sa.func.date_part("epoch", seen.c.captured_at) * 1_000_000, sa.BigInteger)
    pairs = sa.func.max(postgresql.array([moment, seen.c.views])).filter(seen.c.views.is_not(None))
    return sa.type_coerce(pairs, postgresql.ARRAY(sa.BigInteger))[2]


def gained_label(metric: str, n: int = 0) -> str:
    """The column of what a post gained of a metric in the n-th period `per_post` was given."""
    return f"{metric}_gained" if n == 0 else f"{metric}_gained_{n}"


def per_post(seen: sa.CTE, start: datetime, end: datetime, *more_starts: datetime) -> sa.Subquery:
    """Per post: its publish time, its latest views (`views_now`), how many snapshots have each
    metric (`<metric>_count`) and, per metric, what it gained between start and end
    (`<metric>_gained`, NULL when nothing counted then); with more starts (the same end),
    what it gained since each of those too (`gained_label(metric, n)`)."""
    return _per_post(seen, (start, *more_starts), end).subquery("per_post")


def _per_post(seen: sa.CTE, starts: Sequence[datetime], end: datetime) -> sa.Select:
    columns = [
        seen.c.post_id,
        sa.func.max(seen.c.posted_at).label("posted_at"),
        _latest_views(seen).label("views_now"),
        *(sa.func.count(seen.c[m]).label(f"{m}_count") for m in METRICS),
    ]
    for n, since in enumerate(starts):
        published_then = (seen.c.posted_at >= since) & (seen.c.posted_at < end)
        for metric in METRICS:
            counted = sa.case(
                (seen.c[f"{metric}_before"].is_(None), sa.case((published_then, seen.c[metric]))),
                (seen.c.captured_at >= since, _rise(seen, metric)),
            )
            columns.append(_sum(counted).label(gained_label(metric, n)))
    return select(*columns).group_by(seen.c.post_id)


def _each(template: str, sep: str = ", ") -> str:
    """SQL: `template` written out for each metric (`{m}` stands for its name)."""
    return sep.join(template.format(m=metric) for metric in METRICS)


# The creator's clock: the offset in force at an instant is the `offsets` entry after as many of
# the zone's `changes` (instants, oldest first) as have happened by then (`local_time` in SQL).
_CLOCK = (
    "(floor(date_part('epoch', {t}))::bigint"
    " + (CAST(:offsets AS int[]))[width_bucket({t}, CAST(:changes AS timestamptz[])) + 1])"
)
_DAY = f"({_CLOCK} / {local_time.DAY})"


def _followers_before(moment: str) -> str:
    """SQL: account `a`'s latest known followers captured before `moment`."""
    return (
        "(SELECT s.followers FROM account_snapshots s WHERE s.account_id = a.id"
        f" AND s.captured_at < {moment} AND s.followers IS NOT NULL ORDER BY s.captured_at DESC LIMIT 1)"
    )


# The CTEs each way of reading gives the shared rest of the statement (`_statement`):
# - per_post: per own post with snapshots, post_id, posted_at, platform, views_now (its latest views);
# - scored: per period and post, `views_now` and what the post gained of each metric then
#   (a column per metric, NULL: nothing counted);
# - shown: the top posts' columns as `dashboard_rows` says;
# - days: per local day (two rows can share one), the growth of each metric;
# - said: per (missing, post_id) of snapshots giving reasons, how many (`times`) and the first's `first_at`;
# - counts: one row, per metric how many snapshots have it.
_PERIODS = """periods AS (
    SELECT n - 1 AS period, start FROM unnest(CAST(:starts AS timestamptz[])) WITH ORDINALITY AS t(start, n)
)"""
_FOR_ACCOUNTS = "(CAST(:account_ids AS uuid[]) IS NULL OR {c} = ANY(CAST(:account_ids AS uuid[])))"

# Read from the snapshots: one pass over the creator's (the covering index, joined to the own
# posts). Right for any period, also one that ended before the latest snapshots.
FROM_SNAPSHOTS = f"""
seen AS MATERIALIZED (
    SELECT s.post_id, s.captured_at, p.posted_at, p.platform, {_each("s.{m}, s.{m}_before")},
        nullif(CAST(s.missing AS text), '{{}}') AS missing
    FROM metric_snapshots s JOIN posts p ON p.id = s.post_id
    WHERE s.user_id = :user_id AND s.captured_at < :end
      AND p.user_id = :user_id AND p.source = 'own' AND {_FOR_ACCOUNTS.format(c="p.account_id")}
), {_PERIODS}, latest AS (
    -- Each post's latest views: newest first on the covering index, no sort.
    SELECT DISTINCT ON (s.post_id) s.post_id, s.views
    FROM metric_snapshots s
    WHERE s.user_id = :user_id AND s.captured_at < :end AND s.views IS NOT NULL
    ORDER BY s.post_id DESC, s.captured_at DESC
), per_post AS MATERIALIZED (
    SELECT posted.post_id, posted.posted_at, posted.platform, latest.views AS views_now
    FROM (SELECT DISTINCT post_id, posted_at, platform FROM seen) posted
    LEFT JOIN latest ON latest.post_id = posted.post_id
), gains AS (
    -- The first value seen counts if the post was published in the period; a rise above the
    -- highest value before it, if captured in the period.
    SELECT periods.period, seen.post_id, {
    _each(
        "sum(CASE WHEN {m}_before IS NULL THEN CASE WHEN posted_at >= start THEN {m} END"
        " WHEN captured_at >= start AND {m} > {m}_before THEN {m} - {m}_before END)::bigint AS {m}"
    )
}
    FROM seen JOIN periods ON seen.captured_at >= periods.start OR seen.posted_at >= periods.start
    GROUP BY periods.period, seen.post_id
), scored AS (
    SELECT periods.period, per_post.post_id, per_post.views_now, {_each("gains.{m}")}
    FROM periods CROSS JOIN per_post
    LEFT JOIN gains ON gains.post_id = per_post.post_id AND gains.period = periods.period
), days AS (
    SELECT {_DAY.format(t="posted_at")} AS day, {
    _each("sum(CASE WHEN {m}_before IS NULL THEN {m} END)::bigint AS {m}")
}
    FROM seen WHERE posted_at >= :since AND posted_at < :end GROUP BY 1
    UNION ALL
    SELECT {_DAY.format(t="captured_at")}, {
    _each("sum(CASE WHEN {m} > {m}_before THEN {m} - {m}_before END)::bigint")
}
    FROM seen WHERE captured_at >= :since GROUP BY 1
), said AS (
    SELECT missing, post_id, count(*) AS times, min(captured_at) AS first_at
    FROM seen WHERE missing IS NOT NULL GROUP BY missing, post_id
), counts AS (
    SELECT {_each("count({m}) AS {m}")} FROM seen
)"""
FROM_SNAPSHOTS_SHOWN = f"""shown AS (
    -- The top posts' own columns, and each metric's latest value and reasons as of the end.
    SELECT p.id, p.platform, p.title, p.url, p.cover_url, p.posted_at, p.source, {
    _each(
        "(SELECT s.{m} FROM metric_snapshots s WHERE s.user_id = :user_id AND s.post_id = p.id"
        " AND s.captured_at < :end AND s.{m} IS NOT NULL ORDER BY s.captured_at DESC LIMIT 1) AS {m}_now"
    )
},
        (SELECT s.missing FROM metric_snapshots s WHERE s.user_id = :user_id AND s.post_id = p.id
         AND s.captured_at < :end ORDER BY s.captured_at DESC LIMIT 1) AS missing
    FROM posts p WHERE p.user_id = :user_id AND p.id IN (SELECT post_id FROM top)
)"""

# Read from the stored running figures (migrations 0020, 0021): a row per own post and per quarter
# hour of the days shown. Right when every snapshot of the creator was captured before the end.
# What a post gained since a start: its first value if it was published since; and its rises
# captured since, which add up to its highest value now less the highest before the start: the
# `<m>_before` of its earliest snapshot since then (the least of those captured at that moment;
# NULL: none before, so its first value was seen since then); none if it has no snapshot since.
# A post whose earliest snapshot came since the start is not looked up: at that first moment each
# `<m>_before` is NULL or the first value (the running highest of the snapshots stored before it).
_RISEN = "CASE WHEN own.latest_at >= periods.start THEN own.{m}_high - coalesce(b.{m}, own.{m}_first) END"
FROM_FIGURES = f"""
own AS MATERIALIZED (
    SELECT f.post_id, f.posted_at, f.platform, f.first_at, f.latest_at, f.missing, {
    _each("f.{m}_now, f.{m}_high, f.{m}_first, f.{m}_count")
}
    FROM post_figures f
    WHERE f.user_id = :user_id AND f.source = 'own' AND {_FOR_ACCOUNTS.format(c="f.account_id")}
), {_PERIODS}, per_post AS (
    SELECT post_id, posted_at, platform, views_now FROM own
), scored AS MATERIALIZED (
    SELECT periods.period, own.post_id, own.views_now, {
    _each(
        f"CASE WHEN own.posted_at >= periods.start AND own.{{m}}_count > 0"
        f" THEN own.{{m}}_first + coalesce({_RISEN}, 0) ELSE nullif({_RISEN}, 0) END AS {{m}}"
    )
}
    FROM own CROSS JOIN periods
    LEFT JOIN LATERAL (
        -- One descent of the covering index per post: the rank stops the scan after the first moment.
        SELECT {_each("min({m}_before) AS {m}")} FROM (
            SELECT {_each("s.{m}_before")}, rank() OVER (ORDER BY s.captured_at) AS place
            FROM metric_snapshots s
            WHERE own.latest_at >= periods.start AND own.first_at < periods.start
              AND s.user_id = :user_id AND s.post_id = own.post_id AND s.captured_at >= periods.start
        ) since WHERE place = 1
    ) b ON own.latest_at >= periods.start AND own.first_at < periods.start
), days AS (
    SELECT {_DAY.format(t="posted_at")} AS day, {
    _each("(sum({m}_first) FILTER (WHERE {m}_count > 0))::bigint AS {m}")
}
    FROM own WHERE posted_at >= :since AND posted_at < :end GROUP BY 1
    UNION ALL
    SELECT {_DAY.format(t="quarter")}, {_each("nullif(sum({m}), 0)::bigint")}
    FROM growth_quarters g
    WHERE g.user_id = :user_id AND g.quarter >= :since AND g.quarter < :end
      AND {_FOR_ACCOUNTS.format(c="g.account_id")}
    GROUP BY 1
), said AS (
    SELECT r.missing, r.post_id, r.times, r.first_at
    FROM snapshot_reasons r JOIN own ON own.post_id = r.post_id WHERE r.user_id = :user_id
), counts AS (
    SELECT {_each("sum({m}_count)::bigint AS {m}")} FROM own
)"""
FROM_FIGURES_SHOWN = f"""shown AS (
    SELECT p.id, p.platform, p.title, p.url, p.cover_url, p.posted_at, p.source, {_each("own.{m}_now")},
        own.missing
    FROM own JOIN posts p ON p.id = own.post_id
    WHERE own.post_id IN (SELECT post_id FROM top) AND p.user_id = :user_id
)"""


def _statement(sources: str, shown: str, *more: str) -> sa.TextClause:
    """The dashboard's statement on `sources` and `shown` (FROM_SNAPSHOTS or FROM_FIGURES and
    their `_SHOWN`): one row of JSON arrays, each small (see `dashboard_rows`), then the `more` columns."""
    return sa.text(
        f"""
WITH {sources}, top AS (
    SELECT periods.period, best.*
    FROM periods CROSS JOIN LATERAL (
        SELECT scored.post_id, scored.views_now, {_each("scored.{m}")}
        FROM scored WHERE scored.period = periods.period
        ORDER BY coalesce(scored.views, 0) DESC, coalesce(scored.views_now, 0) DESC, scored.post_id
        LIMIT {TOP_POSTS}
    ) best
), {shown}, published AS (
    SELECT ({_DAY.format(t="posted_at")} + {local_time.THURSDAY}) % 7 AS weekday,
        {_CLOCK.format(t="posted_at")} / {local_time.HOUR} % 24 AS hour, views_now AS views
    FROM per_post WHERE views_now IS NOT NULL
), ranked AS (
    SELECT weekday, hour, views, count(*) OVER cell AS n, row_number() OVER (cell ORDER BY views) AS place,
        count(*) OVER () AS every, row_number() OVER (ORDER BY views) AS every_place
    FROM published WINDOW cell AS (PARTITION BY weekday, hour)
), cells AS (
    -- Per cell the middle one or two of its posts' views; the typical post: the middle of all.
    SELECT weekday, hour, sum(views) FILTER (WHERE place IN ((n + 1) / 2, (n + 2) / 2))::bigint AS middle,
        count(*) FILTER (WHERE place IN ((n + 1) / 2, (n + 2) / 2)) AS count, max(n) AS posts,
        (SELECT avg(views) FROM ranked WHERE every_place IN ((every + 1) / 2, (every + 2) / 2))::float8
            AS typical
    FROM ranked GROUP BY weekday, hour
), reasons AS (
    -- Where reasons for missing numbers come from, and the first post (by id) to give each:
    -- a platform (its posts), or a snapshot's `missing` (the snapshots, the first one's time).
    SELECT DISTINCT ON (platform) 'platform' AS source, platform AS key,
        count(*) OVER (PARTITION BY platform) AS times, post_id, NULL::float8 AS moment
    FROM per_post ORDER BY platform, post_id
), reasons_given AS (
    SELECT DISTINCT ON (missing) 'snapshot' AS source, missing AS key,
        sum(times) OVER (PARTITION BY missing) AS times, post_id, date_part('epoch', first_at) AS moment
    FROM said ORDER BY missing, post_id, first_at
), accounts AS (
    -- Per connected account: its names, followers at the end and at each start.
    SELECT a.display_name, a.username, {_followers_before(":end")} AS now,
        ARRAY(SELECT {_followers_before("periods.start")} FROM periods ORDER BY period) AS before
    FROM connected_accounts a
    WHERE a.user_id = :user_id AND {_FOR_ACCOUNTS.format(c="a.id")}
)
SELECT
    (SELECT coalesce(json_agg(top), '[]') FROM top) AS posts,
    (SELECT coalesce(json_agg(shown), '[]') FROM shown) AS shown,
    (SELECT coalesce(json_agg(json_build_array(day, {_each("{m}")})), '[]')
     FROM (SELECT day, {_each("sum({m})::bigint AS {m}")} FROM days GROUP BY day) d) AS days,
    (SELECT coalesce(json_agg(json_build_array(weekday, hour, middle, count, posts, typical)), '[]')
     FROM cells) AS cells,
    (SELECT coalesce(json_agg(r), '[]') FROM (SELECT * FROM reasons UNION ALL SELECT * FROM reasons_given) r)
        AS reasons,
    (SELECT json_build_object({_each("'{m}', {m}")}) FROM counts) AS seen,
    ARRAY(
        SELECT (SELECT count(*) FROM posts p
                WHERE p.user_id = :user_id AND p.source = 'own' AND p.posted_at >= periods.start
                  AND p.posted_at < :end AND {_FOR_ACCOUNTS.format(c="p.account_id")})
        FROM periods ORDER BY periods.period
    ) AS published,
    (SELECT coalesce(json_agg(n ORDER BY n.day, n.created_at), '[]')
     FROM (SELECT day, body, created_at FROM notes
           WHERE user_id = :user_id AND day >= :first_day AND day <= :last_day) n) AS notes,
    (SELECT coalesce(json_agg(accounts), '[]') FROM accounts) AS accounts{"".join(f", {c}" for c in more)}
"""
    )


DASHBOARD = _statement(FROM_SNAPSHOTS, FROM_SNAPSHOTS_SHOWN)
# With `latest`: when the latest snapshot of the posts read was captured; the figures are right
# only if that is before the end (else DASHBOARD gives them).
STORED = _statement(FROM_FIGURES, FROM_FIGURES_SHOWN, "(SELECT max(latest_at) FROM own) AS latest")


def dashboard_rows(
    user_id: uuid.UUID,
    account_ids: list[uuid.UUID] | None,
    zone: ZoneInfo,
    since: datetime,
    starts: Sequence[datetime],
    end: datetime,
    notes: tuple[date, date],
    *,
    stored: bool,
) -> sa.TextClause:
    """`STORED` (`stored`) or `DASHBOARD` with its parameters: one row of JSON arrays, each small:

    - `posts`: for each start (`period`: its place in `starts`), the posts that gained most
      views from it to `end`, then most views now: `post_id`, `views_now` and what each gained
      of each metric (a key per metric, NULL: nothing counted then);
    - `shown`: those posts' columns, each metric's latest value (`<metric>_now`) and the latest
      snapshot's reasons for missing numbers (`missing`), as `post_details` gives them;
    - `days`: per day on the creator's clock from `since` to `end`, an array: the day, then the
      growth of each metric in METRICS' order (NULL: nothing counted);
    - `cells`: the heatmap's cells of the posts, each an array of `heatmap`'s columns;
    - `reasons`: where reasons for missing numbers come from: ("platform", its name, its posts,
      its first post, NULL) and ("snapshot", a `missing` as JSON text, the snapshots that gave
      it, the first post to give it, when that post first did, in seconds since 1970);
    - `seen`: per metric, how many of the snapshots have it;
    - `published`: per start, how many posts were published from it to `end`;
    - `notes`: the creator's notes of the days in `notes` (first and last): `day`, `body`;
    - `accounts`: per connected account, `display_name`, `username`, followers at `end`
      (`now`) and at each start (`before`), NULL where none is known.
    """
    # Every day and hour of a post on the creator's clock, since the oldest post there can be.
    changes = local_time.offset_changes(zone, FIRST_POSTS, end)
    moment, moments, ids = (
        sa.DateTime(timezone=True),
        postgresql.ARRAY(sa.DateTime(timezone=True)),
        postgresql.ARRAY(sa.Uuid()),
    )
    values = [
        ("user_id", user_id, sa.Uuid()),
        ("account_ids", account_ids, ids),
        ("end", end, moment),
        ("since", since, moment),
        ("starts", list(starts), moments),
        ("first_day", notes[0], sa.Date()),
        ("last_day", notes[1], sa.Date()),
        ("changes", [changed for changed, _ in changes[1:]], moments),
        ("offsets", [offset for _, offset in changes], postgresql.ARRAY(sa.Integer())),
    ]
    # Written into the SQL, not bound: Postgres plans it for this creator and these dates each
    # time. Bound, a prepared statement switches to a generic plan after a few runs (20× slower
    # at 10 M snapshots).
    return (STORED if stored else DASHBOARD).bindparams(
        *(sa.bindparam(name, value, type_=kind, literal_execute=True) for name, value, kind in values)
    )


def every_post(seen: sa.CTE, start: datetime, end: datetime) -> sa.Select:
    """Every post with snapshots, most views gained in the period first: `post_id`, `views_now`
    and what it gained of each metric (a column per metric, NULL when nothing counted then)."""
    figures = per_post(seen, start, end)
    return select(
        figures.c.post_id, figures.c.views_now, *(figures.c[f"{m}_gained"].label(m) for m in METRICS)
    ).order_by(*_most_gained_first(figures))


def _latest(user_id: uuid.UUID, column, end: datetime, *having):
    """SQL: the column in the post's latest snapshot captured before `end` (of those `having`),
    read from the covering index."""
    return (
        select(column)
        .where(
            MetricSnapshot.user_id == user_id,
            MetricSnapshot.post_id == Post.id,
            MetricSnapshot.captured_at < end,
            *having,
        )
        .order_by(col(MetricSnapshot.captured_at).desc())
        .limit(1)
        .scalar_subquery()
    )


def post_details(user_id: uuid.UUID, ids: list[uuid.UUID], end: datetime) -> sa.Select:
    """The posts' columns, latest value of each metric (`<metric>_now`) and the latest
    snapshot's reasons for missing numbers (`missing`), as of `end`."""
    values = [getattr(MetricSnapshot, m) for m in METRICS]
    latest = [_latest(user_id, v, end, v.is_not(None)).label(f"{v.key}_now") for v in values]
    post = (Post.id, Post.platform, Post.title, Post.url, Post.cover_url, Post.posted_at, Post.source)
    missing = _latest(user_id, MetricSnapshot.missing, end).label("missing")
    return select(*post, *latest, missing).where(Post.user_id == user_id, col(Post.id).in_(ids))


def _most_gained_first(figures: sa.Subquery, n: int = 0) -> tuple:
    """Most views gained in the (n-th) period first, then most views now; ties by post id."""
    return (
        sa.func.coalesce(figures.c[gained_label("views", n)], 0).desc(),
        sa.func.coalesce(figures.c.views_now, 0).desc(),
        figures.c.post_id,
    )


def heatmap(user_id: uuid.UUID, own_posts: list, zone: ZoneInfo, published: tuple[datetime, datetime], end):
    """Per (weekday, hour) of publication on the creator's clock, the median of the posts' latest
    views, as (weekday, hour, sum of the middle one or two, how many were summed, posts in the
    cell, the median of every post's latest views)."""
    return _cells(_per_post(snapshots(user_id, own_posts, end), [end], end).cte("per_post"), zone, published)


def _cells(figures: sa.CTE, zone: ZoneInfo, published: tuple[datetime, datetime]) -> sa.Select:
    """The heatmap's cells (as `heatmap` says) from `per_post`'s rows of posts published between `published`."""
    seconds = local_time.clock_seconds(
        figures.c.posted_at, zone, published[0], published[1] + timedelta(seconds=1)
    )
    weekday, hour = local_time.weekday_and_hour(seconds)
    cells = (
        select(weekday.label("weekday"), hour.label("hour"), figures.c.views_now.label("views"))
        .where(figures.c.views_now.is_not(None))
        .subquery()
    )
    cell = (cells.c.weekday, cells.c.hour)
    ranked = select(
        *cell,
        cells.c.views,
        sa.func.row_number().over(partition_by=cell, order_by=cells.c.views).label("rank"),
        sa.func.count().over(partition_by=cell).label("n"),
    ).subquery()
    middle = (ranked.c.rank == (ranked.c.n + 1) // 2) | (ranked.c.rank == (ranked.c.n + 2) // 2)
    return (
        select(
            ranked.c.weekday,
            ranked.c.hour,
            _sum(ranked.c.views).label("middle"),
            sa.func.count().label("count"),
            sa.func.max(ranked.c.n).label("posts"),
            _median(cells.c.views, cells).label("typical"),
        )
        .where(middle)
        .group_by(ranked.c.weekday, ranked.c.hour)
    )


def _median(column, source) -> sa.ScalarSelect:
    """SQL: the median of a column over all rows of `source` (the mean of the middle one or two)."""
    ranked = select(
        column.label("value"),
        sa.func.row_number().over(order_by=column).label("rank"),
        sa.func.count().over().label("n"),
    ).subquery()
    middle = (ranked.c.rank == (ranked.c.n + 1) // 2) | (ranked.c.rank == (ranked.c.n + 2) // 2)
    return select(sa.func.sum(ranked.c.value) * 1.0 / sa.func.count()).where(middle).scalar_subquery()


def post_span(own_posts: list, end: datetime, starts: Sequence[datetime]) -> sa.Select:
    """(first publish time, last publish time, then per start the posts published from it to end)."""
    return select(
        sa.func.min(Post.posted_at),
        sa.func.max(Post.posted_at),
        *(
            sa.func.count(sa.case(((Post.posted_at >= start) & (Post.posted_at < end), 1)))
            for start in starts
        ),
    ).where(*own_posts)


def followers(user_id: uuid.UUID, account_ids: list[uuid.UUID] | None, start, end, *more_starts) -> sa.Select:
    """Per connected account: (display name, username, followers at the end, followers at the
    start, then at each of `more_starts`)."""

    def latest_before(moment: datetime):
        return (
            select(AccountSnapshot.followers)
            .where(
                AccountSnapshot.account_id == ConnectedAccount.id,
                AccountSnapshot.captured_at < moment,
                col(AccountSnapshot.followers).is_not(None),
            )
            .order_by(col(AccountSnapshot.captured_at).desc())
            .limit(1)
            .scalar_subquery()
        )

    filters = [ConnectedAccount.user_id == user_id]
    if account_ids is not None:
        filters.append(col(ConnectedAccount.id).in_(account_ids))
    return select(
        ConnectedAccount.display_name,
        ConnectedAccount.username,
        latest_before(end),
        *(latest_before(moment) for moment in (start, *more_starts)),
    ).where(*filters)
