"""Every figure of the dashboard on a rich history, checked against the rule written out plainly.

Two accounts (TikTok and Instagram), posts published long before and inside the periods,
snapshots with gaps, drops and missing numbers, a deleted post, a tracked post, another
creator's data, and time zones whose day boundaries (and a DST change) cut through the
snapshots. `expected` below computes what the dashboard must show straight from the rows
the test wrote: the first value seen of a post counts on its publish day, each later rise
above the highest value seen so far on the day it was captured, nothing else.
"""

from __future__ import annotations

import random
import statistics
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
import sqlalchemy as sa

from assetry import db
from assetry.models import AccountSnapshot, ConnectedAccount, MetricSnapshot, Post, User
from assetry.models.analytics import METRICS, TRACKED
from assetry.services import dashboard
from assetry.services.dashboard import NO_DATA, NOT_OFFERED, Period
from tests.migrations import migrate_again_from

TODAY = date(2026, 11, 29)
START = datetime(2026, 6, 1, tzinfo=UTC)
NEW_YORK = "America/New_York"  # clocks went back on 1 November 2026, 06:00 UTC


def moment(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@dataclass
class History:
    """What the test wrote for the creator (the deleted post, tracked post and other creator left out)."""

    user_id: uuid.UUID
    accounts: dict[str, uuid.UUID]  # platform -> account id
    names: dict[uuid.UUID, str]
    posts: list[dict]
    snapshots: list[dict]
    followers: list[dict]


def _values(rng: random.Random, platform: str, count: int) -> list[dict]:
    """`count` snapshots' numbers: mostly growing, sometimes dropping, sometimes absent."""
    offered = (
        ("views", "likes", "comments", "shares")
        if platform == "tiktok"
        else ("views", "likes", "comments", "saves", "reach", "interactions")
    )
    current = {m: rng.randrange(0, 3000) for m in offered}
    rows = []
    for _ in range(count):
        row = dict.fromkeys(METRICS)
        missing = {}
        for metric in offered:
            current[metric] = max(0, current[metric] + rng.randrange(-300, 2500))
            if rng.random() < 0.2:
                if rng.random() < 0.5:
                    missing[metric] = rng.choice(("too few viewers", "not ready yet"))
            else:
                row[metric] = current[metric]
        if platform == "instagram":  # Instagram never gives this creator's shares, for two reasons
            missing["shares"] = rng.choice(("not available for reels", "not available for carousels"))
        row["missing"] = missing
        rows.append(row)
    return rows


async def seed(seed: int = 7) -> History:
    rng = random.Random(seed)
    user_id, other_id = uuid.uuid4(), uuid.uuid4()
    history = History(user_id, {}, {}, [], [], [])
    async with db.service_session() as session:
        for owner in (user_id, other_id):
            session.add(User(id=owner, email=f"{owner}@example.com", age_confirmed_at=START))
        await session.flush()
        for owner in (user_id, other_id):
            for platform, name in (("tiktok", "Maya"), ("instagram", "maya.makes")):
                account = ConnectedAccount(
                    user_id=owner, platform=platform, platform_account_id=f"{platform}-{owner}", username=name
                )
                session.add(account)
                await session.flush()
                if owner == user_id:
                    history.accounts[platform] = account.id
                    history.names[account.id] = name
                # Followers once a day from October, a few days unknown.
                for day in range(60):
                    captured = datetime(2026, 10, 1, 9, tzinfo=UTC) + timedelta(days=day)
                    followers = None if rng.random() < 0.15 else 1000 + day * rng.randrange(1, 40)
                    session.add(
                        AccountSnapshot(
                            user_id=owner, account_id=account.id, captured_at=captured, followers=followers
                        )
                    )
                    if owner == user_id:
                        history.followers.append(
                            {"account_id": account.id, "captured_at": captured, "followers": followers}
                        )
                published = [START + timedelta(minutes=rng.randrange(0, 180 * 24 * 60)) for _ in range(9)]
                # Published near midnight in New York and UTC, and just before the clocks went back.
                published += [moment(23, 4, 30), moment(1, 5, 30), moment(22, 23, 59), moment(28, 0, 10)]
                for index, posted_at in enumerate(published):
                    post = Post(
                        user_id=owner,
                        account_id=account.id,
                        platform=platform,
                        platform_post_id=f"{platform}-{index}",
                        title=f"{platform} video {index}",
                        url=f"https://example.com/{platform}/{index}",
                        posted_at=posted_at,
                    )
                    session.add(post)
                    await session.flush()
                    count = 0 if index == 3 else rng.randrange(1, 9)
                    offsets = sorted(rng.sample(range(1, 70 * 24 * 60), count))
                    if index == 9:  # snapshots at midnight New York time (05:00 UTC)
                        offsets = sorted({30, 30 + 24 * 60, *offsets})
                    rows = []
                    for minutes, numbers in zip(offsets, _values(rng, platform, len(offsets)), strict=True):
                        row = {"post_id": post.id, "captured_at": posted_at + timedelta(minutes=minutes)}
                        row.update(numbers)
                        session.add(MetricSnapshot(user_id=owner, **row))
                        rows.append(row)
                    if owner == user_id:
                        history.posts.append(
                            {
                                "id": post.id,
                                "account_id": account.id,
                                "platform": platform,
                                "posted_at": posted_at,
                            }
                        )
                        history.snapshots.extend(rows)
        # A tracked public post and a post deleted afterwards: neither counts.
        for source, deleted in ((TRACKED, False), ("own", True)):
            post = Post(
                user_id=user_id,
                account_id=history.accounts["tiktok"],
                source=source,
                platform="tiktok",
                platform_post_id=f"gone-{source}",
                posted_at=moment(24, 12),
            )
            session.add(post)
            await session.flush()
            session.add(
                MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=moment(25, 12), views=99_999)
            )
            await session.flush()
            if deleted:
                await session.delete(post)
    return history


def _day(moment_: datetime, zone: ZoneInfo) -> date:
    return moment_.astimezone(zone).date()


def expected(history: History, period: Period, account_ids: list[uuid.UUID] | None) -> dict:
    """What the dashboard must show, computed from the written rows by the rule alone."""
    try:
        zone = ZoneInfo(period.zone)
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("UTC")
    start = datetime.combine(period.start, datetime.min.time(), zone)
    end = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), zone)
    previous = period.previous()
    posts = sorted(
        (p for p in history.posts if account_ids is None or p["account_id"] in account_ids),
        key=lambda p: p["id"],
    )
    seen = {}  # post id -> its snapshots captured before the end, oldest first
    for post in posts:
        rows = sorted(
            (s for s in history.snapshots if s["post_id"] == post["id"] and s["captured_at"] < end),
            key=lambda s: s["captured_at"],
        )
        if rows:
            seen[post["id"]] = rows
    daily: dict[date, Counter] = {}
    gained: dict[uuid.UUID, dict[str, int]] = {}
    for post in posts:
        for metric in METRICS:
            highest = None
            for row in seen.get(post["id"], []):
                value = row[metric]
                if value is None:
                    continue
                if highest is None:
                    when, amount = post["posted_at"], value
                elif value > highest:
                    when, amount = row["captured_at"], value - highest
                else:
                    continue
                highest = value if highest is None else max(highest, value)
                daily.setdefault(_day(when, zone), Counter())[metric] += amount
                daily[_day(when, zone)].setdefault(metric, 0)
                if start <= when < end:
                    mine = gained.setdefault(post["id"], {})
                    mine[metric] = mine.get(metric, 0) + amount

    def sums(first: date, last: date) -> dict[str, int]:
        out: dict[str, int] = {}
        for day, counts in daily.items():
            if first <= day <= last:
                for metric, amount in counts.items():
                    out[metric] = out.get(metric, 0) + amount
        return out

    now, before = sums(period.start, period.end), sums(previous.start, previous.end)

    def rate(figures: dict[str, int]) -> float | None:
        if not figures.get("views"):
            return None
        return round(
            sum(figures.get(m, 0) for m in ("likes", "comments", "shares", "saves")) / figures["views"] * 100,
            2,
        )

    reasons = {}
    for metric in METRICS:
        if any(row[metric] is not None for rows in seen.values() for row in rows):
            continue
        said = []
        for post in posts:
            if post["id"] not in seen:
                continue
            if metric in NOT_OFFERED.get(post["platform"], {}):
                said.append(NOT_OFFERED[post["platform"]][metric])
            said += [row["missing"][metric] for row in seen[post["id"]] if metric in row["missing"]]
        reasons[metric] = statistics.mode(said) if said else NO_DATA

    def latest(rows: list[dict], metric: str) -> int | None:
        return next((row[metric] for row in reversed(rows) if row[metric] is not None), None)

    top = []
    for post in posts:
        if post["id"] in seen:
            rows = seen[post["id"]]
            own = gained.get(post["id"])
            top.append(
                (
                    post["id"],
                    {m: latest(rows, m) for m in METRICS},
                    {m: own.get(m) for m in METRICS} if own is not None else {},
                    rows[-1]["missing"],
                )
            )
    top.sort(key=lambda t: (t[2].get("views") or 0, t[1]["views"] or 0), reverse=True)
    cells: dict[tuple[int, int], list[int]] = {}
    for post in posts:
        views = latest(seen.get(post["id"], []), "views")
        if views is not None:
            local = post["posted_at"].astimezone(zone)
            cells.setdefault((local.weekday(), local.hour), []).append(views)
    followers = []
    for account_id in history.accounts.values():
        if account_ids is not None and account_id not in account_ids:
            continue
        known = [f for f in history.followers if f["account_id"] == account_id and f["followers"] is not None]
        latest_now = [f["followers"] for f in known if f["captured_at"] < end]
        latest_before = [f["followers"] for f in known if f["captured_at"] < start]
        change = latest_now[-1] - latest_before[-1] if latest_now and latest_before else None
        followers.append((history.names[account_id], latest_now[-1] if latest_now else None, change))
    return {
        "totals": {
            m: (
                now.get(m),
                before.get(m),
                round((now[m] - before[m]) / before[m] * 100, 1) if m in now and before.get(m) else None,
                "" if m in now else reasons.get(m, NO_DATA),
            )
            for m in METRICS
        },
        "series": {
            m: [(day, daily.get(day, {}).get(m, 0)) for day in _days(period)] for m in METRICS if m in now
        },
        "rates": (rate(now), rate(before)),
        "followers": sorted(followers),
        "top_posts": top[:10],
        "heatmap": [
            [int(statistics.median(cells[d, h])) if (d, h) in cells else None for h in range(24)]
            for d in range(7)
        ],
        "posts_in_period": sum(1 for p in posts if start <= p["posted_at"] < end),
        "has_data": bool(seen),
        "reasons": reasons,
    }


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=n) for n in range(period.days)]


def shown(result: dashboard.Overview) -> dict:
    """The same figures, as the dashboard computed them."""
    return {
        "totals": {m: (t.value, t.previous, t.change_pct, t.missing) for m, t in result.totals.items()},
        "series": result.series,
        "rates": (result.engagement_rate, result.previous_engagement_rate),
        "followers": sorted(result.followers),
        "top_posts": [(p.id, p.metrics, p.gained, p.missing) for p in result.top_posts],
        "heatmap": result.heatmap,
        "posts_in_period": result.posts_in_period,
        "has_data": result.has_data,
        "reasons": result.reasons,
    }


PERIODS = [
    ("7", NEW_YORK, None),
    ("30", "UTC", None),
    ("90", "Asia/Kolkata", None),
    ("30", "Mars/Olympus", "instagram"),  # an unknown zone counts in UTC
    ("7", "UTC", "tiktok"),
]


@pytest.mark.parametrize(("preset", "zone", "platform"), PERIODS)
async def test_every_figure_follows_the_rule(
    database: str, preset: str, zone: str, platform: str | None
) -> None:
    history = await seed()
    account_ids = None if platform is None else [history.accounts[platform]]
    period = dashboard.period_for(preset, today=TODAY, zone=zone)
    result = await dashboard.overview(history.user_id, period, account_ids=account_ids)
    assert shown(result) == expected(history, period, account_ids)
    assert result.has_data and result.totals["views"].value


async def test_a_past_range_ignores_what_was_captured_after_it(database: str) -> None:
    history = await seed()
    period = dashboard.period_for("custom", today=TODAY, zone=NEW_YORK, start="2026-10-20", end="2026-11-05")
    result = await dashboard.overview(history.user_id, period)
    assert shown(result) == expected(history, period, None)


async def test_days_end_at_the_creators_midnight_across_a_clock_change(database: str) -> None:
    history = await seed()
    async with db.service_session() as session:
        account = ConnectedAccount(user_id=history.user_id, platform="tiktok", platform_account_id="night")
        session.add(account)
        await session.flush()
        late = Post(
            user_id=history.user_id,
            account_id=account.id,
            platform="tiktok",
            platform_post_id="late",
            posted_at=moment(23, 4, 30),
        )  # 22nd, 23:30 in New York
        fall = Post(
            user_id=history.user_id,
            account_id=account.id,
            platform="tiktok",
            platform_post_id="fall",
            posted_at=moment(1, 5, 30),
        )  # 1st, 01:30 EDT
        session.add_all([late, fall])
        await session.flush()
        for post, captured, views in (
            (late, moment(23, 4, 45), 100),  # first seen: counts on the 22nd in New York
            (late, moment(23, 5), 130),  # midnight in New York: the 23rd
            (late, moment(24, 4, 59), 250),  # 23:59 on the 23rd in New York
            (fall, moment(1, 10), 10),
            (fall, moment(2, 4, 30), 40),  # 23:30 EST on the 1st, after the clocks went back
            (fall, moment(2, 5), 70),  # midnight EST: the 2nd
        ):
            session.add(
                MetricSnapshot(user_id=history.user_id, post_id=post.id, captured_at=captured, views=views)
            )
    only = [account.id]

    async def views(first: date, last: date, zone: str) -> dict[date, int]:
        result = await dashboard.overview(history.user_id, Period(first, last, zone), account_ids=only)
        return dict(result.series["views"])

    assert await views(date(2026, 11, 22), date(2026, 11, 23), NEW_YORK) == {
        date(2026, 11, 22): 100, date(2026, 11, 23): 150}  # fmt: skip
    assert await views(date(2026, 11, 22), date(2026, 11, 24), "UTC") == {
        date(2026, 11, 22): 0, date(2026, 11, 23): 130, date(2026, 11, 24): 120}  # fmt: skip
    assert await views(date(2026, 11, 1), date(2026, 11, 2), NEW_YORK) == {
        date(2026, 11, 1): 40, date(2026, 11, 2): 30}  # fmt: skip
    # In Kolkata (UTC+05:30) the 1st ends at 18:30 UTC: both rises land on the 2nd.
    assert await views(date(2026, 11, 1), date(2026, 11, 2), "Asia/Kolkata") == {
        date(2026, 11, 1): 10, date(2026, 11, 2): 60}  # fmt: skip
    kolkata = await dashboard.overview(
        history.user_id, Period(date(2026, 11, 1), date(2026, 11, 2), "Asia/Kolkata"), account_ids=only
    )
    assert kolkata.heatmap[6][11] == 70  # published Sunday 1 November, 11:00 in Kolkata


async def test_an_empty_account_filter_shows_nothing(database: str) -> None:
    history = await seed()
    result = await dashboard.overview(
        history.user_id, dashboard.period_for("90", today=TODAY, zone="UTC"), account_ids=[]
    )
    assert (result.has_data, result.posts_in_period, result.top_posts, result.series) == (False, 0, [], {})
    assert result.totals["views"].value is None and result.followers == []


async def test_a_snapshot_stored_late_counts_as_if_it_had_come_in_order(database: str) -> None:
    """The database keeps each snapshot's highest earlier values whatever order rows arrive in:
    one statement at a time, an earlier one after the later ones, two in one statement."""
    history = await seed()
    rows = history.snapshots
    shuffled = rows[1::2] + rows[::2]
    async with db.service_session() as session:
        await session.exec(sa.delete(MetricSnapshot).where(MetricSnapshot.user_id == history.user_id))
    for first in range(0, len(shuffled), 7):
        async with db.service_session() as session:
            session.add_all(
                MetricSnapshot(user_id=history.user_id, **row) for row in shuffled[first : first + 7]
            )
    period = dashboard.period_for("90", today=TODAY, zone=NEW_YORK)
    result = await dashboard.overview(history.user_id, period)
    assert shown(result) == expected(history, period, None)


async def test_the_migration_fills_the_highest_earlier_values_of_stored_snapshots(database: str) -> None:
    """Snapshots stored before migration 0018 count by the rule once it has run."""
    history = await seed()
    await migrate_again_from("0017")
    period = dashboard.period_for("30", today=TODAY, zone="UTC")
    result = await dashboard.overview(history.user_id, period)
    assert shown(result) == expected(history, period, None)
