"""Plotly figures for the dashboards, styled to sit in the Radix theme (light and dark)."""

from __future__ import annotations

from datetime import date, datetime

import plotly.graph_objects as go
import plotly.io as pio

# Figures carry no template of their own: the chart component (rx.plotly) lays plotly's light or
# dark template over each figure in the browser. With plotly's default one, every figure (even
# a state's empty default) weighed 7 KB more on the wire and in the compiled page, and took
# about 0.1 s to copy each time a tab's states were reset.
pio.templates.default = None

ACCENT = "#6e56cf"
# Each chart's height in pixels: the figure's layout and the box that holds its place (components/plot.py).
SERIES_HEIGHT = 320
HISTORY_HEIGHT = 280


def _base(fig: go.Figure, height: int = SERIES_HEIGHT) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 40, "r": 12, "t": 16, "b": 36},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": "#8b8d98", "size": 12},
        hovermode="x unified",
        showlegend=False,
    )
    fig.update_xaxes(gridcolor="rgba(139,141,152,0.15)")
    fig.update_yaxes(gridcolor="rgba(139,141,152,0.15)", rangemode="tozero")
    return fig


def time_series(
    points: list[tuple[date, int]],
    label: str,
    notes: list[tuple[date, str]],
    partial_day: date | None = None,
) -> go.Figure:
    """A metric per day, with the creator's notes as markers on their days.

    A day still under way (`partial_day`, today) is drawn apart: a dashed segment to a
    hollow marker labelled "so far", so a low count that is only half a day never reads
    as a collapse.
    """
    complete = [(d, v) for d, v in points if d != partial_day]
    fig = go.Figure(
        go.Scatter(
            x=[d.isoformat() for d, _ in complete],
            y=[v for _, v in complete],
            mode="lines+markers",
            line={"color": ACCENT, "width": 2},
            marker={"size": 5},
            name=label,
            hovertemplate="%{y:,}<extra>" + label + "</extra>",
        )
    )
    partial = [(d, v) for d, v in points if d == partial_day]
    if partial:
        day, value = partial[0]
        joined = complete[-1:] + partial
        fig.add_trace(
            go.Scatter(
                x=[d.isoformat() for d, _ in joined],
                y=[v for _, v in joined],
                mode="lines+markers",
                line={"color": ACCENT, "width": 2, "dash": "dash"},
                marker={"size": [0] * (len(joined) - 1) + [8], "symbol": "circle-open"},
                name=label + " (today so far)",
                hovertemplate="%{y:,} so far today<extra></extra>",
            )
        )
        fig.add_annotation(  # today is the last day: the label reads leftwards, inside the plot
            x=day.isoformat(), y=value, text="so far", showarrow=False, yshift=14, xanchor="right",
            font={"size": 11, "color": "#8b8d98"},
        )  # fmt: skip
    days = [d for d, _ in points]
    for day, text in notes:
        # A label in the later half of the range reads leftwards, so it stays inside the plot.
        late = bool(days) and day > days[0] + (days[-1] - days[0]) / 2
        fig.add_vline(x=day.isoformat(), line={"color": "#f59e0b", "dash": "dot", "width": 1})
        fig.add_annotation(
            x=day.isoformat(), y=1, yref="paper", text="📝 " + (text[:40] + "…" if len(text) > 40 else text),
            showarrow=False, xanchor="right" if late else "left", yanchor="top",
            font={"size": 11, "color": "#b45309"}, bgcolor="rgba(255,251,235,0.85)",
        )  # fmt: skip
    if days:
        # Notes' labels would otherwise stretch the axis past the period.
        fig.update_xaxes(range=[days[0].isoformat(), days[-1].isoformat()])
    return _base(fig)


def history(points: list[tuple[str, int]], label: str, *, since: datetime, until: datetime) -> go.Figure:
    """One post's metric at each snapshot, on an axis from `since` (publication) to `until` (now):
    only the past. Publication is marked (no views yet then); nothing is drawn between it and
    the first snapshot, which is all that was captured."""
    fig = go.Figure(
        go.Scatter(
            x=[since.isoformat()], y=[0], mode="markers", name="published", hoverinfo="skip",
            marker={"size": 8, "symbol": "circle-open", "color": "#8b8d98"},
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[t for t, _ in points], y=[v for _, v in points], mode="lines+markers",
            line={"color": ACCENT, "width": 2, "shape": "hv"}, marker={"size": 7}, name=label,
            hovertemplate="%{y:,} " + label.lower() + "<extra>%{x|%b %-d, %H:%M}</extra>",
        )
    )  # fmt: skip
    fig.add_annotation(
        x=since.isoformat(), y=0, text="published", showarrow=False, xanchor="left", yanchor="bottom",
        font={"size": 11, "color": "#8b8d98"},
    )  # fmt: skip
    fig.update_xaxes(tickformat="%b %-d, %H:%M", range=[since.isoformat(), until.isoformat()])
    return _base(fig, height=HISTORY_HEIGHT)
