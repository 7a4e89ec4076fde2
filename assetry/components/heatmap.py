"""Best time to post, drawn as a table: a row per weekday, a column per hour, each square
shaded by the median views of the posts published then.

A plain HTML table needs no chart code, reads as a table to a screen reader (weekday and
hour headers, the number in each cell) and has its height before its data arrives. Each
square carries its number, written short ("1.2k") on a wide screen and hidden on a phone,
where 24 squares share a few hundred pixels; the shades run light to dark accent in
`STEPS` steps, each number in black or white, whichever reads better on its square.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from assetry.components.styles import VISUALLY_HIDDEN

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
HOURS = [f"{h:02d}" for h in range(24)]
LIGHTEST, DARKEST = (0xE4, 0xDE, 0xFC), (0x5B, 0x45, 0xB8)
STEPS = 8
NO_POST = "rgba(139, 141, 152, 0.12)"
# The table's height on every screen: its place is kept at this height before the data comes.
HEIGHT = 236


@dataclasses.dataclass
class WeekdayRow:
    """One weekday's 24 squares: (number written short, shade step, or -1 where no post was published)."""

    day: str = ""
    squares: list[tuple[str, int]] = dataclasses.field(default_factory=list)


def _shade(step: int) -> tuple[str, str]:
    """The square's colour at `step` and the text colour (black or white) with the higher contrast on it."""
    mix = [round(a + (b - a) * step / (STEPS - 1)) for a, b in zip(LIGHTEST, DARKEST, strict=True)]
    channels = [c / 255 for c in mix]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    # Black wins where (L + 0.05) / 0.05 > 1.05 / (L + 0.05), that is above L ≈ 0.179.
    text = "#000" if luminance > 0.179 else "#fff"
    return "#{:02x}{:02x}{:02x}".format(*mix), text


SHADES = [_shade(step) for step in range(STEPS)]


def rows(cells: list[list[int | None]]) -> list[WeekdayRow]:
    """The table's rows from the median views per weekday (Monday first) and hour."""
    seen = [v for row in cells for v in row if v is not None]
    low, high = min(seen, default=0), max(seen, default=0)
    spread = high - low

    def step(views: int) -> int:
        return round((views - low) / spread * (STEPS - 1)) if spread else STEPS // 2

    return [
        WeekdayRow(day, [("", -1) if v is None else (short(v), step(v)) for v in row])
        for day, row in zip(WEEKDAYS, cells, strict=True)
    ]


def short(views: int) -> str:
    """A square's number in a few characters: 950, 12k, 1.2M."""
    if views >= 1_000_000:
        return f"{views / 1_000_000:.1f}M"
    if views >= 10_000:
        return f"{views // 1000}k"
    if views >= 1000:
        return f"{views / 1000:.1f}k"
    return str(views)


def _square(square: rx.Var) -> rx.Component:
    number, step = square[0], square[1].to(int)
    # A class per shade, styled once on the table: 168 squares with styles of their own would
    # each cost the page a style computation while it renders.
    return rx.el.td(
        rx.el.span(number, class_name="heatmap-label"),
        class_name=rx.cond(step < 0, "no-post", "shade-" + step.to_string()),
    )


def _weekday(row: rx.Var) -> rx.Component:
    return rx.el.tr(
        rx.el.th(row.day, scope="row"),
        rx.foreach(row.squares, _square),
    )


def _legend() -> rx.Component:
    return rx.hstack(
        rx.text("fewer views", size="1", color_scheme="gray"),
        rx.hstack(
            *[rx.box(width="1rem", height="0.75rem", background=b, border_radius="2px") for b, _ in SHADES],
            spacing="0",
            aria_hidden="true",
        ),
        rx.text("more", size="1", color_scheme="gray"),
        rx.box(width="1rem", height="0.75rem", background=NO_POST, border_radius="2px", aria_hidden="true"),
        rx.text("no post", size="1", color_scheme="gray"),
        align="center",
        spacing="2",
        wrap="wrap",
    )


def heatmap(weekdays: rx.Var[list[WeekdayRow]]) -> rx.Component:
    """The table of weekdays and hours, and a legend of its shades."""
    return rx.vstack(
        rx.el.table(
            rx.el.caption(
                "Median views of your posts by weekday and hour published (your time zone)",
                style=VISUALLY_HIDDEN,
            ),
            rx.el.thead(
                rx.el.tr(
                    rx.el.th(rx.el.span("Weekday", style=VISUALLY_HIDDEN), scope="col"),
                    *[rx.el.th(hour, scope="col") for hour in HOURS],
                )
            ),
            rx.el.tbody(rx.foreach(weekdays, _weekday)),
            width="100%",
            height=f"{HEIGHT}px",
            style={
                "tableLayout": "fixed",
                "borderSpacing": "2px",
                "borderCollapse": "separate",
                "fontSize": "10px",
                "color": "var(--gray-11)",
                "& th": {"fontWeight": "normal"},
                "& th:first-of-type": {"width": "2.25rem"},
                "& tbody th": {"textAlign": "left", "paddingRight": "0.25rem"},
                "& td": {"borderRadius": "3px", "textAlign": "center", "padding": "0"},
                "& td.no-post": {"background": NO_POST},
                **{f"& td.shade-{n}": {"background": b, "color": t} for n, (b, t) in enumerate(SHADES)},
                # A phone's squares are a dozen pixels wide: shade only (the number is still read
                # out by a screen reader), and small hour labels.
                "@media (max-width: 48em)": {
                    "& .heatmap-label": VISUALLY_HIDDEN,
                    "& thead th": {"fontSize": "7px", "letterSpacing": "-0.03em"},
                },
            },
        ),
        _legend(),
        width="100%",
        spacing="2",
    )
