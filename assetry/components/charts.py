"""Plotly figures for the dashboards, styled to sit in the Radix theme (light and dark)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import plotly.graph_objects as go

ACCENT = "#6e56cf"
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Each chart's height in pixels: the figure's layout and the box that holds its place (components/plot.py).
SERIES_HEIGHT = 320
HISTORY_HEIGHT = 280
HEATMAP_HEIGHT = 260


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


def time_series(points: list[tuple[date, int]], label: str, notes: list[tuple[date, str]]) -> go.Figure:
    """A metric per day, with the creator's notes as markers on their days."""
    fig = go.Figure(
        go.Scatter(
            x=[d.isoformat() for d, _ in points],
            y=[v for _, v in points],
            mode="lines+markers",
            line={"color": ACCENT, "width": 2},
            marker={"size": 5},
            name=label,
            hovertemplate="%{y:,}<extra>" + label + "</extra>",
        )
    )
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


def history(points: list[tuple[str, int]], label: str) -> go.Figure:
    """One post's metric at each snapshot."""
    fig = go.Figure(
        go.Scatter(
            x=[t for t, _ in points], y=[v for _, v in points], mode="lines+markers",
            line={"color": ACCENT, "width": 2, "shape": "hv"}, name=label,
        )
    )  # fmt: skip
    fig.update_xaxes(tickformat="%b %-d, %H:%M")
    if len(points) == 1:
        # One snapshot: a day either side, not an axis of milliseconds.
        moment = datetime.fromisoformat(points[0][0])
        fig.update_xaxes(
            range=[(moment - timedelta(hours=12)).isoformat(), (moment + timedelta(hours=12)).isoformat()]
        )
    return _base(fig, height=HISTORY_HEIGHT)


def heatmap(cells: list[list[int | None]]) -> go.Figure:
    """Median views of posts published at each weekday and hour (creator's time zone)."""
    fig = go.Figure(
        go.Heatmap(
            z=cells, x=[f"{h:02d}" for h in range(24)], y=WEEKDAYS, colorscale="Purples",
            hoverongaps=False, hovertemplate="%{y} %{x}:00 — median %{z:,} views<extra></extra>",
            showscale=False, xgap=2, ygap=2,
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", rangemode="normal")
    return _base(fig, height=HEATMAP_HEIGHT)
