"""The SQL behind the dashboard: each statement adds up a creator's snapshots in the database
and returns only its small result (a row per day, per top post, per heatmap cell).

The rule is the one `services.dashboard` states: the first value seen of a post counts on
the day it was published; each later snapshot adds what rose above the highest value seen
before it, on the day it was captured. Window functions over a post's snapshots, oldest
first, give each snapshot that highest earlier value (`<metric>_before`) and how many later
snapshots have views (`views_later`: 0 on the latest one that has them).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from assetry.models import AccountSnapshot, ConnectedAccount, MetricSnapshot, Post
from assetry.models.analytics import METRICS
from assetry.services import local_time

TOP_POSTS = 10


# Frame bounds written into the SQL as the number 1, not bound as parameters: Postgres computes
# windows of identical specs in one pass, and `$1 PRECEDING` and `$2 PRECEDING` are not identical.
_ONE = sa.literal(1, literal_execute=True)
_BEFORE = sa.FrameClause(None, _ONE, sa.FrameClauseType.UNBOUNDED, sa.FrameClauseType.PRECEDING)
_AFTER = sa.FrameClause(_ONE, None, sa.FrameClauseType.FOLLOWING, sa.FrameClauseType.UNBOUNDED)


def snapshots(user_id: uuid.UUID, own_posts: list, end: datetime) -> sa.CTE:
    """The posts' snapshots captured before `end`, each with its post's publish time, per
    metric the highest value seen before it, and how many later ones have views."""
    oldest_first = {"partition_by": MetricSnapshot.post_id, "order_by": MetricSnapshot.captured_at}
    columns = [MetricSnapshot.post_id, MetricSnapshot.captured_at, Post.posted_at]
    for metric in METRICS:
        value = getattr(MetricSnapshot, metric)
        columns += [value, sa.func.max(value).over(**oldest_first, rows=_BEFORE).label(f"{metric}_before")]
    later = sa.func.count(MetricSnapshot.views).over(**oldest_first, rows=_AFTER).label("views_later")
    return (
        select(*columns, later)
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


def days_and_top_posts(seen: sa.CTE, zone: ZoneInfo, since: datetime, start: datetime, end: datetime):
    """One statement, so the window pass over the snapshots runs once, returning rows of two kinds
    (`kind`, `day`, `post_id`, `views_now`, a column per metric, `<metric>_seen`):

    - "day": per day on the creator's clock from `since` to `end`, the growth of each metric
      (NULL: nothing counted). Two rows can share a day: first values, then rises.
    - "post": the posts that gained most views in the period, then most views now: what each
      gained of each metric (NULL: nothing counted then), its latest views, and how many
      snapshots of all the posts have each metric (the same on every row).
    """

    figures = per_post(seen, start, end)
    top = (
        select(
            sa.literal("post").label("kind"),
            sa.cast(sa.null(), sa.BigInteger).label("day"),
            figures.c.post_id,
            figures.c.views_now,
            *(figures.c[f"{m}_gained"].label(m) for m in METRICS),
            *(
                sa.cast(sa.func.sum(figures.c[f"{m}_count"]).over(), sa.BigInteger).label(f"{m}_seen")
                for m in METRICS
            ),
        )
        .order_by(*_most_gained_first(figures))
        .limit(TOP_POSTS)
    )

    def per_day(moment, counted, *within):
        day = local_time.day_number(local_time.clock_seconds(moment, zone, since, end)).label("day")
        rows = select(day, *(counted(seen, m).label(m) for m in METRICS)).where(*within).subquery()
        sums = [_sum(rows.c[m]) for m in METRICS]
        no_post = [sa.null(), sa.null()]  # post_id, views_now
        return select(sa.literal("day"), rows.c.day, *no_post, *sums, *[sa.null() for _ in METRICS]).group_by(
            rows.c.day
        )

    # The posts come first: a UNION's columns take their names and types from its first SELECT.
    return sa.union_all(
        top.subquery().select(),
        per_day(seen.c.posted_at, _first, seen.c.posted_at >= since, seen.c.posted_at < end),
        per_day(seen.c.captured_at, _rise, seen.c.captured_at >= since),
    )


def every_post(seen: sa.CTE, start: datetime, end: datetime) -> sa.Select:
    """Every post with snapshots, most views gained in the period first: `post_id`, `views_now`
    and what it gained of each metric (a column per metric, NULL when nothing counted then)."""
    figures = per_post(seen, start, end)
    return select(
        figures.c.post_id, figures.c.views_now, *(figures.c[f"{m}_gained"].label(m) for m in METRICS)
    ).order_by(*_most_gained_first(figures))


def per_post(seen: sa.CTE, start: datetime, end: datetime) -> sa.Subquery:
    """Per post: its latest views (`views_now`), and per metric what it gained between start
    and end (`<metric>_gained`, NULL when nothing counted then) and how many snapshots have it."""
    columns = [
        seen.c.post_id,
        sa.func.max(sa.case((seen.c.views_later == 0, seen.c.views))).label("views_now"),
    ]
    published_then = (seen.c.posted_at >= start) & (seen.c.posted_at < end)
    for metric in METRICS:
        counted = sa.case(
            (seen.c[f"{metric}_before"].is_(None), sa.case((published_then, seen.c[metric]))),
            (seen.c.captured_at >= start, _rise(seen, metric)),
        )
        columns += [
            _sum(counted).label(f"{metric}_gained"),
            sa.func.count(seen.c[metric]).label(f"{metric}_count"),
        ]
    return select(*columns).group_by(seen.c.post_id).subquery("per_post")


def _latest(column, end: datetime, *having):
    """SQL: the column in the post's latest snapshot captured before `end` (of those `having`)."""
    return (
        select(column)
        .where(MetricSnapshot.post_id == Post.id, MetricSnapshot.captured_at < end, *having)
        .order_by(col(MetricSnapshot.captured_at).desc())
        .limit(1)
        .scalar_subquery()
    )


def post_details(ids: list[uuid.UUID], end: datetime) -> sa.Select:
    """The posts' columns, latest value of each metric (`<metric>_now`) and the latest
    snapshot's reasons for missing numbers (`missing`), as of `end`."""
    values = [getattr(MetricSnapshot, m) for m in METRICS]
    latest = [_latest(v, end, v.is_not(None)).label(f"{v.key}_now") for v in values]
    post = (Post.id, Post.platform, Post.title, Post.url, Post.cover_url, Post.posted_at, Post.source)
    return select(*post, *latest, _latest(MetricSnapshot.missing, end).label("missing")).where(
        col(Post.id).in_(ids)
    )


def _most_gained_first(figures: sa.Subquery) -> tuple:
    """Most views gained in the period first, then most views now; ties by post id."""
    return (
        sa.func.coalesce(figures.c.views_gained, 0).desc(),
        sa.func.coalesce(figures.c.views_now, 0).desc(),
        figures.c.post_id,
    )


def heatmap(user_id: uuid.UUID, own_posts: list, zone: ZoneInfo, published: tuple[datetime, datetime], end):
    """Per (weekday, hour) of publication on the creator's clock, the median of the posts' latest
    views, as (weekday, hour, sum of the middle one or two, how many were summed, posts in the
    cell, the median of every post's latest views)."""
    views = MetricSnapshot.views
    latest = (
        select(MetricSnapshot.post_id, sa.func.max(MetricSnapshot.captured_at).label("captured_at"))
        .join(Post, Post.id == MetricSnapshot.post_id)
        .where(
            MetricSnapshot.user_id == user_id,
            MetricSnapshot.captured_at < end,
            views.is_not(None),
            *own_posts,
        )
        .group_by(MetricSnapshot.post_id)
        .subquery()
    )
    seconds = local_time.clock_seconds(
        Post.posted_at, zone, published[0], published[1] + timedelta(seconds=1)
    )
    weekday, hour = local_time.weekday_and_hour(seconds)
    cells = (
        select(weekday.label("weekday"), hour.label("hour"), sa.func.max(views).label("views"))
        .select_from(latest)
        .join(
            MetricSnapshot,
            (MetricSnapshot.post_id == latest.c.post_id)
            & (MetricSnapshot.captured_at == latest.c.captured_at),
        )
        .join(Post, Post.id == latest.c.post_id)
        .where(views.is_not(None))
        .group_by(latest.c.post_id, Post.posted_at)  # one row a post, even if two snapshots share a moment
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
    every_post = _median(cells.c.views, cells)
    return (
        select(
            ranked.c.weekday,
            ranked.c.hour,
            _sum(ranked.c.views),
            sa.func.count(),
            sa.func.max(ranked.c.n),
            every_post,
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


def reasons_said(user_id: uuid.UUID, own_posts: list, end: datetime) -> sa.Select:
    """Where reasons for missing numbers come from, in the order they are met (posts by id, each
    post's platform first, then its snapshots oldest first): ("platform", name, posts, first
    place) and ("snapshot", its `missing` as JSON text, snapshots, first place)."""
    met = (
        select(
            Post.platform,
            MetricSnapshot.post_id,
            sa.cast(MetricSnapshot.missing, sa.Text).label("missing"),
            sa.func.row_number()
            .over(order_by=(MetricSnapshot.post_id, MetricSnapshot.captured_at))
            .label("place"),
        )
        .join(Post, Post.id == MetricSnapshot.post_id)
        .where(MetricSnapshot.user_id == user_id, MetricSnapshot.captured_at < end, *own_posts)
        .cte("met")
    )
    return sa.union_all(
        select(
            sa.literal("platform"),
            met.c.platform,
            sa.func.count(sa.distinct(met.c.post_id)),
            sa.func.min(met.c.place),
        ).group_by(met.c.platform),
        select(sa.literal("snapshot"), met.c.missing, sa.func.count(), sa.func.min(met.c.place)).group_by(
            met.c.missing
        ),
    )


def post_span(own_posts: list, start: datetime, end: datetime) -> sa.Select:
    """(first publish time, last publish time, posts published between start and end)."""
    published_then = (Post.posted_at >= start) & (Post.posted_at < end)
    return select(
        sa.func.min(Post.posted_at), sa.func.max(Post.posted_at), sa.func.count(sa.case((published_then, 1)))
    ).where(*own_posts)


def followers(user_id: uuid.UUID, account_ids: list[uuid.UUID] | None, start, end) -> sa.Select:
    """Per connected account: (display name, username, followers at the end, followers at the start)."""

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
        ConnectedAccount.display_name, ConnectedAccount.username, latest_before(end), latest_before(start)
    ).where(*filters)
