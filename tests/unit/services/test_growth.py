"""When a new post's growth curve is captured: 1 h, 6 h, 24 h and 7 d after publication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assetry.services.growth import next_capture, tolerance

POSTED = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def test_each_capture_queues_the_next_milestone_until_the_last() -> None:
    moments, after = [], POSTED + timedelta(minutes=20)  # first seen by a sync 20 minutes in
    while (moment := next_capture(POSTED, after)) is not None:
        moments.append(moment - POSTED)
        after = moment + timedelta(seconds=3)  # the capture runs a few seconds late
    assert moments == [timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=7)]


def test_a_post_found_late_skips_the_milestones_already_past() -> None:
    assert next_capture(POSTED, POSTED + timedelta(hours=1, minutes=10)) == POSTED + timedelta(hours=6)
    assert next_capture(POSTED, POSTED + timedelta(days=2)) == POSTED + timedelta(days=7)
    assert next_capture(POSTED, POSTED + timedelta(days=8)) is None


def test_a_snapshot_counts_for_a_milestone_within_a_quarter_of_it_and_at_least_half_an_hour() -> None:
    assert tolerance(timedelta(hours=1)) == timedelta(minutes=30)
    assert tolerance(timedelta(days=1)) == timedelta(hours=6)
