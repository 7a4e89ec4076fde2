"""The creator's clock in SQL: a zone's offset changes, and days, weekdays and hours computed in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

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


def test_a_utc_quarter_hour_lies_in_one_local_day_of_every_zone() -> None:
    """The dashboard keeps growth per UTC quarter hour (migration 0020), for capture times: from
    2012 on, every zone's offset is a whole number of quarter hours, and no clock change splits
    a quarter hour between two days (a few zones change at 00:01, forward only since 2012)."""
    since, until = datetime(2012, 1, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC)
    for name in sorted(available_timezones()):
        zone = ZoneInfo(name)
        for moment, offset in local_time.offset_changes(zone, since, until):
            quarter = moment - timedelta(seconds=moment.timestamp() % 900)
            last = quarter + timedelta(seconds=899)
            assert offset % 900 == 0, (name, moment, offset)
            assert quarter.astimezone(zone).date() == last.astimezone(zone).date(), (name, moment)
