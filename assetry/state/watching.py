"""Following work that runs elsewhere (a generation, a sync, an export) while its page is open.

A page state mixes in `Watching` and says how to refresh itself in `_watch_step`; its
`watch` event (a background event) subscribes to the user's changes (`services.changes`:
Postgres NOTIFY, one LISTEN connection per backend process), refreshes once at once (so a
tab that reconnects catches up), then sleeps until a change of this user arrives, refreshes
the page under the state lock and tells the browser what the step found, until the step says
nothing runs any more, the browser is signed out, or the tab is gone. A page that can show a
change from its notes alone (`_apply_notes`: the row it shows, with its new status) reads
nothing but the session; after a reconnect, or a note it cannot apply, it reads the page again.
An idle tab queries nothing: no timer reads the database.

Reflex does not end a background event when its tab closes (a disconnect cancels only
hydration and page-load chains), so every `_tab_check_seconds` the watcher asks Reflex's
token manager (memory or Redis, never the database) whether the tab's websocket is still
connected. A reload reconnects the same tab, so a watcher that finds it connected again
simply goes on.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, ClassVar

import reflex as rx
from reflex_base.registry import RegistrationContext

from assetry.models import User
from assetry.services import changes
from assetry.state.session import signed_in_user


@dataclasses.dataclass
class Progress:
    """What one refresh found: whether the work still runs, and what to tell the browser now."""

    running: bool
    tell: list[Any] = dataclasses.field(default_factory=list)


async def tab_connected(state: rx.State) -> bool:
    """Whether the browser tab behind this state still has its websocket open (on any worker)."""
    namespace = RegistrationContext.get().app.event_namespace
    if namespace is None:
        return False
    # The token manager is the one Reflex itself asks before updating a client; it is
    # reached through the namespace's private attribute (Reflex is pinned in uv.lock).
    return await namespace._token_manager.is_token_connected(state.router.session.client_token)


class Watching(rx.State, mixin=True):
    """A page that follows running work with one watcher per tab."""

    _tab_check_seconds: ClassVar[float] = 30.0
    # The kinds of change (`changes.GENERATION`, ...) that wake this page; None: every change of its user.
    _wakes_on: ClassVar[frozenset[str] | None] = None
    # Whether the watcher's first turn reads the page (False: the load that starts it just did).
    _reads_first: ClassVar[bool] = True
    _watching: bool = False

    def _audience(self, user: User) -> uuid.UUID | str:
        """Whose changes wake this page: the signed-in user's own (an admin page: all admins')."""
        return user.id

    async def _refusal(self) -> tuple[User | None, Any]:
        """Who watches, and what to tell a browser that may not (nothing by default: a watcher
        without a session simply stops). Admin pages send such a browser away, as every handler."""
        return await signed_in_user(self), None

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        """Refresh what the page shows (the state lock is held); say whether the work still runs."""
        raise TypeError(f"{type(self).__name__} must define _watch_step")

    def _apply_notes(self, notes: list[dict]) -> Progress | None:
        """Show what these notes (of the watching user, oldest first) say changed, without reading
        the database (the state lock is held); None when they are not enough and the page must be
        read again (`_watch_step`). By default the page is always read."""
        return None

    @rx.event(background=True)
    async def watch(self):
        """While something runs, keep the page current; a second start while one watches does nothing."""
        async with self:
            if self._watching:
                return
            self._watching = True
            user, refusal = await self._refusal()
        try:
            if refusal is not None:
                yield refusal
                return
            if user is None:
                return
            async with changes.listener().subscribe(self._audience(user), self._wakes_on) as subscription:
                changed = self._reads_first  # the first turn catches up with what changed before we listened
                # A first turn at once goes on the check made at the start; a turn after a wait asks again.
                checked = user if changed else None
                notes: list[dict] | None = None
                while True:
                    if changed:
                        async with self:
                            # still signed in, as the notes' owner
                            user, checked = checked or await signed_in_user(self), None
                            if user is None:
                                return
                            progress = None if notes is None else self._apply_notes(notes)
                            if progress is None:
                                progress = await self._watch_step(user.id)
                        for event in progress.tell:
                            yield event
                        if not progress.running:
                            return
                    changed = await subscription.wait(self._tab_check_seconds)
                    notes = subscription.take()
                    if not await tab_connected(self):
                        return
        finally:
            async with self:
                self._watching = False
