"""A page's skeleton while its data is on the way: the page changes once, when it is all there.

A page whose sections each load on their own answer would grow section by section, pushing
what is already drawn down the screen each time. Until every section has its data, the
page shows grey blocks shaped like it, then swaps them for the real thing at once: React builds
it in the background, in slices that leave the browser free between them, and shows it whole.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar

from assetry.components.styles import VISUALLY_HIDDEN

# React draws the switch from `waiting` to `content` as a background (transition) render, which
# it splits into slices of a few milliseconds, giving the browser its turn between them: the
# page keeps answering taps and scrolls while a large page is built. Until that render is done
# `waiting` stays on screen; the state update that flips `ready` is itself drawn at once.
_CODE = """
function DrawnInSlices({ ready, children }) {
  const drawn = useDeferredValue(ready);
  const [content, waiting] = Children.toArray(children);
  return drawn ? content : waiting;
}
"""


class DrawnInSlices(rx.Component):
    """Its first child once `ready`, its second before; the swap is drawn without blocking the page."""

    tag = "DrawnInSlices"
    ready: rx.Var[bool]

    def add_imports(self) -> dict:
        return {"react": [ImportVar(tag="useDeferredValue"), ImportVar(tag="Children")]}

    def add_custom_code(self) -> list[str]:
        return [_CODE]


def drawn_when(ready: rx.Var[bool], content: rx.Component, waiting: rx.Component) -> rx.Component:
    """`content` once `ready`, `waiting` before; a large `content` is built in slices that leave
    the browser free to answer between them (a page's one long render split up)."""
    return DrawnInSlices.create(content, waiting, ready=ready)


def until_loaded(loaded: rx.Var[bool], content: rx.Component, skeleton: rx.Component) -> rx.Component:
    """`content` once `loaded`, before that `skeleton` (announced as loading to screen readers)."""
    return drawn_when(
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
