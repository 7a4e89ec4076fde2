"""The SQL behind the dashboard: each statement adds up a creator's snapshots in the database
and returns only its small result (a row per day, per top post, per heatmap cell).

The rule is the one `services.dashboard` states: the first value seen of a post counts on
the day it was published; each later snapshot adds what rose above the highest value seen
before it, on the day it was captured. Window functions over a post's snapshots, oldest
first, give each snapshot that highest earlier value (`<metric>_before`) and how many later
snapshots have the number at all (`<metric>_later`; 0 on the latest one that has it).
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


def snapshots(user_id: uuid.UUID, own_posts: list, end: datetime) -> sa.CTE:
    """The posts' snapshots captured before `end`, each with its post's publish time and,
    per metric, the highest value seen before it and the number of later ones that have it."""
    oldest_first = {"partition_by": MetricSnapshot.post_id, "order_by": MetricSnapshot.captured_at}
    columns = [MetricSnapshot.post_id, MetricSnapshot.captured_at, Post.posted_at]
    for metric in METRICS:
        value = getattr(MetricSnapshot, metric)
        columns += [
            value,
            sa.func.max(value).over(**oldest_first, rows=(None, -1)).label(f"{metric}_before"),
            sa.func.count(value).over(**oldest_first, rows=(1, None)).label(f"{metric}_later"),
        ]
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


def daily(seen: sa.CTE, zone: ZoneInfo, since: datetime, end: datetime) -> sa.Select:
    """Per day on the creator's clock from `since` to `end`: (day number, growth of each metric).

    Two rows can share a day (first values, then rises); a metric's NULL means nothing counted."""

    def per_day(moment, counted, *within):
        day = local_time.day_number(local_time.clock_seconds(moment, zone, since, end)).label("day")
        rows = select(day, *(counted(seen, m).label(m) for m in METRICS)).where(*within).subquery()
        return select(rows.c.day, *(_sum(rows.c[m]).label(m) for m in METRICS)).group_by(rows.c.day)

    return sa.union_all(
        per_day(seen.c.posted_at, _first, seen.c.posted_at >= since, seen.c.posted_at < end),
        per_day(seen.c.captured_at, _rise, seen.c.captured_at >= since),
    )


def per_post(seen: sa.CTE, start: datetime, end: datetime) -> sa.Subquery:
    """Per post: its latest value of each metric (`<metric>_now`) and what it gained between
    start and end (`<metric>_gained`, NULL when nothing counted then)."""
    columns = [seen.c.post_id]
    for metric in METRICS:
        published_then = (seen.c.posted_at >= start) & (seen.c.posted_at < end)
        counted = sa.case(
            (seen.c[f"{metric}_before"].is_(None), sa.case((published_then, seen.c[metric]))),
            (seen.c.captured_at >= start, _rise(seen, metric)),
        )
        latest = sa.case((seen.c[f"{metric}_later"] == 0, seen.c[metric]))
        columns += [
            sa.func.max(latest).label(f"{metric}_now"),
            _sum(counted).label(f"{metric}_gained"),
        ]
    return select(*columns).group_by(seen.c.post_id).subquery("per_post")


def top_posts(seen: sa.CTE, start: datetime, end: datetime) -> sa.Select:
    """The posts that gained most views in the period (then most views overall), with their
    numbers, the latest snapshot's reasons for missing ones, and how many of all the posts
    with snapshots have each metric (`<metric>_seen`)."""
    figures = per_post(seen, start, end)
    last_missing = (
        select(MetricSnapshot.missing)
        .where(MetricSnapshot.post_id == Post.id, MetricSnapshot.captured_at < end)
        .order_by(col(MetricSnapshot.captured_at).desc())
        .limit(1)
        .scalar_subquery()
    )
    seen_counts = [sa.func.count(figures.c[f"{m}_now"]).over().label(f"{m}_seen") for m in METRICS]
    post = (Post.id, Post.platform, Post.title, Post.url, Post.cover_url, Post.posted_at, Post.source)
    numbers = [c for c in figures.c if c.key != "post_id"]
    return (
        select(*post, *numbers, last_missing.label("missing"), *seen_counts)
        .join(Post, Post.id == figures.c.post_id)
        .order_by(
            sa.func.coalesce(figures.c.views_gained, 0).desc(),
            sa.func.coalesce(figures.c.views_now, 0).desc(),
            figures.c.post_id,
        )
        .limit(TOP_POSTS)
    )


def heatmap(seen: sa.CTE, zone: ZoneInfo, published: tuple[datetime, datetime], start, end) -> sa.Select:
    """Per (weekday, hour) of publication on the creator's clock, the posts' median latest views,
    as (weekday, hour, sum of the middle one or two, how many were summed)."""
    figures = per_post(seen, start, end)
    since, until = published[0], published[1] + timedelta(seconds=1)
    seconds = local_time.clock_seconds(Post.posted_at, zone, since, until)
    weekday, hour = local_time.weekday_and_hour(seconds)
    cells = (
        select(weekday.label("weekday"), hour.label("hour"), figures.c.views_now.label("views"))
        .join(Post, Post.id == figures.c.post_id)
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
        select(ranked.c.weekday, ranked.c.hour, _sum(ranked.c.views), sa.func.count())
        .where(middle)
        .group_by(ranked.c.weekday, ranked.c.hour)
    )


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
