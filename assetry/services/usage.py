"""Usage capture: page views, feature use and errors, with the technical data the policy names.

Each event tied to a user also keeps two small rollups in step, so the admin overview
counts active users without reading the events: the user's `last_seen_at`, and one
`active_days` row per user and UTC day with its count in `daily_active_users`.
Events of users who chose "don't tie my usage to me" are stored without their id, so
they touch neither rollup: those users are not counted as active.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from user_agents import parse as parse_user_agent

from assetry import db
from assetry.models import ActiveDay, DailyActiveCount, UsageEvent, User
from assetry.models.base import utcnow

PAGE_VIEW, FEATURE, ERROR = "page_view", "feature", "error"
# `users.last_seen_at` is written at most this often per user (and on the first use of each day).
SEEN_EVERY = timedelta(minutes=5)


async def record(
    kind: str,
    name: str,
    *,
    user_id: uuid.UUID | None = None,
    ip: str = "",
    user_agent: str = "",
    referrer: str = "",
    detail: str = "",
    now: datetime | None = None,
) -> UsageEvent:
    """Store one usage event; the user agent is reduced to browser, device type and OS.

    A user who chose "don't tie my usage to me" is honoured here, whoever calls: the
    event is stored without their id and without their IP address.
    """
    agent = parse_user_agent(user_agent or "")
    device = (
        "bot" if agent.is_bot else "phone" if agent.is_mobile else "tablet" if agent.is_tablet else "desktop"
    )
    event = UsageEvent(
        user_id=user_id,
        kind=kind,
        name=name[:200],
        ip=ip[:64],
        browser=f"{agent.browser.family} {agent.browser.version_string}".strip()[:64],
        device=device,
        os=f"{agent.os.family} {agent.os.version_string}".strip()[:64],
        referrer=referrer[:512],
        detail=detail[:2000],
        created_at=now or utcnow(),
    )
    async with db.service_session() as session:
        seen = None
        if user_id is not None:
            found = (
                await session.exec(select(User.usage_opt_out, User.last_seen_at).where(User.id == user_id))
            ).first()
            opted_out, seen = found or (False, None)
            if opted_out:
                event.user_id, event.ip = None, ""
        session.add(event)
        if event.user_id is not None:
            await _mark_active(session, event.user_id, event.created_at, seen)
    return event


async def _mark_active(
    session: AsyncSession, user_id: uuid.UUID, at: datetime, seen: datetime | None
) -> None:
    """Keep the rollups in step with a usage event of `user_id` at `at`; `seen` is their last_seen_at.

    Invariant: whenever `last_seen_at` is set, the row of its day is in `active_days` (written in
    the same transaction). So an event on the day of `seen` needs no row; any other one inserts
    its day's row if it is missing and then counts it, whatever order events arrive in.
    `last_seen_at` only moves forward, and at least once a day, so `last_seen_at >= midnight of D`
    says exactly whether the user was active on D or later.
    """
    day = at.date()
    if seen is None or seen < max(at - SEEN_EVERY, datetime.combine(day, time.min, UTC)):
        await session.exec(
            sa.update(User)
            .where(User.id == user_id, sa.or_(User.last_seen_at.is_(None), User.last_seen_at < at))
            .values(last_seen_at=at)
        )
    if seen is not None and seen.date() == day:
        return
    upsert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    new_row = upsert(ActiveDay).values(id=uuid.uuid4(), day=day, user_id=user_id).on_conflict_do_nothing()
    if (await session.exec(new_row.returning(ActiveDay.day))).first():
        await session.exec(
            upsert(DailyActiveCount)
            .values(day=day, users=1)
            .on_conflict_do_update(
                index_elements=[DailyActiveCount.day], set_={"users": DailyActiveCount.users + 1}
            )
        )


async def forget_active_days(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Delete a user's `active_days` rows and take them off the daily counts; returns how many."""
    days = select(ActiveDay.day).where(ActiveDay.user_id == user_id)
    await session.exec(
        sa.update(DailyActiveCount)
        .where(DailyActiveCount.day.in_(days))
        .values(users=DailyActiveCount.users - 1)
    )
    return (await session.exec(sa.delete(ActiveDay).where(ActiveDay.user_id == user_id))).rowcount
