"""The analytics dashboard's numbers, computed from metric snapshots — never invented.

Each snapshot after a post's first adds what grew since the one before, on the day
it was captured. The first value we ever see of a post counts on the day the post
was published (those views happened since then). So a period's total is what was
observed to happen in it, a post published inside the period counts in full, and
nothing we did not observe is spread over days by guesswork. Missing numbers carry
the platform's reason. The database adds it all up (`services.dashboard_figures`); only
the small results (a row per day, per top post, per heatmap cell) come back.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput
from assetry.models import MetricSnapshot, Note, Post
from assetry.models.analytics import METRICS, OWN
from assetry.models.base import utcnow
from assetry.services import dashboard_figures as figures
from assetry.services import growth, local_time
from assetry.services.admin.common import csv_safe

PRESETS = {"7": 7, "30": 30, "90": 90}
MAX_DAYS = 366
CSV_BATCH = 500  # posts read and written at a time
CSV_ROUTE = "/analytics/export.csv"  # assetry.web serves `csv_text` there
NO_DATA = "no data for this period yet (numbers start when the account is first synced)"
# Numbers a platform's API never gives for a creator's own posts.
NOT_OFFERED = {
    "tiktok": {
        "saves": "TikTok's API doesn't report saves",
        "reach": "TikTok's API doesn't report reach",
        "interactions": "TikTok's API doesn't report interactions",
    }
}
# A slot is named the best time to post only with this many posts published in it.
BEST_SLOT_MIN_POSTS = 2
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
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


@dataclass(frozen=True)
class BestSlot:
    """The weekday and hour (creator's clock) whose posts have the highest median views."""

    weekday: int  # Monday = 0
    hour: int
    median_views: int
    posts: int
    typical_views: int  # the median of all the creator's posts
    change_pct: int | None  # the slot's median against the typical post's, in percent

    def sentence(self) -> str:
        """The slot in words: "Thursdays 19:00–20:00, +38 % views vs your typical post"."""
        slot = f"{WEEKDAYS[self.weekday]} {self.hour:02d}:00–{(self.hour + 1) % 24:02d}:00"
        if self.change_pct is None:
            return slot
        return f"{slot}, {self.change_pct:+d} % views vs your typical post"

    def detail(self) -> str:
        return (
            f"Median {self.median_views:,} views over the {self.posts} posts published then; "
            f"your typical post (the median of all of them) has {self.typical_views:,}."
        )


@dataclass(frozen=True)
class DayNote:
    """A creator's note, on the day it is drawn."""

    day: date
    body: str


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
    notes: list[DayNote]
    best_slot: BestSlot | None = None
    # Today on the creator's clock when the period ends today: its numbers are still coming in.
    partial_day: date | None = None
    posts_in_period: int = 0
    has_data: bool = False
    reasons: dict[str, str] = field(default_factory=dict)


async def overview(
    user_id: uuid.UUID, period: Period, *, account_ids: list[uuid.UUID] | None = None
) -> Overview:
    """Everything the dashboard shows for a period and an account filter."""
    return (await overviews(user_id, [period], account_ids=account_ids))[0]


async def overviews(
    user_id: uuid.UUID, periods: list[Period], *, account_ids: list[uuid.UUID] | None = None
) -> list[Overview]:
    """What `overview` gives for each period, from one pass over the snapshots: the periods end
    on the same day, in the same zone (the presets of one day, so switching between them asks
    the database nothing more)."""
    zone, tz = periods[0].zone, _zone(periods[0].zone)
    end = periods[0].bounds()[1]
    starts = [period.bounds()[0] for period in periods]
    since = min(period.previous().bounds()[0] for period in periods)
    first_day = min(period.start for period in periods)
    asked = (user_id, account_ids, tz, since, starts, end, (first_day, periods[0].end))
    async with db.user_session(user_id) as session:
        # The stored figures, unless the posts read have snapshots captured since the end (a past range).
        *found, latest = (await session.exec(figures.dashboard_rows(*asked, stored=True))).one()
        if latest is not None and latest >= end:
            found = (await session.exec(figures.dashboard_rows(*asked, stored=False))).one()
    top, shown, days, cells, said, seen, published, notes, accounts = found
    by_day = {
        local_time.day_of(day): {
            m: value for m, value in zip(METRICS, values, strict=True) if value is not None
        }
        for day, *values in days
    }
    posts = {post["id"]: post | {"posted_at": datetime.fromisoformat(post["posted_at"])} for post in shown}
    day_notes = [DayNote(date.fromisoformat(note["day"]), note["body"]) for note in notes]
    unseen = [m for m in METRICS if not seen.get(m)]
    reasons = _reasons(said, unseen)
    cells = [tuple(cell) for cell in cells]
    heatmap, best = _heatmap(cells), best_slot(cells)
    partial_day = periods[0].end if periods[0].end >= today_in(zone) else None
    results = []
    for n, period in enumerate(periods):
        previous = period.previous()
        totals = _sum_days(by_day, period.start, period.days)
        previous_totals = _sum_days(by_day, previous.start, previous.days)
        each_day = [(day, by_day.get(day, {})) for day in _days(period.start, period.days)]
        ranked = sorted(  # as the statement ranked them; a UNION need not keep that order
            (row for row in top if row["period"] == n),
            key=lambda row: (-(row["views"] or 0), -(row["views_now"] or 0), row["post_id"]),
        )
        results.append(
            Overview(
                period=period,
                totals={
                    m: _total(m, totals.get(m), previous_totals.get(m), reasons.get(m, NO_DATA))
                    for m in METRICS
                },
                series={m: [(d, counts.get(m, 0)) for d, counts in each_day] for m in METRICS if m in totals},
                engagement_rate=_engagement(totals),
                previous_engagement_rate=_engagement(previous_totals),
                followers=[_follower_change(account, n) for account in accounts],
                top_posts=[_post_row(posts[row["post_id"]], row) for row in ranked],
                heatmap=heatmap,
                notes=[note for note in day_notes if period.start <= note.day <= period.end],
                best_slot=best,
                partial_day=partial_day,
                posts_in_period=published[n],
                has_data=bool(top),
                reasons=reasons,
            )
        )
    return results


def _follower_change(account: dict, n: int) -> tuple[str, int | None, int | None]:
    """(account name, followers now, change since the n-th period's start) of an `accounts` row."""
    now, before = account["now"], account["before"][n]
    change = None if now is None or before is None else now - before
    return (account["display_name"] or account["username"], now, change)


def _own_posts(user_id: uuid.UUID, account_ids: list[uuid.UUID] | None) -> list:
    """The filter of the creator's own posts (of some accounts only, if given)."""
    own_posts = [Post.user_id == user_id, Post.source == OWN]
    if account_ids is not None:
        own_posts.append(col(Post.account_id).in_(account_ids))
    return own_posts


async def _every_post(
    user_id: uuid.UUID, period: Period, account_ids: list[uuid.UUID] | None
) -> AsyncIterator[list[PostRow]]:
    """Every own post with numbers as of the period's end, most views gained in it first (for
    the CSV), fetched CSV_BATCH at a time."""
    start, end = period.bounds()
    seen = figures.snapshots(user_id, _own_posts(user_id, account_ids), end)
    async with db.user_session(user_id) as session:
        found = await session.stream(
            figures.every_post(seen, start, end).execution_options(yield_per=CSV_BATCH)
        )
        async for rows in found.partitions(CSV_BATCH):
            details = figures.post_details(user_id, [row.post_id for row in rows], end)
            posts = {post.id: post for post in (await session.exec(details)).all()}
            yield [_post_row(posts[row.post_id]._mapping, row._mapping) for row in rows]


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def _sum_days(by_day: dict, first: date, count: int) -> dict[str, int]:
    last = first + timedelta(days=count - 1)
    sums: dict[str, int] = {}
    for day, counts in by_day.items():
        if first <= day <= last:
            for metric, value in counts.items():
                sums[metric] = sums.get(metric, 0) + value
    return sums


def _post_row(found, figures_of) -> PostRow:
    """A post's row from its details (`post_details`'s columns) and its figures (`per_post`'s)."""
    gained = {m: figures_of[m] for m in METRICS}
    return PostRow(
        id=uuid.UUID(str(found["id"])),
        **{name: found[name] for name in ("platform", "title", "url", "cover_url", "posted_at", "source")},
        metrics={m: found[f"{m}_now"] for m in METRICS},
        gained=gained if any(v is not None for v in gained.values()) else {},
        missing=dict(found["missing"] or {}),
    )


def _heatmap(cells) -> list[list[int | None]]:
    medians = {(weekday, hour): int(middle / count) for weekday, hour, middle, count, *_ in cells}
    return [[medians.get((d, h)) for h in range(24)] for d in range(7)]


def best_slot(cells) -> BestSlot | None:
    """The heatmap cell with the highest median views among those with at least
    `BEST_SLOT_MIN_POSTS` posts (ties: more posts, then the earlier slot), or None."""
    candidates = [
        (int(middle / count), posts, weekday, hour, typical)
        for weekday, hour, middle, count, posts, typical in cells
        if posts >= BEST_SLOT_MIN_POSTS
    ]
    if not candidates:
        return None
    median, posts, weekday, hour, typical = min(candidates, key=lambda c: (-c[0], -c[1], c[2], c[3]))
    change = round((median / typical - 1) * 100) if typical else None
    return BestSlot(weekday, hour, median, posts, round(typical), change)


def today_in(zone: str) -> date:
    """Today's date on the clock of a time zone (UTC when the name is unknown)."""
    return utcnow().astimezone(_zone(zone)).date()


def _reasons(said: list[dict], unseen: list[str]) -> dict[str, str]:
    """For each metric no snapshot has, the reason given most often (the first met of equally
    frequent ones: posts by id, a post's platform before its snapshots, its snapshots oldest
    first), or why the platform never gives it; NO_DATA when nobody said."""
    heard: dict[str, dict[str, list]] = {m: {} for m in unseen}  # metric -> reason -> [times, first met]
    for source in said:
        if source["source"] == "platform":
            reasons, met = NOT_OFFERED.get(source["key"], {}), (source["post_id"], 0, 0.0)
        else:
            reasons, met = json.loads(source["key"]) or {}, (source["post_id"], 1, source["moment"])
        for metric, reason in reasons.items():
            if metric in heard:
                tally = heard[metric].setdefault(str(reason), [0, met])
                tally[0] += source["times"]
                tally[1] = min(tally[1], met)
    return {
        m: min(heard[m], key=lambda r: (-heard[m][r][0], heard[m][r][1])) if heard[m] else NO_DATA
        for m in unseen
    }


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
        tolerance = growth.tolerance(offset)
        near = [s for s in snapshots if abs(s.captured_at - target) <= tolerance and s.views is not None]
        if near:
            best = min(near, key=lambda s: abs(s.captured_at - target))
            milestones.append((label, best.views, ""))
        elif target > (snapshots[-1].captured_at if snapshots else post.posted_at):
            milestones.append((label, None, "not reached yet"))
        else:
            milestones.append((label, None, "not captured: we weren't syncing this post then"))
    return PostHistory(post=post, snapshots=list(snapshots), milestones=milestones, notes=list(notes))


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


NOT_IN_PERIOD = "no snapshot in this period"
NOT_REPORTED = "not reported by the platform"


async def csv_text(
    user_id: uuid.UUID, period: Period, *, account_ids: list[uuid.UUID] | None = None
) -> AsyncIterator[str]:
    """The dashboard's data as CSV, in pieces as it is read: one row per day, then one row per
    post (a batch of posts at a time).

    A number nobody reported is an empty cell, never a 0, and the row's last column says
    why ("saves: TikTok's API doesn't report saves").
    """
    result = await overview(user_id, period, account_ids=account_ids)
    days = [day for day, _ in next(iter(result.series.values()), [])]
    unseen = [m for m in METRICS if m not in result.series]
    why_days = _why([(m, result.totals[m].missing or NO_DATA) for m in unseen])
    rows = [["date", *METRICS, "why empty"]]
    for index, day in enumerate(days):
        values = [result.series[m][index][1] if m in result.series else "" for m in METRICS]
        rows.append([day.isoformat(), *values, why_days])
    rows.append([])
    rows.append(
        [
            "post",
            "platform",
            "published",
            "url",
            "views in period",
            *(f"{m} now" for m in METRICS),
            "why empty",
        ]
    )
    yield _csv(rows)
    async for posts in _every_post(user_id, period, account_ids):
        yield _csv(_post_line(post) for post in posts)


def csv_name(period: Period) -> str:
    return f"assetry-analytics-{period.start}-{period.end}.csv"


def _csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _post_line(post: PostRow) -> list:
    gained = post.gained.get("views")
    empty = [] if gained is not None else [("views in period", NOT_IN_PERIOD)]
    empty += [
        (f"{m} now", why_missing(post.platform, post.missing, m))
        for m in METRICS
        if post.metrics.get(m) is None
    ]
    return [
        csv_safe(post.title), post.platform, post.posted_at.isoformat(), csv_safe(post.url),
        "" if gained is None else gained,
        *("" if post.metrics.get(m) is None else post.metrics[m] for m in METRICS),
        csv_safe(_why(empty)),
    ]  # fmt: skip


def why_missing(platform: str, missing: dict[str, str] | None, metric: str) -> str:
    """Why a post has no number for a metric: what its last snapshot said, or what its platform never gives."""
    return (missing or {}).get(metric) or NOT_OFFERED.get(platform, {}).get(metric) or NOT_REPORTED


def _why(empty: list[tuple[str, str]]) -> str:
    return "; ".join(f"{column}: {reason}" for column, reason in empty)
