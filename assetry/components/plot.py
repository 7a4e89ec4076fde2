"""A plotly chart that keeps its place and costs nothing until it is about to be seen.

The chart code (plotly's basic bundle: the scatter and bar traces the figures use) is asked
for only once the chart's box comes within `NEAR` of the window, after the page has painted:
a chart below the fold of a phone loads when the creator scrolls towards it, not with the
page. Until the code has run the box stands empty at the height the figure will have, so
nothing below it moves.
"""

from __future__ import annotations

import reflex as rx
from plotly.graph_objects import Figure
from reflex_base.utils.imports import ImportVar

# How far outside the window (pixels) a chart's box starts loading its code: about a thumb's scroll.
NEAR = 150

_CODE = """
function ChartWhenNear({ children, margin }) {
  const box = useRef(null);
  const [near, setNear] = useState(false);
  useEffect(() => {
    if (near) return undefined;
    const watcher = new IntersectionObserver(
      (entries) => { if (entries.some((entry) => entry.isIntersecting)) setNear(true); },
      { rootMargin: margin },
    );
    watcher.observe(box.current);
    return () => watcher.disconnect();
  }, [near, margin]);
  return createElement("div", { ref: box, style: { width: "100%", height: "100%" } }, near ? children : null);
}
"""


class ChartWhenNear(rx.Component):
    """Its children (a chart) rendered only once its box is within `margin` of the window."""

    tag = "ChartWhenNear"
    margin: rx.Var[str]

    def add_imports(self) -> dict:
        return {
            "react": [
                ImportVar(tag="useRef"),
                ImportVar(tag="useEffect"),
                ImportVar(tag="useState"),
                ImportVar(tag="createElement"),
            ]
        }

    def add_custom_code(self) -> list[str]:
        return [_CODE]


def plot(figure: rx.Var, *, height: int) -> rx.Component:
    """The figure (a plotly Figure, or the dict of its data and layout) in a box `height` pixels
    high (the height its layout sets)."""
    return rx.box(
        ChartWhenNear.create(
            rx.plotly.basic(
                data=figure.to(Figure),
                use_resize_handler=True,
                config={"displayModeBar": False, "responsive": True},
                width="100%",
            ),
            margin=f"{NEAR}px",
        ),
        width="100%",
        height=f"{height}px",
        custom_attrs={"data-chart-box": ""},
    )


def plot_if(
    shown: rx.Var[bool], figure: rx.Var, *, height: int, otherwise: rx.Component | None = None
) -> rx.Component:
    """The figure when `shown`, else `otherwise`; the chart's place is kept until the page has its data."""
    return place_kept(shown, plot(figure, height=height), height=height, otherwise=otherwise)


def place_kept(
    shown: rx.Var[bool], content: rx.Component, *, height: int, otherwise: rx.Component | None = None
) -> rx.Component:
    """`content` when `shown`, else `otherwise`; `height` pixels are kept for it until the page has its data."""
    return rx.box(
        rx.cond(shown, content, otherwise),
        width="100%",
        # Painted before the server's first answer, `shown` still holds its default (False).
        min_height=rx.cond(shown | ~rx.State.is_hydrated, f"{height}px", "0"),
    )
