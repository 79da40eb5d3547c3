"""When a stage opens and is due, for one region, as aware UTC datetimes.

A stage opens at 00:00 of its opening day and is due at the end (23:59:59) of
its due day, both in the region's own time zone (WIB, WITA or WIT). A stage
whose definition says ``roll: next_working_day`` has a due day that falls on a
weekend, a national holiday or a cuti bersama moved to the next working day
(holidays from the ``lokal-id`` package; for a year it has no data for, only
weekends are rolled).
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo


from ..definitions import DayOfYear

END_OF_DAY = dt.time(23, 59, 59)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))


@functools.lru_cache(maxsize=4096)
def _is_working_day(day: dt.date) -> bool:
    if day.weekday() >= 5:
        return False
    import lokal  # about a second to import: only deadlines that roll need it

    if day.year not in lokal.HOLIDAY_YEARS:
        return True  # no official list yet: weekends only
    return lokal.is_working_day(day)


def has_holiday_data(year: int) -> bool:
    import lokal

    return year in lokal.HOLIDAY_YEARS


def working_day_on_or_after(day: dt.date) -> dt.date:
    while not _is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def opens_at(day: DayOfYear, year: int, zone: str) -> dt.datetime:
    local_start = dt.datetime.combine(day.in_year(year), dt.time(0, 0), ZoneInfo(zone))
    return local_start.astimezone(dt.timezone.utc)


def due_date(day: DayOfYear, year: int, roll: str | None = None) -> dt.date:
    date = day.in_year(year)
    return working_day_on_or_after(date) if roll == "next_working_day" else date


def due_at(day: DayOfYear, year: int, zone: str, roll: str | None = None) -> dt.datetime:
    local_end = dt.datetime.combine(due_date(day, year, roll), END_OF_DAY, ZoneInfo(zone))
    return local_end.astimezone(dt.timezone.utc)


def end_of_day(date: dt.date, zone: str) -> dt.datetime:
    """23:59:59 of ``date`` in ``zone``, in UTC (an extended deadline)."""
    return dt.datetime.combine(date, END_OF_DAY, ZoneInfo(zone)).astimezone(dt.timezone.utc)
