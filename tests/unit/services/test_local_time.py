"""The creator's clock in SQL: a zone's offset changes, and days, weekdays and hours computed in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

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


def test_days_weekdays_and_hours_match_python_on_sqlite() -> None:
    """Every 37 minutes through both clock changes of 2026: the SQL agrees with astimezone()."""
    since, until = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC)
    moments = [since + timedelta(minutes=37 * n) for n in range(int((until - since).total_seconds()) // 2220)]
    table = sa.Table("moments", sa.MetaData(), sa.Column("at", sa.DateTime(timezone=True)))
    seconds = local_time.clock_seconds(table.c.at, NEW_YORK, since, until)
    weekday, hour = local_time.weekday_and_hour(seconds)
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert(), [{"at": m.replace(tzinfo=None)} for m in moments])
        rows = conn.execute(sa.select(table.c.at, local_time.day_number(seconds), weekday, hour)).all()
    assert len(rows) == len(moments)
    for at, day, on_weekday, at_hour in rows:
        local = at.replace(tzinfo=UTC).astimezone(NEW_YORK)
        assert (local_time.day_of(day), on_weekday, at_hour) == (local.date(), local.weekday(), local.hour)
