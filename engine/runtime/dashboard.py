"""The dashboard of a region: its child regions' progress, their stages, a ranking, and
the year's progress week by week.

Cost: a child that is a counter area (provinsi, kab/kota; runtime/counters.py) is read
from its counters, grouped in the database; a child below (a kecamatan) from its own
tasks. The region's children's own stages come from their tasks (children x stages
rows). Nothing here reads the tasks below the children, so a national dashboard costs
about what a kab/kota one does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from ..definitions import Definition
from ..regions import tier_of
from ..store.library import pinned
from ..store.models import DefinitionRow, Event, ProgressCount, Region, Task
from .counters import AREA_TIERS, week_of

NATIONAL = None  # the region "code" of the whole country


@dataclass
class Tally:
    """Stages of a region (and below) by how they stand at one moment."""

    total: int = 0
    due: int = 0  # deadline passed
    done: int = 0
    done_due: int = 0  # done, among those due
    done_late: int = 0
    overdue: int = 0  # deadline passed, not done, open (real late work)
    blocked: int = 0  # deadline passed, still locked (behind late work elsewhere)

    @property
    def on_time(self) -> int:
        return self.done - self.done_late

    @property
    def percent(self) -> int:
        """Done among those due so far (before any deadline: among all)."""
        if self.due:
            return round(100 * self.done_due / self.due)
        return round(100 * self.done / self.total) if self.total else 0

    def add(self, other: "Tally") -> None:
        for name in ("total", "due", "done", "done_due", "done_late", "overdue", "blocked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def count(self, n: int, *, done: bool, late: bool, past_due: bool,
              locked: bool = False) -> None:
        self.total += n
        self.due += n if past_due else 0
        self.done += n if done else 0
        self.done_due += n if done and past_due else 0
        self.done_late += n if done and late else 0
        self.overdue += n if past_due and not done and not locked else 0
        self.blocked += n if past_due and locked else 0

    def count_cell(self, cell: "Cell", now: dt.datetime) -> None:
        self.count(1, done=cell.done, late=cell.late and cell.done, past_due=cell.due_at <= now,
                   locked=cell.locked)

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "due": self.due, "done": self.done,
                "done_due": self.done_due, "on_time": self.on_time, "done_late": self.done_late,
                "overdue": self.overdue, "blocked": self.blocked, "percent": self.percent}


@dataclass(frozen=True)
class Cell:
    """One child region's own stage."""

    state: str
    state_name: str
    done: bool
    late: bool  # overdue, or done after its deadline
    due_at: dt.datetime
    locked: bool = False  # still in the lifecycle's initial state

    @property
    def kind(self) -> str:
        """done, done-late, overdue, waiting (still locked) or running: the cell's colour."""
        if self.done:
            return "done-late" if self.late else "done"
        return "waiting" if self.locked else "overdue" if self.late else "running"


@dataclass
class Child:
    code: str
    name: str
    level: str | None  # the level of its own cases (None: no definition for its tier)
    tally: Tally = field(default_factory=Tally)
    cells: dict[str, Cell] = field(default_factory=dict)  # own stage id -> cell
    below: dict[str, Tally] = field(default_factory=dict)  # lower level -> its stages below
    band: str | None = None  # Tumbuh / Berkembang / Berdaya, once scored
    rank: int = 0

    @property
    def is_area(self) -> bool:
        return tier_of(self.code) <= AREA_TIERS

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "level": self.level, "rank": self.rank,
                "band": self.band, "progress": self.tally.as_dict(),
                "stages": {s: {"state": c.state, "state_name": c.state_name, "done": c.done,
                               "late": c.late, "kind": c.kind, "due_at": c.due_at.isoformat()}
                           for s, c in self.cells.items()},
                "below": {lv: t.as_dict() for lv, t in self.below.items()}}


@dataclass(frozen=True)
class Week:
    number: int
    starts: dt.date
    due: int  # cumulative: stages whose deadline fell in this week or before
    done: int  # cumulative: stages done in this week or before


@dataclass
class Dashboard:
    region: str | None
    year: int
    now: dt.datetime
    levels: dict[str, Definition]  # level id -> the definition shown (its latest)
    child_level: str | None
    lower_levels: list[str]
    children: list[Child]
    own: list[tuple[str, Cell]]  # the region's own stages (stage id, cell)
    own_level: str | None
    tally: Tally
    weeks: list[Week]

    @property
    def ranking(self) -> list[Child]:
        return sorted(self.children, key=lambda c: c.rank)

    def as_dict(self) -> dict[str, Any]:
        return {"region": self.region, "year": self.year, "now": self.now.isoformat(),
                "child_level": self.child_level, "lower_levels": self.lower_levels,
                "progress": self.tally.as_dict(),
                "children": [c.as_dict() for c in self.children],
                "stages": [{"stage": s, "state": c.state, "state_name": c.state_name,
                            "done": c.done, "late": c.late, "kind": c.kind,
                            "due_at": c.due_at.isoformat()} for s, c in self.own],
                "weeks": [{"week": w.number, "starts": w.starts.isoformat(), "due": w.due,
                           "done": w.done} for w in self.weeks]}


def level_definitions(session: Session) -> dict[str, Definition]:
    """Level id -> the definition stored last for it (the few stored definitions)."""
    rows = session.execute(select(DefinitionRow.level, DefinitionRow.content_hash)
                           .order_by(DefinitionRow.stored_at)).all()
    return {level: pinned(session, h) for level, h in rows}


def dashboard(session: Session, region: str | None, year: int, now: dt.datetime) -> Dashboard:
    """The dashboard of ``region`` (a code, or `NATIONAL`) for ``year`` at ``now``.
    Whether the reader may see it is the caller's check."""
    levels = level_definitions(session)
    by_tier = {d.tier: d.level for d in levels.values()}
    child_tier = 1 if region is NATIONAL else tier_of(region) + 1
    child_level = by_tier.get(child_tier)
    lower = [by_tier[t] for t in sorted(by_tier) if t > child_tier]
    children = _children(session, region, child_tier, child_level)
    _own_cells(session, children, year, now)
    areas = {c.code: c for c in children if c.is_area}
    initial = {level: d.lifecycle.initial for level, d in levels.items()}
    for code, level, tally in _area_tallies(session, list(areas), year, now, initial):
        child = areas[code]
        if level == child.level:
            continue  # its own stages are counted from its cells (the same numbers)
        child.below[level] = tally
    for child in children:
        for cell in child.cells.values():
            child.tally.count_cell(cell, now)
        for tally in child.below.values():
            child.tally.add(tally)
    _bands(session, children, year, levels)
    _rank(children)
    own = _own(session, region, year, now)
    total = Tally()
    for child in children:
        total.add(child.tally)
    for _, cell in own:
        total.count_cell(cell, now)
    own_level = by_tier.get(tier_of(region)) if region is not NATIONAL else None
    return Dashboard(region, year, now, levels, child_level, lower, children, own, own_level,
                     total, _weeks(session, region, year, now))


def _children(session: Session, region: str | None, tier: int, level: str | None) -> list[Child]:
    if level is None:
        return []
    query = select(Region.code, Region.name).where(Region.tier == tier)
    query = query.where(Region.parent_code.is_(None) if region is NATIONAL
                        else Region.parent_code == region)
    return [Child(code, name, level)
            for code, name in session.execute(query.order_by(Region.name, Region.code))]


_CELL_COLUMNS = (Task.region_code, Task.definition_hash, Task.stage, Task.state, Task.due_at,
                 Task.done_at)


def _cell(session: Session, content_hash: str, state: str, due_at: dt.datetime,
          done_at: dt.datetime | None, now: dt.datetime) -> Cell:
    lc = pinned(session, content_hash).lifecycle
    name = lc.states[state].name if state in lc.states else state
    done = done_at is not None
    return Cell(state, name, done, done_at > due_at if done else due_at <= now, due_at,
                state == lc.initial)


def _own_cells(session: Session, children: list[Child], year: int, now: dt.datetime) -> None:
    """Each child's own stages, one row per child and stage."""
    by_code = {c.code: c for c in children}
    if not by_code:
        return
    rows = session.execute(select(*_CELL_COLUMNS).where(
        Task.year == year, Task.region_code.in_(list(by_code)))).all()
    for code, content_hash, stage, state, due_at, done_at in rows:
        by_code[code].cells[stage] = _cell(session, content_hash, state, due_at, done_at, now)


def _sums(now: dt.datetime, initial: dict[str, str]) -> list[Any]:
    """Tally's fields, in its order, as sums over counter rows."""
    n, done = ProgressCount.count, ProgressCount.week > 0  # week > 0: done (counters.py)
    past = ProgressCount.due_at <= now
    locked = or_(false(), *(and_(ProgressCount.level == level, ProgressCount.state == state)
                            for level, state in initial.items()))
    return [func.sum(n), func.sum(case((past, n), else_=0)), func.sum(case((done, n), else_=0)),
            func.sum(case((done & past, n), else_=0)),
            func.sum(case((ProgressCount.late, n), else_=0)),
            func.sum(case((past & ~done & ~locked, n), else_=0)),
            func.sum(case((past & locked, n), else_=0))]


def _area_tallies(session: Session, areas: list[str], year: int, now: dt.datetime,
                  initial: dict[str, str]) -> Iterable[tuple[str, str, Tally]]:
    """(area, level, tally) from the counters, summed in the database."""
    if not areas:
        return []
    rows = session.execute(
        select(ProgressCount.area, ProgressCount.level, *_sums(now, initial))
        .where(ProgressCount.year == year, ProgressCount.area.in_(areas))
        .group_by(ProgressCount.area, ProgressCount.level)).all()
    return [(area, level, Tally(*(int(v or 0) for v in values)))
            for area, level, *values in rows]


def _own(session: Session, region: str | None, year: int,
         now: dt.datetime) -> list[tuple[str, Cell]]:
    if region is NATIONAL:
        return []
    rows = session.execute(select(*_CELL_COLUMNS).where(
        Task.year == year, Task.region_code == region).order_by(Task.id)).all()
    return [(stage, _cell(session, h, state, due, done_at, now))
            for _, h, stage, state, due, done_at in rows]


def _bands(session: Session, children: list[Child], year: int,
           levels: dict[str, Definition]) -> None:
    """Each child's class, as the approval of its scoring stage recorded it."""
    d = levels.get(children[0].level) if children else None
    if d is None or d.scoring is None:
        return
    stage = d.scoring.stage
    scored = [c for c in children if stage in c.cells and c.cells[stage].done]
    if not scored:
        return
    tasks = session.execute(select(Task.id, Task.case_id, Task.region_code).where(
        Task.year == year, Task.stage == stage,
        Task.region_code.in_([c.code for c in scored]))).all()
    code_of = {task_id: code for task_id, _, code in tasks}
    events = session.execute(
        select(Event.task_id, Event.payload)
        .where(Event.case_id.in_([case_id for _, case_id, _ in tasks]),
               Event.task_id.in_(list(code_of)), Event.to_state == d.lifecycle.done)
        .order_by(Event.id)).all()
    bands = {}
    for task_id, payload in events:
        if isinstance(payload, dict) and isinstance(payload.get("scoring"), dict):
            bands[code_of[task_id]] = payload["scoring"].get("band")
    for child in scored:
        child.band = bands.get(child.code)


def _rank(children: list[Child]) -> None:
    """Most done of what is due first; then fewer overdue, more on time, then by name."""
    order = sorted(children, key=lambda c: (-c.tally.percent, c.tally.overdue,
                                            -c.tally.on_time, c.name))
    for rank, child in enumerate(order, 1):
        child.rank = rank


def _weeks(session: Session, region: str | None, year: int, now: dt.datetime) -> list[Week]:
    """Cumulative due and done per week of the year, for everything in and below ``region``."""
    due_at: dict[dt.datetime, int] = {}
    done_in: dict[int, int] = {}
    if region is NATIONAL or tier_of(region) <= AREA_TIERS:
        where = [ProgressCount.year == year]
        if region is NATIONAL:
            areas = select(Region.code).where(Region.tier == 1).scalar_subquery()
            where.append(ProgressCount.area.in_(areas))
        else:
            where.append(ProgressCount.area == region)
        for due, n in session.execute(select(ProgressCount.due_at, func.sum(ProgressCount.count))
                                      .where(*where).group_by(ProgressCount.due_at)):
            due_at[due] = due_at.get(due, 0) + int(n or 0)
        for week, n in session.execute(select(ProgressCount.week, func.sum(ProgressCount.count))
                                       .where(*where, ProgressCount.week > 0)
                                       .group_by(ProgressCount.week)):
            done_in[week] = int(n or 0)
    else:  # a region below the counter areas: its own stages
        for due, done_at in session.execute(select(Task.due_at, Task.done_at).where(
                Task.year == year, Task.region_code == region)):
            due_at[due] = due_at.get(due, 0) + 1
            if done_at is not None:
                done_in[week_of(done_at, year)] = done_in.get(week_of(done_at, year), 0) + 1
    due_in: dict[int, int] = {}
    for due, n in due_at.items():
        week = week_of(due, year)
        due_in[week] = due_in.get(week, 0) + n
    last = max([53, *due_in, *done_in])
    weeks, due_sum, done_sum = [], 0, 0
    start = dt.date(year, 1, 1)
    for number in range(1, last + 1):
        due_sum += due_in.get(number, 0)
        done_sum += done_in.get(number, 0)
        weeks.append(Week(number, start + dt.timedelta(days=7 * (number - 1)), due_sum, done_sum))
    return weeks
