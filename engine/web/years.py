"""Which cycle year a page shows: the one asked for (``?tahun=``, within a sane range),
else the one with open work for the person (`default_year`)."""

from __future__ import annotations

import datetime as dt

from flask import flash, request
from sqlalchemy import or_, select

from ..clock import utcnow
from ..regions import within_clause
from ..store.models import Case

MIN_YEAR, MAX_YEAR = 2000, 2100  # the years a cycle can be asked for


def cycle_year(session, actor) -> tuple[int, list[int]]:
    """(the year to show, the years with cases in ``actor``'s regions). A year out of
    range is said in a message and the default shown instead."""
    asked = request.args.get("tahun", type=int)
    if asked is not None and not MIN_YEAR <= asked <= MAX_YEAR:
        flash(f"Tahun {request.args['tahun']} di luar jangkauan ({MIN_YEAR}–{MAX_YEAR}); "
              "ditampilkan tahun berjalan.", "error")
        asked = None
    years = years_in_scope(session, actor)
    return asked or default_year(years), years


def years_in_scope(session, actor) -> list[int]:
    """The years with cases in the regions ``actor`` holds roles in, oldest first."""
    areas = {a.region_code for a in actor.assignments}
    if not areas:
        return []
    return sorted(session.scalars(select(Case.year).distinct().where(
        or_(*(within_clause(Case.region_code, a) for a in areas)))))


def default_year(years: list[int], now: dt.datetime | None = None) -> int:
    """The cycle year to show first: next year's once it is started, in December (when
    its first stages are prepared); else this year's; else the latest one started."""
    today = (now or utcnow()).year, (now or utcnow()).month
    if today[1] == 12 and today[0] + 1 in years:
        return today[0] + 1
    if today[0] in years or not years:
        return today[0]
    return max((y for y in years if y <= today[0]), default=min(years))
