"""A page view is recorded once the page is on screen and loaded, with the referrer the browser knows.

The view is sent after the page's load, not beside it: a tab sends its events to the server one
after another, so a view sent when the page mounts (before the websocket has even connected)
would make the page's own load wait behind it on every navigation. `PageView` waits for the
page to be hydrated for its address: Reflex marks a tab not hydrated when its address changes
and hydrated again once the page's on_load handlers have run. A tab that wakes and reconnects
goes through the same again: it is not a second view of the same address.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import reflex as rx
from reflex_base.event import EventHandler, passthrough_event_spec
from reflex_base.utils.imports import ImportVar

from assetry.state.session import SessionState

# `waited`: the address the tab was last seen loading (not hydrated); `sent`: the last address
# whose view was sent. A view goes out when the tab is hydrated for an address it was seen
# loading, once per address: a page that stays mounted from one address to the next (a
# generation's page to another's) counts each; a reconnect on the same address does not.
_CODE = """
function PageView({ hydrated, onView }) {
  const { pathname } = useLocation();
  const seen = useRef({ waited: null, sent: null });
  const view = useRef(onView);
  view.current = onView;
  useEffect(() => {
    const at = seen.current;
    if (!hydrated) {
      at.waited = pathname;
    } else if (at.waited === pathname && at.sent !== pathname) {
      at.sent = pathname;
      view.current?.(pathname, document.referrer);
    }
  }, [hydrated, pathname]);
  return null;
}
"""


class PageView(rx.Component):
    """Nothing on screen; fires `on_view(path, referrer)` once the page is loaded at an address."""

    tag = "PageView"
    hydrated: rx.Var[bool]
    on_view: EventHandler[passthrough_event_spec(str, str)]

    def add_imports(self) -> dict:
        return {
            "react": [ImportVar(tag="useRef"), ImportVar(tag="useEffect")],
            "react-router": [ImportVar(tag="useLocation")],
        }

    def add_custom_code(self) -> list[str]:
        return [_CODE]


def counted(page: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """The page, recording a view of each address it is loaded at (see the module's doc)."""

    @functools.wraps(page)
    def shown() -> rx.Component:
        return rx.fragment(
            page(), PageView.create(hydrated=rx.State.is_hydrated, on_view=SessionState.track_page_view)
        )

    return shown
