"""The admin overview: counts over time, never anyone's identity.

Every figure is an aggregate (sign-ups a day, distinct active users a day, generations
by kind/provider/status with their cost, accounts needing reconnect, failing jobs,
waitlist size), as the privacy policy promises: usage is analysed in aggregate only.

Active users are read from the daily counts `services.usage` keeps, never from the usage
events themselves: the same numbers as counting distinct user ids in the events, from at
most 90 rows whatever the number of events or users.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput
from assetry.models import ConnectedAccount, DailyActiveCount, Generation, User, WaitlistEntry
from assetry.models.analytics import NEEDS_RECONNECT
from assetry.models.base import utcnow
from assetry.services.admin import jobs
from assetry.services.admin.common import acting_admin, day_of
from assetry.services.admin.jobs import DEFERRED_AT, JOBS

PERIODS = {"7": 7, "30": 30, "90": 90}


@dataclass(frozen=True)
class GenerationGroup:
    kind: str
    provider: str
    status: str
    count: int
    cost_usd: float


@dataclass
class Overview:
    days: list[date]
    signups: list[int]
    active: list[int]  # distinct users with usage tied to them that day
    waitlist: list[int]  # size of the waitlist at the end of each day
    users_total: int
    active_day: int  # distinct users active today, in the last 7 and the last 30 UTC days (today included)
    active_week: int
    active_month: int
    generations: list[GenerationGroup] = field(default_factory=list)
    accounts_total: int = 0
    accounts_needing_reconnect: int = 0
    failed_jobs: list[tuple[str, int]] = field(default_factory=list)  # (kind, failed in period)
    jobs_queued: int = 0
    jobs_running: int = 0
    waitlist_total: int = 0
    waitlist_invited: int = 0

    @property
    def generations_count(self) -> int:
        return sum(group.count for group in self.generations)

    @property
    def generations_cost(self) -> float:
        return round(sum(group.cost_usd for group in self.generations), 2)


def period_days(preset: str) -> int:
    if preset not in PERIODS:
        raise BadInput("Pick 7, 30 or 90 days.")
    return PERIODS[preset]


async def overview(actor_id: uuid.UUID, days: int = 30, *, now: datetime | None = None) -> Overview:
    """Everything the overview shows for the last `days` UTC days (today included)."""
    if days not in PERIODS.values():
        raise BadInput("Pick 7, 30 or 90 days.")
    now = now or utcnow()
    first = now.date() - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, UTC)
    day_list = [first + timedelta(days=i) for i in range(days)]
    async with db.service_session() as session:
        await acting_admin(session, actor_id)

        async def per_day(model) -> dict[date, int]:
            day = day_of(model.created_at)
            found = await session.exec(
                select(day, sa.func.count()).where(model.created_at >= start).group_by(day)
            )
            return dict(found.all())

        async def count(model, *filters) -> int:
            return await session.scalar(select(sa.func.count()).select_from(model).where(*filters)) or 0

        signups = await per_day(User)
        # Per day: users active on it, and users last seen on it (so active since D = sum from D on).
        since = {span: now.date() - timedelta(days=span - 1) for span in (1, 7, 30)}
        daily = (
            await session.exec(
                select(DailyActiveCount.day, DailyActiveCount.users, DailyActiveCount.last_seen).where(
                    DailyActiveCount.day >= min(first, since[30])
                )
            )
        ).all()
        active = {d: n for d, n, _ in daily}
        active_day, active_week, active_month = (
            sum(seen for d, _, seen in daily if d >= from_day) for from_day in since.values()
        )
        groups = (
            await session.exec(
                select(
                    Generation.kind,
                    Generation.provider,
                    Generation.status,
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(Generation.cost_usd), 0.0),
                )
                .where(Generation.created_at >= start)
                .group_by(Generation.kind, Generation.provider, Generation.status)
                .order_by(Generation.kind, Generation.provider, Generation.status)
            )
        ).all()
        failed = (
            await session.exec(
                sa.select(JOBS.c.task_name, sa.func.count())
                .where(sa.cast(JOBS.c.status, sa.Text) == jobs.FAILED, start <= DEFERRED_AT)
                .group_by(JOBS.c.task_name)
                .order_by(sa.func.count().desc(), JOBS.c.task_name)
            )
        ).all()
        joined = await per_day(WaitlistEntry)
        waitlist_before = await count(WaitlistEntry, WaitlistEntry.created_at < start)
        return Overview(
            days=day_list,
            signups=[signups.get(d, 0) for d in day_list],
            active=[active.get(d, 0) for d in day_list],
            waitlist=_running_total(waitlist_before, [joined.get(d, 0) for d in day_list]),
            users_total=await count(User),
            active_day=active_day,
            active_week=active_week,
            active_month=active_month,
            generations=[GenerationGroup(k, p, s, n, round(float(c), 4)) for k, p, s, n, c in groups],
            accounts_total=await count(ConnectedAccount),
            accounts_needing_reconnect=await count(
                ConnectedAccount, ConnectedAccount.status == NEEDS_RECONNECT
            ),
            failed_jobs=[(kind, n) for kind, n in failed],
            jobs_queued=await _jobs(session, jobs.TODO),
            jobs_running=await _jobs(session, jobs.DOING),
            waitlist_total=await count(WaitlistEntry),
            waitlist_invited=await count(WaitlistEntry, col(WaitlistEntry.invited_at).is_not(None)),
        )


def _running_total(before: int, increments: list[int]) -> list[int]:
    totals, running = [], before
    for step in increments:
        running += step
        totals.append(running)
    return totals


async def _jobs(session, status: str) -> int:
    query = sa.select(sa.func.count()).select_from(JOBS).where(sa.cast(JOBS.c.status, sa.Text) == status)
    return await session.scalar(query) or 0
