"""The admin overview's charts count whole things: small counts get whole-number ticks."""

from __future__ import annotations

from datetime import date, timedelta

from assetry.components import admin_charts

DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(3)]


def test_small_daily_counts_tick_in_whole_numbers_from_zero() -> None:
    figure = admin_charts.daily(DAYS, [0, 2, 1], "sign-ups")
    assert figure.layout.yaxis.dtick == 1
    assert tuple(figure.layout.yaxis.range) == (0, 2)


def test_a_day_with_nothing_still_shows_a_scale_of_one() -> None:
    figure = admin_charts.daily(DAYS, [0, 0, 0], "on the waitlist", bars=False)
    assert tuple(figure.layout.yaxis.range) == (0, 1)


def test_large_counts_keep_plotlys_own_ticks() -> None:
    figure = admin_charts.daily(DAYS, [40, 120, 75], "active users")
    assert figure.layout.yaxis.dtick is None
    assert figure.layout.yaxis.range is None


def test_stacked_generations_are_scaled_by_their_tallest_bar() -> None:
    figure = admin_charts.generations([("image · offline", "succeeded", 3), ("image · offline", "failed", 1)])
    assert tuple(figure.layout.yaxis.range) == (0, 4)
    assert figure.layout.yaxis.dtick == 1
