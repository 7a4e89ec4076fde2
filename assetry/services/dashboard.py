"""The analytics dashboard's numbers, computed from metric snapshots — never invented.

Each snapshot after a post's first adds what grew since the one before, on the day
it was captured. The first value we ever see of a post counts on the day the post
was published (those views happened since then). So a period's total is what was
observed to happen in it, a post published inside the period counts in full, and
nothing we did not observe is spread over days by guesswork. Missing numbers carry
the platform's reason. One pass over the creator's snapshots computes everything.
"""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput
from assetry.models import AccountSnapshot, ConnectedAccount, MetricSnapshot, Note, Post
from assetry.models.analytics import METRICS, OWN

PRESETS = {"7": 7, "30": 30, "90": 90}
MAX_DAYS = 366
NO_DATA = "no data for this period yet (numbers start when the account is first synced)"
# Numbers a platform's API never gives for a creator's own posts.
NOT_OFFERED = {
    "tiktok": {
        "saves": "TikTok's API doesn't report saves",
        "reach": "TikTok's API doesn't report reach",
        "interactions": "TikTok's API doesn't report interactions",
    }
}
MILESTONES = (("1 h", timedelta(hours=1)), ("6 h", timedelta(hours=6)), ("24 h", timedelta(days=1)),
              ("7 d", timedelta(days=7)), ("30 d", timedelta(days=30)))  # fmt: skip


@dataclass(frozen=True)
class Period:
    """A range of whole days in the creator's time zone."""

    start: date
    end: date  # inclusive
    zone: str = "UTC"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        tz = _zone(self.zone)
        return (
            datetime.combine(self.start, time.min, tz).astimezone(UTC),
            datetime.combine(self.end + timedelta(days=1), time.min, tz).astimezone(UTC),
        )

    def previous(self) -> Period:
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.zone)


def period_for(preset: str, *, today: date, zone: str, start: str = "", end: str = "") -> Period:
    """The period a preset (7/30/90 days) or a custom start/end names; BadInput says what's wrong."""
    if preset in PRESETS:
        return Period(today - timedelta(days=PRESETS[preset] - 1), today, zone)
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise BadInput("Pick a start and an end date for a custom range.") from None
    if first > last:
        raise BadInput("The start date is after the end date.")
    if (last - first).days >= MAX_DAYS:
        raise BadInput(f"A range can cover at most {MAX_DAYS} days.")
    if first > today:
        raise BadInput("That range is in the future; there is nothing to show yet.")
    return Period(first, min(last, today), zone)


@dataclass
class Total:
    metric: str
    value: int | None
    previous: int | None
    change_pct: float | None
    missing: str = ""


@dataclass
class PostRow:
    id: uuid.UUID
    platform: str
    title: str
    url: str
    cover_url: str
    posted_at: datetime
    source: str
    metrics: dict[str, int | None]
    gained: dict[str, int | None]
    missing: dict[str, str]


@dataclass
class Overview:
    period: Period
    totals: dict[str, Total]
    series: dict[str, list[tuple[date, int]]]
    engagement_rate: float | None
    previous_engagement_rate: float | None
    followers: list[tuple[str, int | None, int | None]]  # (account name, now, change in period)
    top_posts: list[PostRow]
    heatmap: list[list[int | None]]  # [weekday][hour] median views of posts published then
    notes: list[Note]
    posts_in_period: int = 0
    has_data: bool = False
    reasons: dict[str, str] = field(default_factory=dict)


async def overview(
    user_id: uuid.UUID, period: Period, *, account_ids: list[uuid.UUID] | None = None
) -> Overview:
    """Everything the dashboard shows for a period and an account filter."""
    prev = period.previous()
    start, end = period.bounds()
    async with db.user_session(user_id) as session:
        post_filter = [Post.user_id == user_id, Post.source == OWN]
        if account_ids is not None:
            post_filter.append(col(Post.account_id).in_(account_ids))
        posts = {p.id: p for p in (await session.exec(select(Post).where(*post_filter))).all()}
        snapshots = (
            await session.exec(
                select(MetricSnapshot)
                .join(Post, Post.id == MetricSnapshot.post_id)
                .where(MetricSnapshot.user_id == user_id, MetricSnapshot.captured_at < end, *post_filter)
                .order_by(MetricSnapshot.post_id, MetricSnapshot.captured_at)
            )
        ).all()
        notes = (
            await session.exec(
                select(Note)
                .where(Note.user_id == user_id, Note.day >= period.start, Note.day <= period.end)
                .order_by(Note.day)
            )
        ).all()
        followers = await _followers(session, user_id, account_ids, start, end)
    history: dict[uuid.UUID, list[MetricSnapshot]] = defaultdict(list)
    for snapshot in snapshots:
        history[snapshot.post_id].append(snapshot)
    tz = _zone(period.zone)
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_post: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for post_id, when, metric, delta in _deltas(history, posts):
        day = when.astimezone(tz).date()
        by_day[day][metric] += delta
        if start <= when < end:
            by_post[post_id][metric] += delta
    days = [period.start + timedelta(days=n) for n in range(period.days)]
    previous_days = [prev.start + timedelta(days=n) for n in range(prev.days)]
    totals, previous_totals = _sum_days(by_day, days), _sum_days(by_day, previous_days)
    reasons = _reasons(history, posts)
    return Overview(
        period=period,
        totals={
            m: _total(m, totals.get(m), previous_totals.get(m), reasons.get(m, NO_DATA)) for m in METRICS
        },
        series={m: [(d, by_day[d].get(m, 0)) for d in days] for m in METRICS if m in totals},
        engagement_rate=_engagement(totals),
        previous_engagement_rate=_engagement(previous_totals),
        followers=followers,
        top_posts=_top_posts(history, posts, by_post),
        heatmap=_heatmap(history, posts, tz),
        notes=list(notes),
        posts_in_period=sum(1 for p in posts.values() if start <= p.posted_at < end),
        has_data=bool(snapshots),
        reasons=reasons,
    )


def _deltas(history: dict, posts: dict):
    for post_id, snapshots in history.items():
        post = posts[post_id]
        for metric in METRICS:
            previous = None
            for snapshot in snapshots:
                value = getattr(snapshot, metric)
                if value is None:
                    continue
                if previous is None:
                    yield post_id, post.posted_at, metric, value
                elif value > previous:
                    yield post_id, snapshot.captured_at, metric, value - previous
                previous = value if previous is None else max(previous, value)


def _sum_days(by_day: dict, days: list[date]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for day in days:
        for metric, value in by_day.get(day, {}).items():
            sums[metric] = sums.get(metric, 0) + value
    return sums


@dataclass
class PostHistory:
    post: Post
    snapshots: list[MetricSnapshot]
    milestones: list[tuple[str, int | None, str]]  # (label, views, why missing)
    notes: list[Note]


async def post_history(user_id: uuid.UUID, post_id: uuid.UUID) -> PostHistory | None:
    """One post's snapshots over time, its views 1 h / 6 h / 24 h / 7 d / 30 d after posting, its notes."""
    async with db.user_session(user_id) as session:
        post = await session.get(Post, post_id)
        if post is None or post.user_id != user_id:
            return None
        snapshots = (
            await session.exec(
                select(MetricSnapshot)
                .where(MetricSnapshot.post_id == post_id)
                .order_by(MetricSnapshot.captured_at)
            )
        ).all()
        notes = (await session.exec(select(Note).where(Note.post_id == post_id).order_by(Note.day))).all()
    milestones = []
    for label, offset in MILESTONES:
        target = post.posted_at + offset
        tolerance = max(offset / 4, timedelta(minutes=30))
        near = [s for s in snapshots if abs(s.captured_at - target) <= tolerance and s.views is not None]
        if near:
            best = min(near, key=lambda s: abs(s.captured_at - target))
            milestones.append((label, best.views, ""))
        elif target > (snapshots[-1].captured_at if snapshots else post.posted_at):
            milestones.append((label, None, "not reached yet"))
        else:
            milestones.append((label, None, "not captured: we weren't syncing this post then"))
    return PostHistory(post=post, snapshots=list(snapshots), milestones=milestones, notes=list(notes))


def _latest(snapshots: list[MetricSnapshot], metric: str) -> int | None:
    return next((getattr(s, metric) for s in reversed(snapshots) if getattr(s, metric) is not None), None)


def _total(metric: str, value: int | None, previous: int | None, reason: str) -> Total:
    change = None
    if value is not None and previous:
        change = round((value - previous) / previous * 100, 1)
    return Total(metric, value, previous, change, "" if value is not None else reason)


def _engagement(sums: dict[str, int]) -> float | None:
    views = sums.get("views")
    if not views:
        return None
    engaged = sum(sums.get(m, 0) for m in ("likes", "comments", "shares", "saves"))
    return round(engaged / views * 100, 2)


def _reasons(history: dict, posts: dict) -> dict[str, str]:
    """For each metric no snapshot has, the reason the platform gave most often (or why it never gives it)."""
    seen: set[str] = set()
    why: dict[str, list[str]] = defaultdict(list)
    for post_id, snapshots in history.items():
        offered = NOT_OFFERED.get(posts[post_id].platform)
        for metric in offered or ():
            why[metric].append(offered[metric])
        for snapshot in snapshots:
            seen.update(m for m in METRICS if getattr(snapshot, m) is not None)
            for metric, reason in (snapshot.missing or {}).items():
                why[metric].append(str(reason))
    return {m: statistics.mode(why[m]) if why[m] else NO_DATA for m in METRICS if m not in seen}


def _top_posts(history: dict, posts: dict, by_post: dict, limit: int = 10) -> list[PostRow]:
    rows = [
        PostRow(
            id=post_id,
            platform=posts[post_id].platform,
            title=posts[post_id].title,
            url=posts[post_id].url,
            cover_url=posts[post_id].cover_url,
            posted_at=posts[post_id].posted_at,
            source=posts[post_id].source,
            metrics={m: _latest(snapshots, m) for m in METRICS},
            gained={m: by_post[post_id].get(m) for m in METRICS} if post_id in by_post else {},
            missing=dict(snapshots[-1].missing or {}),
        )
        for post_id, snapshots in history.items()
    ]
    rows.sort(key=lambda r: (r.gained.get("views") or 0, r.metrics.get("views") or 0), reverse=True)
    return rows[:limit]


def _heatmap(history: dict, posts: dict, tz: ZoneInfo) -> list[list[int | None]]:
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for post_id, snapshots in history.items():
        views = _latest(snapshots, "views")
        if views is not None:
            local = posts[post_id].posted_at.astimezone(tz)
            cells[(local.weekday(), local.hour)].append(views)
    return [
        [int(statistics.median(cells[(d, h)])) if (d, h) in cells else None for h in range(24)]
        for d in range(7)
    ]


async def _followers(session, user_id, account_ids, start, end) -> list[tuple[str, int | None, int | None]]:
    filters = [ConnectedAccount.user_id == user_id]
    if account_ids is not None:
        filters.append(col(ConnectedAccount.id).in_(account_ids))
    accounts = (await session.exec(select(ConnectedAccount).where(*filters))).all()
    rows = []
    for account in accounts:
        snaps = (
            await session.exec(
                select(AccountSnapshot)
                .where(AccountSnapshot.account_id == account.id, AccountSnapshot.captured_at < end)
                .order_by(AccountSnapshot.captured_at)
            )
        ).all()
        now = next((s.followers for s in reversed(snaps) if s.followers is not None), None)
        before = next(
            (s.followers for s in reversed(snaps) if s.captured_at < start and s.followers is not None), None
        )
        rows.append(
            (
                account.display_name or account.username,
                now,
                None if now is None or before is None else now - before,
            )
        )
    return rows


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def best_captions(user_id: uuid.UUID, limit: int = 5) -> list[str]:
    """Titles/captions of the creator's own best posts by latest views (for "write like my best posts")."""
    latest = (
        select(MetricSnapshot.post_id, sa.func.max(MetricSnapshot.views).label("views"))
        .where(MetricSnapshot.user_id == user_id)
        .group_by(MetricSnapshot.post_id)
        .subquery()
    )
    async with db.user_session(user_id) as session:
        titles = (
            await session.exec(
                select(Post.title)
                .join(latest, latest.c.post_id == Post.id)
                .where(Post.user_id == user_id, Post.source == OWN, Post.title != "")
                .order_by(latest.c.views.desc())
                .limit(limit)
            )
        ).all()
    return list(titles)


def to_csv(result: Overview) -> str:
    """The dashboard's data as CSV: one row per day with each metric, then the top posts."""
    out = io.StringIO()
    writer = csv.writer(out)
    metrics = [m for m in METRICS if m in result.series]
    writer.writerow(["date", *metrics])
    days = [day for day, _ in next(iter(result.series.values()), [])]
    for index, day in enumerate(days):
        writer.writerow([day.isoformat(), *(result.series[m][index][1] for m in metrics)])
    writer.writerow([])
    writer.writerow(["post", "platform", "published", "url", *(f"{m} now" for m in METRICS)])
    for post in result.top_posts:
        writer.writerow([
            _csv_safe(post.title), post.platform, post.posted_at.isoformat(), post.url,
            *("" if post.metrics.get(m) is None else post.metrics[m] for m in METRICS),
        ])  # fmt: skip
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """Keep spreadsheet apps from running a cell as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
