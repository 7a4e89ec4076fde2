"""What the app shell shows a signed-in creator on every page (its banners), read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from assetry import db
from assetry.models import User
from assetry.services import plan, policy_changes


@dataclass(frozen=True)
class Banners:
    """The plan reminders that came, and the changed policies not yet accepted (None: nothing to accept)."""

    reminders: list[plan.Reminder]
    policies: policy_changes.PolicyBanner | None


async def banners(user: User) -> Banners:
    """The shell's banners for this user, on their own clock."""
    async with db.user_session(user.id) as session:
        return Banners(
            reminders=await plan.reminders_in(session, user_id=user.id, zone_name=user.time_zone),
            policies=await policy_changes.pending(session, user_id=user.id),
        )
