"""What time it is, and when a stage opens and is due in a region's own time zone.

A stage opens at 00:00 of its opening day and is due at the end (23:59:59) of
its due day, both in the region's own time zone (WIB, WITA or WIT).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .definitions import DayOfYear

END_OF_DAY = dt.time(23, 59, 59)


def opens_at(day: DayOfYear, year: int, zone: str) -> dt.datetime:
    local = dt.datetime.combine(day.in_year(year), dt.time(0, 0), ZoneInfo(zone))
    return local.astimezone(dt.timezone.utc)


def due_at(day: DayOfYear, year: int, zone: str) -> dt.datetime:
    local = dt.datetime.combine(day.in_year(year), END_OF_DAY, ZoneInfo(zone))
    return local.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))
