"""Plotly figures for the dashboards, styled to sit in the Radix theme (light and dark).

Each figure is built as the plain dict that plotly.js draws (`data` and `layout`), without
plotly's Python classes: they check every property as it is set, and a 90-day chart with its
notes took seconds to build that way; as a dict it takes well under a millisecond. The unit
tests hold each figure to plotly's own checks.
"""

from __future__ import annotations

from datetime import date, datetime

# Figures carry no template of their own: the chart component (rx.plotly) lays plotly's light or
# dark template over each figure in the browser (7 KB less per figure on the wire).
ACCENT = "#6e56cf"
GREY = "#8b8d98"
# Each chart's height in pixels: the figure's layout and the box that holds its place (components/plot.py).
SERIES_HEIGHT = 320
HISTORY_HEIGHT = 280
GRID = "rgba(139,141,152,0.15)"
EMPTY: dict = {"data": [], "layout": {}}


def layout(height: int, x_axis: dict | None = None) -> dict:
    """The layout every chart shares: its height, transparent backgrounds, the theme's grey."""
    return {
        "height": height,
        "margin": {"l": 40, "r": 12, "t": 16, "b": 36},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": GREY, "size": 12},
        "hovermode": "x unified",
        "showlegend": False,
        "xaxis": {**(x_axis or {}), "gridcolor": GRID},
        "yaxis": {"gridcolor": GRID, "rangemode": "tozero"},
    }


def _figure(traces: list[dict], height: int, *, x_axis: dict, annotations: list, shapes: list) -> dict:
    drawn = layout(height, x_axis)
    if annotations:
        drawn["annotations"] = annotations
    if shapes:
        drawn["shapes"] = shapes
    return {"data": traces, "layout": drawn}


def _line(points: list[tuple[str, int]], name: str, hover: str, **style) -> dict:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [x for x, _ in points],
        "y": [y for _, y in points],
        "name": name,
        "hovertemplate": hover,
        **style,
    }


def time_series(
    points: list[tuple[date, int]],
    label: str,
    notes: list[tuple[date, str]],
    partial_day: date | None = None,
) -> dict:
    """A metric per day, with the creator's notes as markers on their days.

    A day still under way (`partial_day`, today) is drawn apart: a dashed segment to a
    hollow marker labelled "so far", so a low count that is only half a day never reads
    as a collapse.
    """
    complete = [(d.isoformat(), v) for d, v in points if d != partial_day]
    traces = [
        _line(
            complete, label, "%{y:,}<extra>" + label + "</extra>",
            line={"color": ACCENT, "width": 2}, marker={"size": 5},
        )
    ]  # fmt: skip
    annotations, shapes = [], []
    partial = [(d.isoformat(), v) for d, v in points if d == partial_day]
    if partial:
        day, value = partial[0]
        joined = complete[-1:] + partial
        traces.append(
            _line(
                joined, label + " (today so far)", "%{y:,} so far today<extra></extra>",
                line={"color": ACCENT, "width": 2, "dash": "dash"},
                marker={"size": [0] * (len(joined) - 1) + [8], "symbol": "circle-open"},
            )
        )  # fmt: skip
        annotations.append(  # today is the last day: the label reads leftwards, inside the plot
            {"x": day, "y": value, "text": "so far", "showarrow": False, "yshift": 14, "xanchor": "right",
             "font": {"size": 11, "color": GREY}}
        )  # fmt: skip
    days = [d for d, _ in points]
    for day, text in notes:
        # A label in the later half of the range reads leftwards, so it stays inside the plot.
        late = bool(days) and day > days[0] + (days[-1] - days[0]) / 2
        shapes.append(
            {"type": "line", "x0": day.isoformat(), "x1": day.isoformat(), "xref": "x",
             "y0": 0, "y1": 1, "yref": "y domain", "line": {"color": "#f59e0b", "dash": "dot", "width": 1}}
        )  # fmt: skip
        annotations.append(
            {"x": day.isoformat(), "y": 1, "yref": "paper",
             "text": "📝 " + (text[:40] + "…" if len(text) > 40 else text), "showarrow": False,
             "xanchor": "right" if late else "left", "yanchor": "top",
             "font": {"size": 11, "color": "#b45309"}, "bgcolor": "rgba(255,251,235,0.85)"}
        )  # fmt: skip
    # Notes' labels would otherwise stretch the axis past the period.
    x_axis = {"range": [days[0].isoformat(), days[-1].isoformat()]} if days else {}
    return _figure(traces, SERIES_HEIGHT, x_axis=x_axis, annotations=annotations, shapes=shapes)


def history(points: list[tuple[str, int]], label: str, *, since: datetime, until: datetime) -> dict:
    """One post's metric at each snapshot, on an axis from `since` (publication) to `until` (now):
    only the past. Publication is marked (no views yet then); nothing is drawn between it and
    the first snapshot, which is all that was captured."""
    published = {
        "type": "scatter", "mode": "markers", "x": [since.isoformat()], "y": [0], "name": "published",
        "hoverinfo": "skip", "marker": {"size": 8, "symbol": "circle-open", "color": GREY},
    }  # fmt: skip
    line = _line(
        points, label, "%{y:,} " + label.lower() + "<extra>%{x|%b %-d, %H:%M}</extra>",
        line={"color": ACCENT, "width": 2, "shape": "hv"}, marker={"size": 7},
    )  # fmt: skip
    note = {
        "x": since.isoformat(), "y": 0, "text": "published", "showarrow": False, "xanchor": "left",
        "yanchor": "bottom", "font": {"size": 11, "color": GREY},
    }  # fmt: skip
    x_axis = {"tickformat": "%b %-d, %H:%M", "range": [since.isoformat(), until.isoformat()]}
    return _figure([published, line], HISTORY_HEIGHT, x_axis=x_axis, annotations=[note], shapes=[])
