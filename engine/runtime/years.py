"""Starting a year: one case per region and level, with all its stages, in bulk.

Idempotent: regions that already have a case for that level and year are
skipped. Stages with nothing to wait for and whose opening day has come are
opened at once; stages waiting on child regions are evaluated against the
child cases that already exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..definitions import Definition, DefinitionSet
from ..store.models import Case, Event, Region, Task
from . import events, gates
from ..clock import due_at, opens_at, utcnow
from .library import pin

BATCH = 5000


@dataclass
class StartReport:
    year: int
    cases: dict[str, int] = field(default_factory=dict)  # level -> cases created
    skipped: dict[str, int] = field(default_factory=dict)  # level -> already there
    tasks: int = 0
    opened: int = 0

    def as_dict(self) -> dict:
        return {"year": self.year, "cases": self.cases, "skipped": self.skipped,
                "tasks": self.tasks, "opened": self.opened}


Progress = Callable[[int], None]


def start_year(session: Session, definitions: DefinitionSet, year: int, *,
               province: str | None = None, levels: Iterable[str] | None = None,
               now: dt.datetime | None = None, progress: Progress | None = None) -> StartReport:
    """Create the cases of ``year`` (children's levels first, so parents can count them)."""
    now = now or utcnow()
    wanted = set(levels) if levels else None
    report = StartReport(year)
    for definition in sorted(definitions, key=lambda d: -d.tier):
        if wanted is not None and definition.level not in wanted:
            continue
        _start_level(session, definition, year, province, now, report, progress)
    return report


def _regions(session: Session, tier: int, province: str | None) -> list[tuple[str, str | None, str]]:
    query = select(Region.code, Region.parent_code, Region.timezone).where(Region.tier == tier)
    if province:
        query = query.where((Region.code == province) | Region.code.startswith(province + "."))
    return [tuple(r) for r in session.execute(query.order_by(Region.code)).all()]


def _start_level(session: Session, d: Definition, year: int, province: str | None,
                 now: dt.datetime, report: StartReport, progress: Progress | None) -> None:
    regions = _regions(session, d.tier, province)
    existing = set(session.scalars(select(Case.region_code).where(
        Case.level == d.level, Case.year == year)))
    todo = [r for r in regions if r[0] not in existing]
    report.skipped[d.level] = len(regions) - len(todo)
    report.cases[d.level] = len(todo)
    if not todo:
        return
    pin(session, d, now)
    lc = d.lifecycle
    opened_state = lc.triggers[lc.opens_with].dest
    # Per zone, the stage moments are the same for every region: compute them once.
    moments: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for start in range(0, len(todo), BATCH):
        chunk = todo[start:start + BATCH]
        ids = session.execute(
            insert(Case).returning(Case.id, Case.region_code, sort_by_parameter_order=True),
            [{"level": d.level, "region_code": code, "year": year, "definition_hash": d.content_hash,
              "started_at": now} for code, _, _ in chunk]).all()
        task_rows, opened = [], []
        for (case_id, code), (_, parent, zone) in zip(ids, chunk):
            if zone not in moments:
                moments[zone] = [(opens_at(s.opens, year, zone), due_at(s.due, year, zone))
                                 for s in d.stages]
            for stage, (o, due) in zip(d.stages, moments[zone]):
                free = not stage.after and stage.waits_for is None and o <= now
                task_rows.append({
                    "case_id": case_id, "stage": stage.id,
                    "state": opened_state if free else lc.initial,
                    "level": d.level, "year": year, "region_code": code, "parent_code": parent,
                    "waits_on": (f"{stage.waits_for.level}:{stage.waits_for.stage}"
                                 if stage.waits_for else None),
                    "opens_at": o, "due_at": due, "data": None, "version": 1,
                    "updated_at": now, "done_at": None,
                })
                if free:
                    opened.append((case_id, code, stage.id))
        session.execute(insert(Task), task_rows)
        session.execute(insert(Event), [
            {"at": now, "kind": "case_started", "actor": events.SYSTEM_ACTOR, "case_id": case_id,
             "region_code": code, "level": d.level, "year": year,
             "payload": {"definition": d.content_hash, "version": d.version}}
            for case_id, code in ids])
        if opened:
            _record_openings(session, d, year, opened, lc.initial, opened_state, now)
        report.tasks += len(task_rows)
        report.opened += len(opened)
        if progress:
            progress(len(chunk))
    report.opened += _open_waiting(session, d, year, [c for c, _, _ in todo], now)


def _record_openings(session: Session, d: Definition, year: int, opened: list, initial: str,
                     opened_state: str, now: dt.datetime) -> None:
    """Opening events for the tasks created open (their ids looked up in bulk)."""
    case_ids = sorted({c for c, _, _ in opened})
    ids = {}
    for start in range(0, len(case_ids), BATCH):
        ids.update({(c, s): i for i, c, s in session.execute(
            select(Task.id, Task.case_id, Task.stage)
            .where(Task.case_id.in_(case_ids[start:start + BATCH]),
                   Task.state == opened_state)).all()})
    session.execute(insert(Event), [
        {"at": now, "kind": d.lifecycle.opens_with, "actor": events.SYSTEM_ACTOR,
         "case_id": case_id, "task_id": ids[(case_id, stage)], "region_code": code,
         "level": d.level, "year": year, "stage": stage, "from_state": initial,
         "to_state": opened_state}
        for case_id, code, stage in opened])


def _open_waiting(session: Session, d: Definition, year: int, codes: list[str],
                  now: dt.datetime) -> int:
    """Evaluate stages that wait only on child regions: their children may be done already."""
    stages = [s.id for s in d.stages if s.waits_for is not None and not s.after]
    if not stages:
        return 0
    opened = 0
    code_set = set(codes)
    for task in session.scalars(select(Task).where(
            Task.level == d.level, Task.year == year, Task.stage.in_(stages),
            Task.state == d.lifecycle.initial, Task.opens_at <= now)):
        if task.region_code in code_set and gates.try_open(session, task, d, now):
            opened += 1
    return opened

