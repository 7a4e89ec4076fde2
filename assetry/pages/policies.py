"""The privacy policy and the terms, rendered from their versioned source files."""

from __future__ import annotations

import reflex as rx

from assetry.components.layout import public_page
from assetry.config import get_settings
from assetry.services import policies


def _in_use_section() -> rx.Component:
    in_use = policies.processors_in_use(get_settings())
    items = (
        [rx.list.item(name) for name in in_use]
        if in_use
        else [
            rx.list.item(
                "None. This installation runs on its embedded defaults: the database and sign-in "
                "stay on its own server, and no data is sent to any processor listed above."
            )
        ]
    )
    return rx.vstack(
        rx.heading("In use on this installation", size="5", as_="h2"),
        rx.list.unordered(*items),
        spacing="2",
        id="in-use",
    )


def policy_page(kind: str) -> rx.Component:
    doc = policies.document(kind)
    return public_page(
        rx.vstack(
            rx.heading(doc.title, size="8"),
            rx.text(f"Effective {doc.effective_on:%B %-d, %Y}", color_scheme="gray", id="effective-date"),
            rx.markdown(doc.body),
            _in_use_section() if kind == "privacy" else rx.fragment(),
            spacing="4",
            max_width="46rem",
            padding_bottom="2rem",
        )
    )


def privacy() -> rx.Component:
    return policy_page("privacy")


def terms() -> rx.Component:
    return policy_page("terms")
