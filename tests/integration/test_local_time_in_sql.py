"""The creator's clock computed in Postgres: days, weekdays and hours agree with Python's astimezone()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from assetry.config import driver_url, get_settings
from assetry.services import local_time

NEW_YORK = ZoneInfo("America/New_York")


async def test_days_weekdays_and_hours_match_python_in_the_database(database: str) -> None:
    """Every 37 minutes through both clock changes of 2026: the SQL agrees with astimezone()."""
    since, until = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC)
    moments = [since + timedelta(minutes=37 * n) for n in range(int((until - since).total_seconds()) // 2220)]
    table = sa.Table("moments", sa.MetaData(), sa.Column("at", sa.DateTime(timezone=True)))
    seconds = local_time.clock_seconds(table.c.at, NEW_YORK, since, until)
    weekday, hour = local_time.weekday_and_hour(seconds)
    engine = sa.create_engine(driver_url(get_settings().owner_database_url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TEMPORARY TABLE moments (at timestamptz)"))
        conn.execute(table.insert(), [{"at": m} for m in moments])
        rows = conn.execute(sa.select(table.c.at, local_time.day_number(seconds), weekday, hour)).all()
    assert len(rows) == len(moments)
    for at, day, on_weekday, at_hour in rows:
        local = at.astimezone(NEW_YORK)
        assert (local_time.day_of(day), on_weekday, at_hour) == (local.date(), local.weekday(), local.hour)
