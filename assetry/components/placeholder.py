"""A page's skeleton while its data is on the way: the page changes once, when it is all there.

A page whose sections each load on their own answer would grow section by section, pushing
what is already drawn down the screen each time. Until every section has its data, the
page shows grey blocks shaped like it, then swaps them for the real thing in one render.
"""

from __future__ import annotations

import reflex as rx

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
