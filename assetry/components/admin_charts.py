"""Plotly figures for the admin overview, in the same style as the creator dashboards."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import plotly.io as pio

from assetry.components.charts import ACCENT, layout

# Figures carry no template of their own: the chart component (rx.plotly) lays plotly's light or
# dark template over each figure in the browser. With plotly's default one, every figure (even
# a state's empty default) weighed 7 KB more on the wire and in the compiled page, and took
# about 0.1 s to copy each time a tab's states were reset.
pio.templates.default = None

STATUS_COLORS = {
    "succeeded": "#30a46c",
    "failed": "#e5484d",
    "cancelled": "#8b8d98",
    "running": "#0090ff",
    "queued": "#f5d90a",
}
# Heights in pixels of the daily charts and of the generations chart (figure and place kept for it).
DAILY_HEIGHT = 260
GENERATIONS_HEIGHT = 280


def daily(days: list[date], values: list[int], label: str, *, bars: bool = True) -> go.Figure:
    """One count per UTC day, as bars (events) or a line (a running total)."""
    x = [d.isoformat() for d in days]
    hover = "%{x}: %{y:,}<extra>" + label + "</extra>"
    trace = (
        go.Bar(x=x, y=values, marker_color=ACCENT, name=label, hovertemplate=hover)
        if bars
        else go.Scatter(
            x=x,
            y=values,
            mode="lines+markers",
            line={"color": ACCENT, "width": 2},
            name=label,
            hovertemplate=hover,
        )
    )
    return _counts(_base(go.Figure(trace), height=DAILY_HEIGHT), max(values, default=0))


def _base(fig: go.Figure, height: int) -> go.Figure:
    return fig.update_layout(layout(height))


def _counts(fig: go.Figure, largest: int) -> go.Figure:
    """Whole numbers on the y axis: no "0.5 sign-ups" ticks while the counts are small."""
    if largest < 5:
        fig.update_yaxes(dtick=1, range=[0, max(largest, 1)])
    return fig


def generations(groups: list[tuple[str, str, int]]) -> go.Figure:
    """Generations per kind and provider, stacked by status: (kind · provider, status, count)."""
    fig = go.Figure()
    for status in sorted({status for _, status, _ in groups}):
        rows = [(label, n) for label, s, n in groups if s == status]
        fig.add_trace(
            go.Bar(
                x=[label for label, _ in rows],
                y=[n for _, n in rows],
                name=status,
                marker_color=STATUS_COLORS.get(status, ACCENT),
                hovertemplate="%{x}: %{y:,} " + status + "<extra></extra>",
            )
        )
    fig = _base(fig, height=GENERATIONS_HEIGHT)
    fig.update_layout(barmode="stack", showlegend=True, hovermode="closest", legend={"orientation": "h"})
    per_label: dict[str, int] = {}
    for label, _, n in groups:
        per_label[label] = per_label.get(label, 0) + n
    return _counts(fig, max(per_label.values(), default=0))
