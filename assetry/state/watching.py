"""Following work that runs elsewhere (a generation, a sync, an export) while its page is open.

A page state mixes in `Watching` and says how to refresh itself in `_watch_step`; its
`watch` event (a background event) then wakes every `_watch_seconds`, refreshes the page
under the state lock and tells the browser what the step found, until the step says
nothing runs any more, the browser is signed out, or the tab is gone.

Reflex does not end a background event when its tab closes (a disconnect cancels only
hydration and page-load chains), so each turn asks Reflex's token manager whether the
tab's websocket is still connected; a closed tab's watcher would otherwise keep reading
the database until the work ends, or for ever if it never does. A reload reconnects the
same tab, so a watcher that finds it connected again simply goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any, ClassVar

import reflex as rx
from reflex_base.registry import RegistrationContext

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

    _watch_seconds: ClassVar[float] = 1.0
    _watching: bool = False

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        """Refresh what the page shows (the state lock is held); say whether the work still runs."""
        raise TypeError(f"{type(self).__name__} must define _watch_step")

    @rx.event(background=True)
    async def watch(self):
        """While something runs, keep the page current; a second start while one watches does nothing."""
        async with self:
            if self._watching:
                return
            self._watching = True
        try:
            while True:
                await asyncio.sleep(self._watch_seconds)
                if not await tab_connected(self):
                    return
                async with self:
                    user = await signed_in_user(self)
                    if user is None:
                        return
                    progress = await self._watch_step(user.id)
                for event in progress.tell:
                    yield event
                if not progress.running:
                    return
        finally:
            async with self:
                self._watching = False
