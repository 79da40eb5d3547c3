"""Template filters: times in the region's own zone, as people there read them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask

from ..regions.zones import ZONE_NAMES, zone_of


def local_time(moment: dt.datetime | str | None, zone: str) -> str:
    """``15-01-2026 23:59 WIB``: the moment (or its ISO 8601 text) in ``zone`` (IANA)."""
    if moment is None:
        return "-"
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return f"{moment.astimezone(ZoneInfo(zone)):%d-%m-%Y %H:%M} {ZONE_NAMES.get(zone, zone)}"


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "waktu_lokal")
    app.add_template_filter(zone_of, "zona")  # a region code's time zone
