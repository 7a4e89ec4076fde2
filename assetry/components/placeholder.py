"""A page's skeleton while its data is on the way: the page changes once, when it is all there.

A page whose sections each load on their own answer would grow section by section, pushing
what is already drawn down the screen each time. Until every section has its data, the
page shows grey blocks shaped like it, then swaps them for the real thing in one render
(what lies below the first screen may follow in the next task: `drawn_next`).
"""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar

from assetry.components.styles import VISUALLY_HIDDEN


def until_loaded(loaded: rx.Var[bool], content: rx.Component, skeleton: rx.Component) -> rx.Component:
    """`content` once `loaded`, before that `skeleton` (announced as loading to screen readers)."""
    return rx.cond(
        loaded,
        content,
        rx.box(
            rx.text("Loading…", role="status", style=VISUALLY_HIDDEN),
            skeleton,
            width="100%",
            aria_busy="true",
        ),
    )


def block(height: str | dict, **props) -> rx.Component:
    """A grey block `height` high standing for something still loading."""
    return rx.skeleton(rx.box(height=height, width="100%"), width="100%", **props)


_DRAWN_NEXT = """
function DrawnNext({ children, ready }) {
  const [drawn, setDrawn] = useState(false);
  useEffect(() => {
    if (!ready || drawn) return undefined;
    const timer = setTimeout(() => setDrawn(true), 0);
    return () => clearTimeout(timer);
  }, [ready, drawn]);
  return drawn ? children : null;
}
"""


class DrawnNext(rx.Component):
    """Its children drawn in the browser's next task once `ready` is first true; drawn for good then."""

    tag = "DrawnNext"
    ready: rx.Var[bool]

    def add_imports(self) -> dict:
        return {"react": [ImportVar(tag="useEffect"), ImportVar(tag="useState")]}

    def add_custom_code(self) -> list[str]:
        return [_DRAWN_NEXT]


def drawn_next(*children: rx.Component) -> rx.Component:
    """`children` (the part of a page below the first screen) drawn just after the rest, once the
    page is hydrated: the first render after the page's data came is shorter, so the browser
    takes the server's next message (the page is ready for clicks) and paints the top of the
    page before it draws these. Drawn once, they stay (a reconnect does not draw them again and
    keeps what was typed in them). No box of their own: they sit in the parent's stack as if
    written there."""
    return DrawnNext.create(*children, ready=rx.State.is_hydrated)
