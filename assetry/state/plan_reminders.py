"""The banner the app shell shows when an hour on the posting plan came: "Time to post …".

Every signed-in page reads the reminders on load (`open_page` fills the shell) and starts the
tab's one reminder watcher (`Watching`), which sleeps until a change of the plan or of the
creator's links is pushed (the reminder job's note when the hour comes, a dismissal in another
tab, the post linked), so the banner appears and goes on whatever page is open, and an idle tab
queries nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import ClassVar

import reflex as rx

from assetry.services import app_shell, changes, plan
from assetry.state.session import LOGIN_ROUTE, ShellPart, signed_in_user
from assetry.state.watching import Progress, Watching


@dataclasses.dataclass
class ReminderView:
    slot_id: str = ""
    what: str = ""
    when: str = ""


class PlanReminderState(ShellPart, Watching, rx.State):
    """Reminders that fired and were not dismissed, for slots whose post was not seen yet."""

    _wakes_on: ClassVar[frozenset[str] | None] = frozenset({changes.PLAN, changes.LINKS})
    _reads_first: ClassVar[bool] = False  # the page's load read them, with the page's other reads
    reminders: list[ReminderView] = []

    async def _fill(self, banners: app_shell.Banners):
        """The reminders now, then a watcher that follows them (one per tab)."""
        self._show(banners.reminders)
        return None if self._watching else PlanReminderState.watch

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        await self._refresh(user_id)
        return Progress(running=True)

    async def _refresh(self, user_id: uuid.UUID, zone: str | None = None) -> None:
        self._show(await plan.reminders(user_id, zone))

    def _show(self, reminders: list[plan.Reminder]) -> None:
        self.reminders = [ReminderView(str(r.slot_id), r.what, r.when) for r in reminders]

    @rx.event
    async def dismiss(self, slot_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        with contextlib.suppress(ValueError):  # not a slot id: nothing to dismiss
            await plan.dismiss(user.id, uuid.UUID(slot_id))
        await self._refresh(user.id, user.time_zone)
        return None
