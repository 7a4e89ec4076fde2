"""The dialog that offers a list to pick one from (the post a generation became, the generation a
post was made from), opened and filled by a `LinkPicker` page state."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx


def pick_list(
    state: type[rx.State],
    *,
    trigger: rx.Component,
    title: str,
    description: str,
    row: Callable[[rx.Var], rx.Component],
    empty: str,
) -> rx.Component:
    """`trigger` opens the dialog; each of `state.choices` shows as `row`, `empty` when there is none."""
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(
            rx.dialog.title(title),
            rx.dialog.description(description, size="2"),
            rx.cond(
                state.choices.length() > 0,
                rx.scroll_area(
                    rx.vstack(rx.foreach(state.choices, row), spacing="3", padding_y="0.75rem"),
                    max_height="60vh",
                    type="auto",
                ),
                rx.text(empty, size="2", padding_y="0.75rem"),
            ),
            rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
        ),
        open=state.picking,
        on_open_change=state.pick,
    )
