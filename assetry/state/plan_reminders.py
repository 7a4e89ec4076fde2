"""The banner the app shell shows when an hour on the posting plan came: "Time to post …"."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid

import reflex as rx

from assetry.models import User
from assetry.services import plan
from assetry.state.session import LOGIN_ROUTE, ShellPart, signed_in_user


@dataclasses.dataclass
class ReminderView:
    slot_id: str = ""
    what: str = ""
    when: str = ""


class PlanReminderState(ShellPart, rx.State):
    """Reminders that fired and were not dismissed, for slots whose post was not seen yet."""

    reminders: list[ReminderView] = []

    async def _fill(self, user: User) -> None:
        await self.refresh(user.id, user.time_zone)

    async def refresh(self, user_id: uuid.UUID, zone: str) -> None:
        self.reminders = [
            ReminderView(str(r.slot_id), r.what, r.when) for r in await plan.reminders(user_id, zone)
        ]

    @rx.event
    async def dismiss(self, slot_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        with contextlib.suppress(ValueError):  # not a slot id: nothing to dismiss
            await plan.dismiss(user.id, uuid.UUID(slot_id))
        await self.refresh(user.id, user.time_zone)
        return None
