"""A stored instant's day, hour and weekday on the creator's clock, computed inside SQL.

The zone's UTC offsets come from Python's own zone data, not the database server's (a
Supabase server and the embedded one may carry different tz releases): `clock_seconds`
adds to an instant's seconds since 1970 the offset in force at that instant (a CASE over
the zone's changes in the range asked for), which gives the seconds since 1970-01-01 00:00
on the creator's clock. Whole-number arithmetic on that agrees with
`instant.astimezone(zone)` to the second.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

DAY, HOUR = 86400, 3600
EPOCH = date(1970, 1, 1)
THURSDAY = 3  # 1970-01-01, as date.weekday() counts


def epoch_seconds(instant):
    """SQL: whole seconds since 1970-01-01 00:00 UTC of a stored timestamp."""
    return sa.cast(sa.func.floor(sa.extract("epoch", instant)), sa.BigInteger)


def moment_in(moment: datetime, zone_name: str) -> str:
    """An instant as a person reads it on their clock: "December 13, 2026 at 14:05 (Europe/Paris)"."""
    try:
        zone = ZoneInfo(zone_name)
    except (ValueError, KeyError):
        zone, zone_name = ZoneInfo("UTC"), "UTC"
    local = moment.astimezone(zone)
    return f"{local:%B} {local.day}, {local.year} at {local:%H:%M} ({zone_name})"


def _offset(zone: ZoneInfo, moment: datetime) -> int:
    return int(moment.astimezone(zone).utcoffset().total_seconds())


def offset_changes(zone: ZoneInfo, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    """The zone's offset (seconds) at `since`, then each instant up to `until` it changes and the new one."""
    changes = [(since, _offset(zone, since))]
    for year in range(since.year, until.year + 1):
        changes += [(moment, offset) for moment, offset in _changes_in(zone, year) if since < moment <= until]
    return changes


@functools.lru_cache(maxsize=1024)
def _changes_in(zone: ZoneInfo, year: int) -> tuple[tuple[datetime, int], ...]:
    """Each instant of a UTC year the zone's offset changes, and the new one: worked out once per
    zone and year (a few hundred look-ups), so a dashboard over years of posts asks it for free.

    Looked at once a day and narrowed down to the second where it differs: zones change
    their clocks at most a few times a year, never twice in one day.
    """
    moment, until = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    changes, offset = [], _offset(zone, moment)
    while moment < until:
        later = moment + timedelta(days=1)
        if _offset(zone, later) != offset:
            # Zones change on a whole second: narrow down whole seconds since 1970.
            before, after = math.floor(moment.timestamp()), math.ceil(later.timestamp())
            while after - before > 1:
                middle = (before + after) // 2
                if _offset(zone, datetime.fromtimestamp(middle, UTC)) == offset:
                    before = middle
                else:
                    after = middle
            changed = datetime.fromtimestamp(after, UTC)
            offset = _offset(zone, changed)
            changes.append((changed, offset))
        moment = later
    return tuple(changes)


def clock_seconds(instant, zone: ZoneInfo, since: datetime, until: datetime):
    """SQL: seconds since 1970-01-01 00:00 on the zone's clock, for instants between since and until."""
    changes = offset_changes(zone, since, until)
    if len(changes) == 1:
        return epoch_seconds(instant) + changes[0][1]
    # Before the first change, the first offset; before the second, the second; …
    whens = [(instant < changes[n + 1][0], changes[n][1]) for n in range(len(changes) - 1)]
    return epoch_seconds(instant) + sa.case(*whens, else_=changes[-1][1])


def day_number(seconds):
    """SQL: the day (days since 1970-01-01) of clock seconds; `day_of` turns it back into a date."""
    return seconds // DAY


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def weekday_and_hour(seconds) -> tuple:
    """SQL: Monday = 0 … Sunday = 6, and the hour 0–23, of clock seconds."""
    return (seconds // DAY + THURSDAY) % 7, (seconds // HOUR) % 24
