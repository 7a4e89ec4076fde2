"""State that one page shows: it travels to the browser only while that page is open.

Reflex sends the whole state tree when a websocket (re)connects (`hydrate_and_load`). A
state that mixes in `PageLocal` leaves that snapshot unless the page being hydrated loads
it (one of the route's on_load handlers is its own), so the admin overview's charts never
reach a creator and the dashboard's never reach /signup.

Left out once, the browser may hold values older than the server's (or the compiled
defaults): the first change sent from the state's own page then carries every var of it.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import reflex as rx
from reflex.state import _override_base_method  # Reflex's mark for a deliberate override (pinned in uv.lock)
from reflex_base.registry import RegistrationContext


def _state_of(load_event: Any) -> type | None:
    """The state class an on_load entry (a handler, or a handler called with arguments) belongs to."""
    handler = getattr(load_event, "handler", load_event)
    return getattr(handler, "state", None)


@functools.lru_cache(maxsize=1024)
def _states_loaded_at(path: str) -> frozenset[type]:
    """The state classes whose handlers are among the on_load of the page at this URL path, and
    the states those fill in the same event (`PageLocal._fills`)."""
    loads = RegistrationContext.get().app.get_load_events(path)
    loaded = {state for event in loads if (state := _state_of(event)) is not None}
    return frozenset(loaded.union(*(getattr(state, "_fills", ()) for state in loaded)))


class PageLocal(rx.State, mixin=True):
    """Sent to the browser only on the pages whose on_load loads this state."""

    # The page-local states this state's load fills too (a page opened whole by one on_load):
    # they are sent on its pages as if their own handlers were among the on_load.
    _fills: ClassVar[tuple[type[PageLocal], ...]] = ()
    _left_out: bool = False

    def _on_its_page(self) -> bool:
        # Asked for every page-local state at each hydrate and each change sent: the URL path
        # alone (not the whole `self.router`), and the page's loads looked up once per path.
        path = self.rx_router_url.path
        if not path:  # no page yet (a state made outside a request): nothing to decide
            return True
        return type(self) in _states_loaded_at(path)

    @_override_base_method
    def dict(self, include_computed: bool = True, initial: bool = False, **kwargs) -> dict[str, Any]:
        """The snapshot a hydrate sends: this state's vars only on its own page (defaults always)."""
        if initial or self._on_its_page():
            return super().dict(include_computed=include_computed, initial=initial, **kwargs)
        if not self._left_out:
            self._left_out = True
        return {}

    @_override_base_method
    def get_delta(self) -> dict[str, dict[str, Any]]:
        """The changes sent after an event; all vars the first time after a hydrate left them out."""
        if self._left_out and self._on_its_page():
            self._left_out = False
            self.dirty_vars.update(self._frontend_var_names)
        return super().get_delta()
