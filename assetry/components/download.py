"""A Download button that saves the file: a real link with `download`, never the app's router."""

from __future__ import annotations

import reflex as rx


def download_button(*children: rx.Component | str | rx.Var, href: rx.Var[str] | str, **props) -> rx.Component:
    """A button-styled `<a href download>`: the browser fetches the signed URL and saves the file.

    The router must not handle it (an in-app link to /media/… is a page the app does not have),
    and the server's `Content-Disposition: attachment` names the file.
    """
    return rx.button(
        # `rx.el.a` is React Router's Link: without `reload_document` it would route the click.
        rx.el.a(rx.icon("download", size=16), *children, href=href, download=True, reload_document=True),
        as_child=True,
        **props,
    )
