"""Form pieces shared by the pages: labelled fields and the message line under a form."""

from __future__ import annotations

import reflex as rx


def label_for(name: str, text: str) -> rx.Component:
    """A <label> tied to the input with this id (Radix's Text drops `html_for`)."""
    return rx.el.label(rx.text(text, as_="span", size="2", weight="medium"), html_for=name)


def field(label: str, name: str, *, type: str = "text", max_length: int = 254, **props) -> rx.Component:
    """A labelled input; the browser caps the length and the server checks it again."""
    return rx.vstack(
        label_for(name, label),
        rx.input(name=name, id=name, type=type, max_length=max_length, width="100%", size="3", **props),
        spacing="1",
        width="100%",
    )


def text_area(label: str, name: str, *, max_length: int, **props) -> rx.Component:
    return rx.vstack(
        label_for(name, label),
        rx.text_area(name=name, id=name, max_length=max_length, width="100%", rows="6", **props),
        spacing="1",
        width="100%",
    )


def form_message(error: rx.Var[str], notice: rx.Var[str] | None = None) -> rx.Component:
    """The error (red) or confirmation (green) a form shows after it was sent."""
    parts = [
        rx.cond(
            error != "",
            rx.callout(error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
        )
    ]
    if notice is not None:
        parts.append(
            rx.cond(
                notice != "",
                rx.callout(notice, icon="circle-check", color_scheme="green", role="status", width="100%"),
            )
        )
    return rx.fragment(*parts)
