"""The dashboards' figures are plain dicts that plotly itself accepts as they are, and draw
what the creator must see: every day of the range, today apart as "so far", notes on their days."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import plotly.graph_objects as go
import pytest

from assetry.components import charts

TODAY = date(2026, 12, 6)


def _days(count: int) -> list[tuple[date, int]]:
    return [(TODAY - timedelta(days=count - 1 - n), 1000 + 37 * n) for n in range(count)]


NOTES = [(TODAY - timedelta(days=80), "Launched the series"), (TODAY - timedelta(days=2), "x" * 45)]
FIGURES = {
    "90 days, notes, today so far": charts.time_series(_days(90), "Views", NOTES, TODAY),
    "7 days, a past range": charts.time_series(_days(7), "Likes", [], None),
    "nothing yet": charts.time_series([], "Views", [], None),
    "a post's history": charts.history(
        [("2026-11-02T10:00:00+00:00", 5), ("2026-11-03T10:00:00+00:00", 50)],
        "Views",
        since=datetime(2026, 11, 1, 12, tzinfo=UTC),
        until=datetime(2026, 11, 4, 12, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize("name", FIGURES)
def test_plotly_accepts_each_figure_as_it_is(name: str) -> None:
    figure = FIGURES[name]
    checked = go.Figure(figure, skip_invalid=False)  # raises on any property plotly doesn't know
    assert json.loads(checked.to_json()) == json.loads(json.dumps(figure))


def test_a_range_ending_today_draws_today_apart_as_so_far() -> None:
    figure = FIGURES["90 days, notes, today so far"]
    complete, today = figure["data"]
    assert len(complete["x"]) == 89 and complete["x"][-1] == (TODAY - timedelta(days=1)).isoformat()
    assert today["x"] == [complete["x"][-1], TODAY.isoformat()]
    assert today["line"]["dash"] == "dash" and today["marker"]["size"] == [0, 8]
    so_far = figure["layout"]["annotations"][0]
    assert (so_far["text"], so_far["x"], so_far["xanchor"]) == ("so far", TODAY.isoformat(), "right")
    assert figure["layout"]["xaxis"]["range"] == [(TODAY - timedelta(days=89)).isoformat(), TODAY.isoformat()]


def test_notes_stand_on_their_days_and_read_inwards() -> None:
    figure = FIGURES["90 days, notes, today so far"]
    lines = [(shape["x0"], shape["x1"]) for shape in figure["layout"]["shapes"]]
    assert lines == [(day.isoformat(), day.isoformat()) for day, _ in NOTES]
    early, late = figure["layout"]["annotations"][1:]
    assert (early["text"], early["xanchor"]) == ("📝 Launched the series", "left")
    assert (late["text"], late["xanchor"]) == ("📝 " + "x" * 40 + "…", "right")


def test_a_past_range_has_one_line_and_no_marks() -> None:
    figure = FIGURES["7 days, a past range"]
    assert [trace["name"] for trace in figure["data"]] == ["Likes"]
    assert figure["data"][0]["y"] == [v for _, v in _days(7)]
    assert "annotations" not in figure["layout"] and "shapes" not in figure["layout"]
