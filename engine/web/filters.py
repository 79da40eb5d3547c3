"""Template filters and globals: the UI speaks the way people in the regions write.

- Times in the region's own zone, Indonesian style: ``15 Januari 2027, 23.59 WIB``
  (Babel, locale ``id``; the hour separator is a dot as in Indonesian usage).
- Days left or late, counted in calendar days of the region's zone ("3 hari lagi",
  "hari ini", "terlambat 2 hari"): a deadline at 23.59 is "hari ini" all that day.
- Numbers and rupiah the Indonesian way: ``1.234.567``, ``1.234,5``, ``Rp 1.234.567``.
- Names instead of ids: ``names(level, year)`` is the `Names` of the definition the
  cases of that level and year were started with (pinned), so states, triggers, roles,
  stages and the level itself are shown by their YAML names ("Menunggu verifikasi",
  "Kabupaten/Kota", "Camat"). One lookup per (level, year) per request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask import Flask, g
from sqlalchemy import select

from ..clock import utcnow
from ..definitions import Definition
from ..regions import TIER_NAMES
from ..regions.zones import WIB, ZONE_NAMES, zone_of
from ..store.library import pinned
from ..store.models import Case, DefinitionRow
from ..store.events import SYSTEM_ACTOR
from .store import database

LOCALE = "id"

# Event kinds that are not lifecycle triggers (those are named by the definition).
EVENT_NAMES = {
    "case_started": "Kasus dimulai",
    "save": "Simpan draf",
    "deadline_extended": "Tenggat diperpanjang",
    "relocked": "Dikunci kembali",
    "child_reopened": "Tahap wilayah di bawahnya dibuka kembali",
    "reminder": "Pengingat dikirim",
    "escalation": "Eskalasi dikirim",
    "nudge": "Pengingat dikirim (Ingatkan)",
    "case_migrated": "Kasus dipindah ke definisi baru",
    "stage_added": "Tahap ditambahkan (migrasi)",
}


def _moment(moment: dt.datetime | str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment


def local_time(moment: dt.datetime | str | None, zone: str = WIB) -> str:
    """``15 Januari 2027, 23.59 WIB``: the moment (or its ISO 8601 text) in ``zone`` (IANA)."""
    if moment is None or moment == "":
        return "-"
    here = _moment(moment).astimezone(ZoneInfo(zone))
    return f"{format_datetime(here, 'd MMMM y, HH.mm', locale=LOCALE)} {ZONE_NAMES.get(zone, zone)}"


def local_date(moment: dt.datetime | str | None, zone: str = WIB) -> str:
    """``15 Januari 2027``: the day of the moment in ``zone``."""
    if moment is None or moment == "":
        return "-"
    return format_datetime(_moment(moment).astimezone(ZoneInfo(zone)), "d MMMM y", locale=LOCALE)


def days_between(due: dt.datetime | str, zone: str = WIB, now: dt.datetime | None = None) -> int:
    """Calendar days from today to the due day, both in ``zone`` (negative: late)."""
    tz = ZoneInfo(zone)
    today = (now or utcnow()).astimezone(tz).date()
    return (_moment(due).astimezone(tz).date() - today).days


def days_left(due: dt.datetime | str | None, zone: str = WIB, now: dt.datetime | None = None) -> str:
    """"3 hari lagi", "besok", "hari ini", "terlambat 1 hari": how the deadline stands.

    A deadline already passed today (late by hours) is "terlambat" too, not "hari ini"."""
    if due is None or due == "":
        return ""
    now = now or utcnow()
    days = days_between(due, zone, now)
    if _moment(due) < now:
        return f"terlambat {number(-days)} hari" if days < 0 else "tenggat terlewati hari ini"
    if days == 0:
        return "hari ini"
    if days == 1:
        return "besok"
    return f"{number(days)} hari lagi"


def number(value: Any, digits: int | None = None) -> str:
    """``1.234.567`` / ``12,5``: a number as Indonesians write it; text passes unchanged."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if digits is not None:
        return format_decimal(value, format=f"#,##0.{'0' * digits}" if digits else "#,##0",
                              locale=LOCALE)
    return format_decimal(value, locale=LOCALE)


def rupiah(value: Any) -> str:
    """``Rp 1.234.567``: whole rupiah."""
    if value is None or value == "" or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-" if value in (None, "") else str(value)
    return f"Rp {format_decimal(round(value), format='#,##0', locale=LOCALE)}"


@dataclass(frozen=True)
class Names:
    """The names a definition gives its ids; an unknown id is shown as it is."""

    definition: Definition | None
    level_id: str

    @property
    def level(self) -> str:
        d = self.definition
        return TIER_NAMES.get(d.tier, d.level) if d else self.level_id

    def state(self, state_id: str | None) -> str:
        d = self.definition
        if state_id is None:
            return "belum dimulai"
        return d.lifecycle.states[state_id].name if d and state_id in d.lifecycle.states else state_id

    def is_done(self, state_id: str | None) -> bool:
        return bool(self.definition) and state_id == self.definition.lifecycle.done

    def trigger(self, trigger_id: str) -> str:
        """A trigger's name; also the other things an event can record (`EVENT_NAMES`)."""
        d = self.definition
        if d and trigger_id in d.lifecycle.triggers:
            return d.lifecycle.triggers[trigger_id].name
        return EVENT_NAMES.get(trigger_id, trigger_id)

    def role(self, role_id: str) -> str:
        d = self.definition
        return d.roles[role_id].name if d and role_id in d.roles else role_id

    def stage(self, stage_id: str | None) -> str:
        d = self.definition
        if d and stage_id:
            try:
                return d.stage(stage_id).name
            except KeyError:
                pass
        return stage_id or "-"


def names(level: str, year: int | None = None) -> Names:
    """The `Names` of the definition ``level``'s cases of ``year`` run on (without a case
    that year: the definition stored last for the level)."""
    cache = g.setdefault("aksi_names", {})
    key = (level, year)
    if key not in cache:
        with database().read() as session:
            content_hash = None
            if year is not None:
                content_hash = session.scalar(select(Case.definition_hash).where(
                    Case.level == level, Case.year == year).order_by(Case.id.desc()).limit(1))
            if content_hash is None:
                content_hash = session.scalar(select(DefinitionRow.content_hash).where(
                    DefinitionRow.level == level).order_by(DefinitionRow.stored_at.desc()).limit(1))
            cache[key] = Names(pinned(session, content_hash) if content_hash else None, level)
    return cache[key]


def level_of_tier(tier: int, year: int | None = None) -> Names:
    """The `Names` of the level whose regions have ``tier`` (a region code's depth)."""
    cache = g.setdefault("aksi_tiers", {})
    if tier not in cache:
        with database().read() as session:
            rows = session.execute(select(DefinitionRow.level, DefinitionRow.content_hash)).all()
            levels = {pinned(session, h).tier: level for level, h in rows}
        cache[tier] = levels.get(tier)
    level = cache[tier]
    return names(level, year) if level else Names(None, TIER_NAMES.get(tier, str(tier)))


def actor_name(username: str | None) -> str:
    """Who did it: the username, or "sistem" for what the engine did by itself."""
    return "sistem" if username in (None, SYSTEM_ACTOR) else username


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "waktu_lokal")
    app.add_template_filter(local_date, "tanggal")
    app.add_template_filter(days_left, "sisa_hari")
    app.add_template_filter(number, "angka")
    app.add_template_filter(rupiah, "rupiah")
    app.add_template_filter(actor_name, "pelaku")
    app.add_template_filter(zone_of, "zona")  # a region code's time zone
    app.add_template_global(names, "names")
    app.add_template_global(level_of_tier, "level_of_tier")
