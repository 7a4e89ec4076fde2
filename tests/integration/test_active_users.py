"""Active users from the rollups equal active users counted straight from the usage events.

Events go through `usage.record`, as in the app: at day boundaries, out of order across
midnight, a few minutes apart, at once, from users who opted out of having usage tied to
them, and past the retention window. Each time, the overview's figures (read from
`daily_active_users` and `users.last_seen_at`) are compared with distinct user ids counted
in Python from the stored events, and with the numbers the scenario was built to give.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.config import get_settings
from assetry.models import ActiveDay, DailyActiveCount, UsageEvent, User
from assetry.services import privacy, profile, usage
from assetry.services.admin import overview
from tests.admin_people import PASSWORD, make_user
from tests.migrations import migrate_again_from

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
DAY = timedelta(days=1)
MIDNIGHT = datetime(2026, 3, 10, tzinfo=UTC)
JUST_BEFORE = timedelta(microseconds=1)


@dataclass
class Counted:
    """Active users as the overview shows them: per day of the period, today, 7 and 30 days."""

    per_day: list[int]
    today: int
    week: int
    month: int


async def from_the_events(days: int, now: datetime = NOW) -> Counted:
    """Distinct user ids in the stored usage events, counted here without any rollup."""
    async with db.service_session() as session:
        events = (
            await session.exec(
                select(UsageEvent.user_id, UsageEvent.created_at).where(UsageEvent.user_id.is_not(None))
            )
        ).all()
    by_day: dict[date, set[uuid.UUID]] = defaultdict(set)
    for user_id, at in events:
        by_day[at.astimezone(UTC).date()].add(user_id)

    def since(span: int) -> int:
        first = now.date() - (span - 1) * DAY
        return len(set().union(*(users for day, users in by_day.items() if day >= first)))

    shown = [now.date() - i * DAY for i in reversed(range(days))]
    return Counted([len(by_day[d]) for d in shown], since(1), since(7), since(30))


async def from_the_overview(admin: User, days: int, now: datetime = NOW) -> Counted:
    result = await overview.overview(admin.id, days, now=now)
    return Counted(result.active, result.active_day, result.active_week, result.active_month)


async def visit(user: User | None, at: datetime) -> None:
    await usage.record(usage.PAGE_VIEW, "/home", user_id=user.id if user else None, now=at)


async def last_seen(user: User) -> datetime | None:
    async with db.service_session() as session:
        return await session.scalar(select(User.last_seen_at).where(User.id == user.id))


@pytest.fixture
async def admin(database: str) -> User:
    return await make_user("root@assetry.test", admin=True)


async def test_boundaries_and_late_events_are_counted_on_their_own_day(admin: User) -> None:
    maya, theo, lena = [await make_user(f"{n}@example.com") for n in ("maya", "theo", "lena")]
    # maya: the last instant of yesterday and the first of today, then twice within five minutes.
    await visit(maya, MIDNIGHT - JUST_BEFORE)
    await visit(maya, MIDNIGHT)
    await visit(maya, MIDNIGHT + timedelta(minutes=2))
    assert await last_seen(maya) == MIDNIGHT  # written at most every five minutes...
    await visit(maya, MIDNIGHT + timedelta(minutes=6))
    assert await last_seen(maya) == MIDNIGHT + timedelta(minutes=6)
    # theo: today's event is stored before yesterday's (a slow request across midnight).
    await visit(theo, MIDNIGHT + timedelta(seconds=1))
    await visit(theo, MIDNIGHT - timedelta(seconds=1))
    assert await last_seen(theo) == MIDNIGHT + timedelta(seconds=1)  # ...and never moves back
    # lena: the first instant of the 7-day window, and the last instant before it.
    await visit(lena, MIDNIGHT - 6 * DAY)
    await visit(lena, MIDNIGHT - 6 * DAY - JUST_BEFORE)
    await visit(None, NOW)  # signed out: nobody's activity

    counted = await from_the_overview(admin, 7)
    assert counted == await from_the_events(7)
    assert counted == Counted(per_day=[1, 0, 0, 0, 0, 2, 2], today=2, week=3, month=3)
    assert (await from_the_overview(admin, 30)).per_day[-8:] == [1, 1, 0, 0, 0, 0, 2, 2]


async def test_users_who_opted_out_are_not_counted(admin: User) -> None:
    maya, lena = await make_user("maya@example.com"), await make_user("lena@example.com")
    await visit(lena, NOW - 3 * DAY)
    await profile.set_preferences(lena.id, product_emails=False, usage_opt_out=True)
    for at in (NOW - 2 * DAY, NOW - DAY, NOW):
        await visit(lena, at)  # stored without her id: counted as usage, not as her activity
    await visit(maya, NOW)

    assert await last_seen(lena) == NOW - 3 * DAY
    counted = await from_the_overview(admin, 7)
    assert counted == await from_the_events(7)
    assert counted == Counted(per_day=[0, 0, 0, 1, 0, 0, 1], today=1, week=2, month=2)


async def test_random_traffic_matches_the_events_for_every_period(admin: User) -> None:
    people = [await make_user(f"creator{i}@example.com") for i in range(8)]
    chance = random.Random(20260310)
    visits = []
    for _ in range(240):
        who = chance.choice([*people, None])
        # Half the events fall within a minute of a midnight, where a day is easiest to get wrong.
        day = MIDNIGHT - chance.randrange(45) * DAY
        offset = (
            timedelta(seconds=chance.uniform(-60, 60))
            if chance.random() < 0.5
            else timedelta(seconds=chance.uniform(0, 86_399))
        )
        visits.append((who, min(day + offset, NOW)))
    chance.shuffle(visits)  # arrival order is not time order
    for who, at in visits:
        await visit(who, at)

    for days in overview.PERIODS.values():
        counted = await from_the_overview(admin, days)
        assert counted == await from_the_events(days)
    assert sum(counted.per_day) > 100 and counted.month == len(people)


async def test_simultaneous_first_visits_count_each_user_once(admin: User) -> None:
    people = [await make_user(f"creator{i}@example.com") for i in range(3)]
    moments = [MIDNIGHT - timedelta(seconds=3), MIDNIGHT + timedelta(seconds=3), NOW]
    await asyncio.gather(*(visit(who, at) for who in people for at in moments for _ in range(4)))

    counted = await from_the_overview(admin, 7)
    assert counted == await from_the_events(7)
    assert counted.per_day[-2:] == [3, 3] and counted.today == 3
    async with db.service_session() as session:
        assert (await session.scalar(select(sa.func.count()).select_from(ActiveDay))) == 6


async def test_retention_and_account_deletion_keep_the_counts_true(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    maya, theo = await make_user("maya@example.com"), await make_user("theo@example.com")
    for who in (maya, theo):
        for at in (NOW - 95 * DAY, NOW - 60 * DAY, NOW - 2 * DAY, NOW):
            await visit(who, at)
    await visit(theo, NOW - 30 * DAY)
    await privacy.purge_old_logs(now=NOW)
    assert await from_the_overview(admin, 90) == await from_the_events(90)

    monkeypatch.setenv("DELETION_GRACE_DAYS", "0")
    get_settings.cache_clear()
    await privacy.request_deletion(maya.id, PASSWORD)
    await privacy.purge_account(maya.id)

    counted = await from_the_overview(admin, 90)
    assert counted == await from_the_events(90)
    assert (sum(counted.per_day), counted.today, counted.month) == (4, 1, 1)  # theo alone


async def test_the_migration_fills_the_rollups_from_the_stored_events(admin: User) -> None:
    """Events stored before the rollups existed are counted once migration 0008 has run."""
    maya, theo = await make_user("maya@example.com"), await make_user("theo@example.com")
    async with db.service_session() as session:  # as the app stored them before 0008: events only
        for who, at in [
            (maya, MIDNIGHT - JUST_BEFORE), (maya, MIDNIGHT), (maya, NOW - 20 * DAY),
            (theo, MIDNIGHT - 6 * DAY), (theo, NOW), (None, NOW),
        ]:  # fmt: skip
            session.add(
                UsageEvent(user_id=who.id if who else None, kind="page_view", name="/", created_at=at)
            )
    await migrate_again_from("0007")

    counted = await from_the_overview(admin, 30)
    assert counted == await from_the_events(30)
    assert counted.per_day[-7:] == [1, 0, 0, 0, 0, 1, 2] and (counted.week, counted.month) == (2, 2)
    assert (await last_seen(maya), await last_seen(theo)) == (MIDNIGHT, NOW)
    async with db.service_session() as session:
        assert sorted((await session.exec(select(DailyActiveCount.users))).all()) == [1, 1, 1, 2]
