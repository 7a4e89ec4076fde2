"""A plotly chart that keeps its place: its box has the figure's height before the chart code arrives.

The chart code (plotly's cartesian bundle) loads after the page has painted; until it runs,
the box stands empty at the height the figure will have, so nothing below it moves.
"""

from __future__ import annotations

import reflex as rx


def plot(figure: rx.Var, *, height: int) -> rx.Component:
    """The figure in a box `height` pixels high (the height its layout sets)."""
    return rx.box(
        rx.plotly.cartesian(
            data=figure,
            use_resize_handler=True,
            config={"displayModeBar": False, "responsive": True},
            width="100%",
        ),
        width="100%",
        height=f"{height}px",
        custom_attrs={"data-chart-box": ""},
    )


def plot_if(
    shown: rx.Var[bool], figure: rx.Var, *, height: int, otherwise: rx.Component | None = None
) -> rx.Component:
    """The figure when `shown`, else `otherwise`; the chart's place is kept until the page has its data."""
    return rx.box(
        rx.cond(shown, plot(figure, height=height), otherwise),
        width="100%",
        # Painted before the server's first answer, `shown` still holds its default (False).
        min_height=rx.cond(shown | ~rx.State.is_hydrated, f"{height}px", "0"),
    )
