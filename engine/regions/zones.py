"""Indonesia's three time zones, by province (the first two digits of a Kemendagri code)."""

from __future__ import annotations

import datetime as dt

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"

# Sumatra, Java, West and Central Kalimantan keep WIB; Bali, Nusa Tenggara, the rest of
# Kalimantan and Sulawesi keep WITA; Maluku and Papua keep WIT.
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96"}

ZONE_NAMES = {WIB: "WIB", WITA: "WITA", WIT: "WIT"}
ZONES = (WIB, WITA, WIT)
# A new day starts first in WIT (UTC+9): what is "today" somewhere in Indonesia.
EARLIEST_ZONE_OFFSET = dt.timedelta(hours=9)


def zone_of(code: str) -> str:
    """The IANA time zone of the region with this code."""
    province = code[:2]
    if province in _WIT:
        return WIT
    if province in _WITA:
        return WITA
    return WIB


def spoken_moment(at: dt.datetime, zone: str) -> str:
    """"15 Januari 2027, 23.59 WIB": an instant as people in ``zone`` (IANA) write it; for
    the texts stored with a notice (inbox, e-mail, webhooks). Pages format with Babel
    (engine/web/filters.py), to the same result."""
    from zoneinfo import ZoneInfo

    from ..definitions.dates import MONTHS_ID  # the one list of month names

    here = (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)).astimezone(ZoneInfo(zone))
    return (f"{here.day} {MONTHS_ID[here.month - 1]} {here.year}, {here:%H.%M} "
            f"{ZONE_NAMES.get(zone, zone)}")
