"""A page view is recorded once the page is on screen, with the referrer the browser knows."""

from __future__ import annotations

import functools
from collections.abc import Callable

import reflex as rx

from assetry.state.session import SessionState


def counted(page: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """The page, recording a view when it mounts (not as an on_load step: the page is hydrated
    without waiting for it, and a phone's tab that wakes and reconnects is not a second view)."""

    @functools.wraps(page)
    def shown() -> rx.Component:
        path, referrer = rx.Var("window.location.pathname").to(str), rx.Var("document.referrer").to(str)
        return rx.fragment(page(), on_mount=SessionState.track_page_view(path, referrer))

    return shown
