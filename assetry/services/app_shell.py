"""What the app shell shows a signed-in creator on every page (its banners), read in one transaction."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.models import User
from assetry.models.base import utcnow
from assetry.services import plan, policies, policy_changes


@dataclass(frozen=True)
class Banners:
    """The plan reminders that came, and the changed policies not yet accepted (None: nothing to accept)."""

    reminders: list[plan.Reminder]
    policies: policy_changes.PolicyBanner | None


@asynccontextmanager
async def page_load(user: User) -> AsyncIterator[Banners]:
    """A signed-in page load's reads in one transaction: the shell's banners first, then whatever
    the page reads inside the block (its services' `user_session`s join this one)."""
    async with db.one_user_transaction(user.id) as session:
        yield await _banners_in(session, user)


@functools.cache
def _both_banners() -> sa.Select:
    """Whether a reminder may be due, and the current policies accepted, of the user `user_id` at
    `now`: built once, as it is asked at every signed-in page load (building it cost about as much
    as running it)."""
    user_id, now = (
        sa.bindparam("user_id", type_=sa.Uuid()),
        sa.bindparam("now", type_=sa.DateTime(timezone=True)),
    )
    current = sa.bindparam("current", expanding=True)  # the texts of now, not those when it was built
    return sa.select(plan.reminder_may_be_due(user_id, now), policies.accepted_digests(user_id, current))


async def _banners_in(session: AsyncSession, user: User) -> Banners:
    """Both banners in one statement; the reminders' own reads only when one may be due (rarely)."""
    now = utcnow()
    reminded, accepted = (
        await session.exec(
            _both_banners(), params={"user_id": user.id, "now": now, "current": policies.current_digests()}
        )
    ).one()
    return Banners(
        reminders=await plan.reminders_in(session, user_id=user.id, zone_name=user.time_zone, now=now)
        if reminded
        else [],
        policies=policy_changes.banner_for(policies.unaccepted_among(accepted)),
    )
