"""Usage capture: page views, feature use and errors, with the technical data the policy names.

Each event tied to a user also keeps small rollups in step, so the admin overview counts
active users without reading the events: the user's `last_seen_at`, one `active_days` row
per user and UTC day, and per day in `daily_active_users` how many users were active on it
and how many were last seen on it.
Events of users who chose "don't tie my usage to me" are stored without their id, so
they touch neither rollup: those users are not counted as active.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as upsert
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

    Invariant: whenever `last_seen_at` is set, the row of its day is in `active_days` and the
    user is counted in that day's `last_seen` (all written in one transaction). So an event on
    the day of `seen` at most moves `last_seen_at` within that day. Any other event takes the
    user's row lock and re-reads `last_seen_at`, inserts its day's row if it is missing (and
    counts it), and moves `last_seen_at` and its day's count forward if the event is later, in
    whatever order events arrive.
    """
    day = at.date()
    if seen is not None and seen.date() == day:
        if seen < at - SEEN_EVERY:
            await session.exec(
                sa.update(User).where(User.id == user_id, User.last_seen_at < at).values(last_seen_at=at)
            )
        return
    current = await _locked_last_seen(session, user_id)
    new_row = upsert(ActiveDay).values(id=uuid.uuid4(), day=day, user_id=user_id).on_conflict_do_nothing()
    first_today = (await session.exec(new_row.returning(ActiveDay.day))).first() is not None
    latest = current is None or current < at
    if latest:
        await session.exec(sa.update(User).where(User.id == user_id).values(last_seen_at=at))
    moves_day = latest and (current is None or current.date() != day)
    if first_today or moves_day:
        await session.exec(
            upsert(DailyActiveCount)
            .values(day=day, users=int(first_today), last_seen=int(moves_day))
            .on_conflict_do_update(
                index_elements=[DailyActiveCount.day],
                set_={
                    "users": DailyActiveCount.users + int(first_today),
                    "last_seen": DailyActiveCount.last_seen + int(moves_day),
                },
            )
        )
    if moves_day and current is not None:  # an earlier day than `day`: counts lock newest day first
        await session.exec(
            sa.update(DailyActiveCount)
            .where(DailyActiveCount.day == current.date())
            .values(last_seen=DailyActiveCount.last_seen - 1)
        )


async def forget_active_days(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Take a user off the daily counts; delete their `active_days` rows (returns how many) and last_seen_at."""
    seen = await _locked_last_seen(session, user_id)
    if seen is not None:
        await session.exec(
            sa.update(DailyActiveCount)
            .where(DailyActiveCount.day == seen.date())
            .values(last_seen=DailyActiveCount.last_seen - 1)
        )
        await session.exec(sa.update(User).where(User.id == user_id).values(last_seen_at=None))
    days = select(ActiveDay.day).where(ActiveDay.user_id == user_id)
    await session.exec(
        sa.update(DailyActiveCount)
        .where(DailyActiveCount.day.in_(days))
        .values(users=DailyActiveCount.users - 1)
    )
    return (await session.exec(sa.delete(ActiveDay).where(ActiveDay.user_id == user_id))).rowcount


async def _locked_last_seen(session: AsyncSession, user_id: uuid.UUID) -> datetime | None:
    """The user's last_seen_at, their row locked until the transaction ends.

    FOR NO KEY UPDATE (`key_share=True`), which does not wait for the key-share locks that
    inserting rows pointing at the user take (two visits would deadlock on FOR UPDATE).
    """
    return await session.scalar(
        select(User.last_seen_at).where(User.id == user_id).with_for_update(key_share=True)
    )
