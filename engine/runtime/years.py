"""Starting a year: one case per region and level, with all its stages, in bulk.

Idempotent: regions that already have a case for that level and year are
skipped. Stages with nothing to wait for and whose opening day has come are
opened at once; stages waiting on child regions are evaluated against the
child cases that already exist.

The work is set-based: the database copies regions into cases, and cases times
a small table of (time zone, stage) moments into tasks, so a national year
costs a few statements per batch instead of Python work per row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sqlalchemy import (
    Boolean, Integer, String, and_, exists, func, insert, literal, select, union_all,
)
from sqlalchemy.orm import Session

from ..clock import due_at, opens_at, utcnow
from ..clock.deadlines import has_holiday_data
from ..definitions import Definition, DefinitionSet
from ..regions import within_clause
from ..store.models import Case, Event, Region, Task
from ..store.types import JSONDocument, UTCDateTime
from ..store import events
from ..store.batches import among
from . import counters, gates, notices
from ..store.library import pin

BATCH = 2000  # cases per statement batch (and per progress step)


@dataclass
class StartReport:
    year: int
    cases: dict[str, int] = field(default_factory=dict)  # level -> cases created
    skipped: dict[str, int] = field(default_factory=dict)  # level -> already there
    tasks: int = 0
    opened: int = 0
    notices: int = 0  # reminders and escalations scheduled
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"year": self.year, "cases": self.cases, "skipped": self.skipped,
                "tasks": self.tasks, "opened": self.opened, "notices": self.notices,
                "warnings": self.warnings}


Progress = Callable[[int], None]


def start_year(session: Session, definitions: DefinitionSet, year: int, *,
               province: str | None = None, levels: Iterable[str] | None = None,
               now: dt.datetime | None = None, progress: Progress | None = None) -> StartReport:
    """Create the cases of ``year`` (children's levels first, so parents can count them)."""
    now = now or utcnow()
    wanted = set(levels) if levels else None
    report = StartReport(year)
    if not has_holiday_data(year) and any(s.roll for d in definitions for s in d.stages):
        report.warnings.append(
            f"data hari libur tahun {year} belum tersedia di lokal-id: tenggat yang digeser "
            "ke hari kerja hanya melewati Sabtu dan Minggu")
    for definition in sorted(definitions, key=lambda d: -d.tier):
        if wanted is not None and definition.level not in wanted:
            continue
        _start_level(session, definition, year, province, now, report, progress)
    if sum(report.cases.values()) and session.get_bind().dialect.name == "sqlite":
        # SQLite keeps no statistics by itself (PostgreSQL's autovacuum does): without
        # them it reads a region's stages by scanning the whole year.
        for table in ("tasks", "cases", "notices"):  # what year start changed most
            session.connection().exec_driver_sql(f"ANALYZE {table}")
    return report


def _in_scope(query, tier: int, province: str | None):
    query = query.where(Region.tier == tier)
    if province:
        query = query.where(within_clause(Region.code, province))
    return query


def _start_level(session: Session, d: Definition, year: int, province: str | None,
                 now: dt.datetime, report: StartReport, progress: Progress | None) -> None:
    conn = session.connection()
    has_case = exists().where(Case.level == d.level, Case.year == year,
                              Case.region_code == Region.code)
    regions = conn.execute(_in_scope(select(func.count()).select_from(Region), d.tier,
                                     province)).scalar_one()
    missing = _in_scope(select(Region.code).where(~has_case), d.tier, province)
    if not conn.execute(select(missing.exists())).scalar():
        report.cases[d.level], report.skipped[d.level] = 0, regions
        return
    pin(session, d, now)
    conn.execute(insert(Case.__table__).from_select(
        ["level", "region_code", "year", "definition_hash", "started_at"],
        select(literal(d.level), missing.subquery().c.code, literal(year),
               literal(d.content_hash), literal(now, UTCDateTime()))))
    # The new cases are those without tasks yet (all in this transaction). Counts of
    # INSERT ... SELECT come from rowcount, which sqlite3 and psycopg both report
    # (SQLAlchemy passes it on for INSERT with preserve_rowcount).
    new_ids = conn.execute(select(Case.id).where(
        Case.level == d.level, Case.year == year, Case.definition_hash == d.content_hash,
        ~exists().where(Task.case_id == Case.id)).order_by(Case.id)).scalars().all()
    report.cases[d.level], report.skipped[d.level] = len(new_ids), regions - len(new_ids)
    zones = session.execute(select(Region.timezone).where(Region.tier == d.tier)
                            .distinct()).scalars().all()
    moments = _moments(d, year, zones, now)
    schedule = notices.schedule_table(conn, d, year, now)
    for start in range(0, len(new_ids), BATCH):
        batch = new_ids[start:start + BATCH]
        report.tasks += _insert_tasks(conn, d, year, batch, moments, now)
        report.opened += _insert_events(conn, d, year, batch, now)
        counters.started(session, batch, d.tier)
        if schedule is not None:
            report.notices += notices.schedule_cases(conn, batch, schedule)
        if progress:
            progress(len(batch))
    report.opened += _open_waiting(session, d, year, new_ids, now)


def _moments(d: Definition, year: int, zones: list[str], now: dt.datetime):
    """Per zone and stage: (zone, position, stage, state, waits_on, opens_pending, opens_at,
    due_at), as a literal table the task insert joins."""
    lc = d.lifecycle
    opened_state = lc.triggers[lc.opens_with].dest
    rows = []
    for zone in zones:
        for stage in d.stages:
            o = opens_at(stage.opens, year, zone)
            free = not stage.after and stage.waits_for is None and o <= now
            waits_on = f"{stage.waits_for.level}:{stage.waits_for.stage}" if stage.waits_for else None
            rows.append((zone, len(rows), stage.id, opened_state if free else lc.initial,
                         waits_on, o > now, o, due_at(stage.due, year, zone, stage.roll)))
    # A UNION ALL of literal rows: SQLite has no named-column VALUES table.
    return union_all(*(
        select(literal(zone, String).label("zone"), literal(position, Integer).label("position"),
               literal(stage, String).label("stage"),
               literal(state, String).label("state"),
               literal(waits_on, String).label("waits_on"),
               literal(pending, Boolean).label("opens_pending"),
               literal(o, UTCDateTime()).label("opens_at"),
               literal(due, UTCDateTime()).label("due_at"))
        for zone, position, stage, state, waits_on, pending, o, due in rows)).subquery("moments")


def _insert_tasks(conn: Any, d: Definition, year: int, case_ids: list[int], moments,
                  now: dt.datetime) -> int:
    m = moments
    query = (
        select(Case.id, literal(d.content_hash), m.c.stage, m.c.state, literal(d.level),
               literal(year), Case.region_code, Region.parent_code, m.c.waits_on,
               m.c.opens_pending, m.c.opens_at, m.c.due_at, literal(1, Integer),
               literal(now, UTCDateTime()))
        .select_from(Case)
        .join(Region, Region.code == Case.region_code)
        .join(m, m.c.zone == Region.timezone)
        .where(Case.id.in_(case_ids))
        .order_by(Case.id, m.c.position)  # ids follow the definition's stage order
    )
    conn.execute(insert(Task.__table__).from_select(
        ["case_id", "definition_hash", "stage", "state", "level", "year", "region_code",
         "parent_code", "waits_on", "opens_pending", "opens_at", "due_at", "version",
         "updated_at"],
        query))
    return len(case_ids) * len(d.stages)  # every case gets every stage (one zone per region)


def _insert_events(conn: Any, d: Definition, year: int, case_ids: list[int],
                   now: dt.datetime) -> int:
    """A `case_started` event per case, and an opening event per task created open."""
    payload = literal({"definition": d.content_hash, "version": d.version}, JSONDocument)
    conn.execute(insert(Event.__table__).from_select(
        ["at", "kind", "actor", "case_id", "region_code", "level", "year", "payload"],
        select(literal(now, UTCDateTime()), literal("case_started"),
               literal(events.SYSTEM_ACTOR), Case.id, Case.region_code, Case.level, Case.year,
               payload).where(Case.id.in_(case_ids))))
    lc = d.lifecycle
    opened_state = lc.triggers[lc.opens_with].dest
    if opened_state == lc.initial:
        return 0
    created_open = and_(among(Task.case_id, case_ids), Task.state == opened_state)
    return conn.execute(insert(Event.__table__).from_select(
        ["at", "kind", "actor", "case_id", "task_id", "region_code", "level", "year", "stage",
         "from_state", "to_state"],
        select(literal(now, UTCDateTime()), literal(lc.opens_with), literal(events.SYSTEM_ACTOR),
               Task.case_id, Task.id, Task.region_code, Task.level, Task.year, Task.stage,
               literal(lc.initial), Task.state).where(created_open)),
        execution_options={"preserve_rowcount": True}).rowcount


def _open_waiting(session: Session, d: Definition, year: int, case_ids: list[int],
                  now: dt.datetime) -> int:
    """Evaluate stages that wait only on child regions: their children may be done already."""
    stages = [s.id for s in d.stages if s.waits_for is not None and not s.after]
    if not stages or not case_ids:
        return 0
    opened = 0
    for start in range(0, len(case_ids), BATCH):
        for task in session.connection().execute(select(Task.__table__).where(
                among(Task.case_id, case_ids[start:start + BATCH]), Task.stage.in_(stages),
                Task.state == d.lifecycle.initial, Task.opens_at <= now)).all():
            if gates.try_open(session, task, d, now):
                opened += 1
    return opened
