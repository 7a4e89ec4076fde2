"""The creator's clock in SQL: a zone's offset changes, and days, weekdays and hours computed in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from assetry.services import local_time

NEW_YORK = ZoneInfo("America/New_York")


def test_offset_changes_are_found_to_the_second() -> None:
    changes = local_time.offset_changes(
        NEW_YORK, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert changes == [
        (datetime(2026, 1, 1, tzinfo=UTC), -5 * 3600),
        (datetime(2026, 3, 8, 7, tzinfo=UTC), -4 * 3600),  # 2 a.m. EST: clocks go forward
        (datetime(2026, 11, 1, 6, tzinfo=UTC), -5 * 3600),  # 2 a.m. EDT: clocks go back
    ]
    kolkata = local_time.offset_changes(ZoneInfo("Asia/Kolkata"), changes[0][0], changes[-1][0])
    assert kolkata == [(changes[0][0], 5 * 3600 + 30 * 60)]
