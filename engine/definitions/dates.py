"""Days of the cycle year as the juknis states them.

"paling lambat tanggal 15 Januari" is ``"01-15"``; "paling lambat bulan Februari"
is ``"02"``, the last day of that month in the year the cycle runs.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)


class BadDate(ValueError):
    """A day no year has, e.g. "02-30" or "13"."""


@dataclass(frozen=True, slots=True)
class DayOfYear:
    month: int
    day: int | None  # None: the last day of the month

    @classmethod
    def parse(cls, text: str) -> "DayOfYear":
        """Parse "MM" or "MM-DD" (already shaped by the schema)."""
        month_s, _, day_s = text.partition("-")
        month = int(month_s)
        if not 1 <= month <= 12:
            raise BadDate(f"bulan {month_s} tidak ada (harus 01 sampai 12)")
        if not day_s:
            return cls(month, None)
        day = int(day_s)
        longest = calendar.monthrange(2024, month)[1]  # 2024: a leap year
        if not 1 <= day <= longest:
            raise BadDate(
                f"tanggal {day_s} {MONTHS_ID[month - 1]} tidak ada "
                f"({MONTHS_ID[month - 1]} hanya sampai tanggal {longest})"
            )
        return cls(month, day)

    @property
    def is_leap_day(self) -> bool:
        return self.month == 2 and self.day == 29

    def in_year(self, year: int) -> dt.date:
        """The calendar date in ``year``; 29 February falls back to the 28th."""
        last = calendar.monthrange(year, self.month)[1]
        return dt.date(year, self.month, min(self.day or last, last))

    def __str__(self) -> str:
        if self.day is None:
            return f"akhir {MONTHS_ID[self.month - 1]}"
        return f"{self.day} {MONTHS_ID[self.month - 1]}"

    def spec(self) -> str:
        return f"{self.month:02d}" if self.day is None else f"{self.month:02d}-{self.day:02d}"


START_OF_YEAR = DayOfYear(1, 1)

# Comparisons between days of the year are made in both kinds of year, so that
# "02-29" against "02" is judged in leap and common years alike.
REFERENCE_YEARS = (2025, 2028)


def earlier(a: DayOfYear, b: DayOfYear) -> bool:
    """True when ``a`` falls before ``b`` in some year."""
    return any(a.in_year(y) < b.in_year(y) for y in REFERENCE_YEARS)


def same_day(a: DayOfYear, b: DayOfYear) -> bool:
    """True when ``a`` and ``b`` are the same day in every year."""
    return all(a.in_year(y) == b.in_year(y) for y in REFERENCE_YEARS)
