"""Who to chase: every stage past its deadline and not done, across a user's regions.

`overdue(session, actor, filters, page)` answers one page of the list with one query
for the rows (ordered by deadline, then id: a stable order for offset paging), one for
the total, and a bounded number of follow-ups for the page: the parts of the stages on
it, the people holding the roles they wait for, and each locked row's blockers.

Two lists, never mixed: *late work* (the stage is open and somebody must act) and
*locked behind* (the stage is still in its lifecycle's initial state: a predecessor
stage or the child regions it waits for are late; `gates.blockers` says which).

Whose turn it is (`waiting_for`) comes from the lifecycle alone: the triggers that
move the stage forward from its state - those whose destination is nearer the done
state - and the roles that may fire them. In a stage split into parts, while the
stage's forward move is a part trigger, each unit's part is judged by its own state:
"Operator (Puskesmas)" and "Verifikator (Setcam)" may both be waited for.

Who may use it (`may_chase`): holders of a supervising role (``supervises: true``) or
of a role that fires the trigger into the done state (the approver); the list covers
the regions where they hold such a role, and everything below them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..definitions import Definition
from ..definitions.model import SYSTEM, RoleRef
from ..forms.entry import part_start_state
from ..people import Actor, can_see, role_region
from ..regions import TIER_NAMES, within_clause
from ..regions.zones import ZONES
from ..store.library import pinned
from ..store.models import Assignment, DefinitionRow, FormPart, Notice, Region, Task, User
from .gates import Blocker, blockers

PER_PAGE = 50
MAX_PER_PAGE = 500
NUDGE = "nudge"  # the kind of a notice and event "Ingatkan" writes (runtime/nudges.py)


def day_key(now: dt.datetime, zone: str) -> int:
    """The local day of ``now`` in ``zone`` as a number (20270115): Ingatkan's once-a-day key."""
    return int(now.astimezone(ZoneInfo(zone)).strftime("%Y%m%d"))


@dataclass(frozen=True)
class Filters:
    """What to list. ``area``: a region subtree (within the user's); ``min_days``: at
    least so many calendar days late; ``unit``: stages whose part of that unit is
    waited for; ``locked``: the stages locked behind late ones instead of late work."""

    year: int
    area: str | None = None
    level: str | None = None
    stage: str | None = None
    state: str | None = None
    min_days: int = 1
    unit: str | None = None
    locked: bool = False


@dataclass(frozen=True)
class Holder:
    username: str
    display_name: str


@dataclass
class Waiting:
    """One role (of one unit's part) the stage waits for, where it is held, and by whom."""

    role: str
    role_name: str
    region_code: str
    level: str | None  # the role's level (None: the stage's own)
    unit: str | None = None
    holders: list[Holder] = field(default_factory=list)


@dataclass
class OverdueRow:
    task_id: int
    year: int
    region_code: str
    region_name: str
    parent_code: str | None
    parent_name: str | None
    timezone: str
    level: str
    level_name: str
    stage: str
    stage_name: str
    state: str
    state_name: str
    due_at: dt.datetime
    days_late: int
    waiting: list[Waiting] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    nudged_today: bool = False  # "Ingatkan" was pressed today (the region's day)

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year, "region": self.region_code, "region_name": self.region_name,
            "parent": self.parent_code, "parent_name": self.parent_name, "level": self.level,
            "level_name": self.level_name, "stage": self.stage, "stage_name": self.stage_name,
            "state": self.state, "state_name": self.state_name,
            "due_at": self.due_at.isoformat(), "timezone": self.timezone,
            "days_late": self.days_late, "nudged_today": self.nudged_today,
            "waiting_for": [{"role": w.role, "role_name": w.role_name, "region": w.region_code,
                             "level": w.level, "unit": w.unit,
                             "holders": [{"username": h.username, "display_name": h.display_name}
                                         for h in w.holders]} for w in self.waiting],
            "blockers": [b.as_dict() for b in self.blockers]}


@dataclass
class OverduePage:
    rows: list[OverdueRow]
    total: int  # rows matching the filters, all pages
    page: int
    per_page: int
    other_total: int  # the other list's total (locked when this is late work, and back)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def as_dict(self) -> dict[str, Any]:
        """The page as JSON (for the API): ids and names, ISO 8601 times, blockers as
        `Blocker.as_dict` gives them."""
        return {"total": self.total, "page": self.page, "per_page": self.per_page,
                "pages": self.pages, "other_total": self.other_total,
                "rows": [row.as_dict() for row in self.rows]}


# -- who may chase, and where --------------------------------------------------------------

def stored(session: Session) -> dict[str, Definition]:
    """Content hash -> definition, for every definition stored (a handful)."""
    return {h: pinned(session, h) for h in session.scalars(select(DefinitionRow.content_hash))}


def chasing_roles(definitions: dict[str, Definition]) -> set[tuple[str, str]]:
    """(level, role) pairs that supervise, or approve (fire the trigger into done)."""
    found: set[tuple[str, str]] = set()
    for d in definitions.values():
        found |= {(d.level, r.id) for r in d.roles.values() if r.supervises}
        lc = d.lifecycle
        found |= {(d.level, ref.role) for s in d.stages for t in s.triggers.values()
                  if t.dest == lc.done
                  for ref in t.by if ref.level is None and ref.role != SYSTEM}
    return found


def chase_areas(session: Session, actor: Actor) -> list[str]:
    """The regions whose subtree ``actor`` may chase in (none: no access), outermost only."""
    if not actor.active:
        return []
    roles = chasing_roles(stored(session))
    codes = sorted({a.region_code for a in actor.assignments if (a.level, a.role) in roles})
    return [c for c in codes if not any(c != o and c.startswith(o + ".") for o in codes)]


def may_chase(session: Session, actor: Actor) -> bool:
    return bool(chase_areas(session, actor))


def may_chase_in(session: Session, actor: Actor, region_code: str) -> bool:
    return any(region_code == a or region_code.startswith(a + ".")
               for a in chase_areas(session, actor)) and can_see(actor, region_code)


# -- whose turn it is ------------------------------------------------------------------------

def _distances(definition: Definition) -> dict[str, int]:
    """Each state's number of moves from the done state (unreachable states: absent)."""
    lc = definition.lifecycle
    dist = {lc.done: 0}
    frontier = [lc.done]
    while frontier:
        nxt = []
        for t in lc.triggers.values():
            for src in t.sources:
                if t.dest in frontier and src not in dist:
                    dist[src] = dist[t.dest] + 1
                    nxt.append(src)
        frontier = nxt
    return dist


def forward_triggers(definition: Definition, state: str, stage: str | None = None
                     ) -> list[Any]:
    """The triggers a person fires that bring ``state`` nearer the done state; with
    ``stage``, as that stage has them (its own `by`)."""
    dist = _distances(definition)
    here = dist.get(state)
    triggers = definition.triggers(stage) if stage else definition.lifecycle.triggers
    return [t for t in triggers.values()
            if state in t.sources and here is not None and dist.get(t.dest, here) < here
            and any(ref.role != SYSTEM for ref in t.by)]


def _roles_of(definition: Definition, triggers: list[Any]) -> list[RoleRef]:
    seen: list[RoleRef] = []
    for t in triggers:
        for ref in t.by:
            if ref.role != SYSTEM and ref not in seen:
                seen.append(ref)
    return seen


def waiting_for(definitions: dict[str, Definition], task: Any, part_states: dict[str, str]
                ) -> list[Waiting]:
    """Whose turn it is on ``task`` (see the module doc). ``definitions``: `stored`;
    ``part_states``: unit -> state of the parts that have a row."""
    definition = definitions[task.definition_hash]
    tiers = {d.level: d.tier for d in definitions.values()}
    level_names = {(d.level, r.id): r.name for d in definitions.values()
                   for r in d.roles.values()}
    stage = definition.stage(task.stage)
    forward = forward_triggers(definition, task.state, task.stage)
    lc = definition.lifecycle
    part_triggers = set(lc.parts_all) | set(lc.parts_any)
    out: list[Waiting] = []
    if stage.parts and forward and all(t.id in part_triggers for t in forward):
        start = part_start_state(definition)
        for unit in stage.parts:
            moves = [t for t in forward_triggers(definition, part_states.get(unit, start),
                                                 task.stage)
                     if t.id in part_triggers]
            out += _waiting(definition, task, _roles_of(definition, moves), tiers, level_names,
                            unit=unit)
        return out
    return _waiting(definition, task, _roles_of(definition, forward), tiers, level_names)


def _waiting(definition: Definition, task: Any, refs: list[RoleRef], tiers: dict[str, int],
             level_names: dict[tuple[str | None, str], str], *, unit: str | None = None
             ) -> list[Waiting]:
    out = []
    for ref in refs:
        region = role_region(ref, task.region_code, tiers)
        if region is None:
            continue
        role_level = task.level if ref.level is None else ref.level
        if ref.level is None:
            name = definition.roles[ref.role].name if ref.role in definition.roles else ref.role
        else:
            name = level_names.get((ref.level, ref.role), ref.role)
        out.append(Waiting(ref.role, name, region, None if ref.level is None else role_level,
                           unit))
    return out


# -- the list ----------------------------------------------------------------------------------

def _zone_cutoffs(now: dt.datetime, min_days: int) -> dict[str, dt.datetime]:
    """Per zone: a deadline before this moment is at least ``min_days`` calendar days late
    (the due day is at least ``min_days`` days before today in that zone)."""
    out = {}
    for zone in ZONES:
        tz = ZoneInfo(zone)
        day = now.astimezone(tz).date() - dt.timedelta(days=min_days - 1)
        out[zone] = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.timezone.utc)
    return out


def days_late(due: dt.datetime, zone: str, now: dt.datetime) -> int:
    """Calendar days from the due day to today, in ``zone``."""
    tz = ZoneInfo(zone)
    return (now.astimezone(tz).date() - due.astimezone(tz).date()).days


def _unit_clause(definitions: dict[str, Definition], unit: str):
    """Tasks with a part of ``unit`` still to be moved forward (no row yet, or a state a
    part trigger moves on from)."""
    part = aliased(FormPart)
    clauses = []
    for h, d in definitions.items():
        stages = [s.id for s in d.stages if unit in s.parts]
        if not stages:
            continue
        lc = d.lifecycle
        part_triggers = set(lc.parts_all) | set(lc.parts_any)
        moving = [s for s in lc.states
                  if any(t.id in part_triggers for t in forward_triggers(d, s))]
        pending = select(part.id).where(part.task_id == Task.id, part.unit == unit,
                                        part.state.not_in(moving))
        clauses.append(and_(Task.definition_hash == h, Task.stage.in_(stages),
                            Task.state != lc.initial, ~pending.exists()))
    return or_(*clauses) if clauses else false()


def _where(definitions: dict[str, Definition], areas: list[str], f: Filters,
           now: dt.datetime) -> list[Any]:
    wanted = []
    for h, d in definitions.items():
        lc = d.lifecycle
        wanted.append(and_(Task.definition_hash == h,
                           Task.state == lc.initial if f.locked
                           else and_(Task.state != lc.initial, Task.state != lc.done)))
    cutoffs = _zone_cutoffs(now, max(f.min_days, 1))
    where = [Task.year == f.year, or_(*wanted) if wanted else false(),
             or_(*(and_(Region.timezone == z, Task.due_at < c) for z, c in cutoffs.items())),
             or_(*(within_clause(Task.region_code, a) for a in areas))]
    if f.area:
        where.append(within_clause(Task.region_code, f.area))
    if f.level:
        where.append(Task.level == f.level)
    if f.stage:
        where.append(Task.stage == f.stage)
    if f.state:
        where.append(Task.state == f.state)
    if f.unit and not f.locked:
        where.append(_unit_clause(definitions, f.unit))
    return where


def _count(session: Session, where: list[Any]) -> int:
    return session.scalar(select(func.count()).select_from(Task)
                          .join(Region, Region.code == Task.region_code).where(*where)) or 0


def overdue(session: Session, actor: Actor, filters: Filters, page: int = 1,
            per_page: int = PER_PAGE, now: dt.datetime | None = None) -> OverduePage:
    """One page of the overdue list ``actor`` may see (empty when they may not chase, or
    ``filters.area`` lies outside their regions)."""
    from ..clock import utcnow

    now = now or utcnow()
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
    areas = chase_areas(session, actor)
    if filters.area and not any(filters.area == a or filters.area.startswith(a + ".")
                                for a in areas):
        areas = []
    if not areas:
        return OverduePage([], 0, page, per_page, 0)
    definitions = stored(session)
    where = _where(definitions, areas, filters, now)
    other = dataclasses.replace(filters, locked=not filters.locked)  # the other list
    parent = aliased(Region)
    rows = session.execute(
        select(Task.id, Task.year, Task.region_code, Region.name, Region.timezone,
               Task.parent_code, parent.name.label("parent_name"), Task.level, Task.stage,
               Task.state, Task.due_at, Task.definition_hash, Task.case_id, Task.opens_at)
        .join(Region, Region.code == Task.region_code)
        .outerjoin(parent, parent.code == Task.parent_code)
        .where(*where).order_by(Task.due_at, Task.id)
        .offset((page - 1) * per_page).limit(per_page)).all()
    result = OverduePage([], _count(session, where), page, per_page,
                         _count(session, _where(definitions, areas, other, now)))
    result.rows = [_row(definitions, r, now) for r in rows]
    if filters.locked:
        _add_blockers(session, definitions, rows, result.rows, now)
    else:
        _add_waiting(session, definitions, rows, result.rows)
        _add_nudged(session, result.rows, now)
    return result


def _add_nudged(session: Session, out: list[OverdueRow], now: dt.datetime) -> None:
    """Mark the rows reminded today with "Ingatkan": one query for the page."""
    if not out:
        return
    keys = {day_key(now, row.timezone) for row in out}
    done = set(session.execute(select(Notice.task_id, Notice.rule).where(
        Notice.task_id.in_([row.task_id for row in out]), Notice.kind == NUDGE,
        Notice.rule.in_(keys))).all())
    for row in out:
        row.nudged_today = (row.task_id, day_key(now, row.timezone)) in done


def _row(definitions: dict[str, Definition], r: Any, now: dt.datetime) -> OverdueRow:
    d = definitions[r.definition_hash]
    state = d.lifecycle.states.get(r.state)
    return OverdueRow(
        task_id=r.id, year=r.year, region_code=r.region_code, region_name=r.name,
        parent_code=r.parent_code, parent_name=r.parent_name, timezone=r.timezone,
        level=r.level, level_name=TIER_NAMES.get(d.tier, d.level), stage=r.stage,
        stage_name=d.stage(r.stage).name, state=r.state,
        state_name=state.name if state else r.state, due_at=r.due_at,
        days_late=days_late(r.due_at, r.timezone, now))


def _add_blockers(session: Session, definitions: dict[str, Definition], rows: list[Any],
                  out: list[OverdueRow], now: dt.datetime) -> None:
    for r, row in zip(rows, out):
        row.blockers = blockers(session, r, definitions[r.definition_hash], now)


def _add_waiting(session: Session, definitions: dict[str, Definition], rows: list[Any],
                 out: list[OverdueRow]) -> None:
    """Whose turn, and who holds those roles: two queries for the page."""
    with_parts = [r.id for r in rows if definitions[r.definition_hash].stage(r.stage).parts]
    parts: dict[int, dict[str, str]] = {}
    if with_parts:
        for task_id, unit, state in session.execute(
                select(FormPart.task_id, FormPart.unit, FormPart.state)
                .where(FormPart.task_id.in_(with_parts))):
            parts.setdefault(task_id, {})[unit] = state
    for r, row in zip(rows, out):
        row.waiting = waiting_for(definitions, r, parts.get(r.id, {}))
    attach_holders(session, [w for row in out for w in row.waiting])


def attach_holders(session: Session, waiting: list[Waiting]) -> None:
    """Fill each `Waiting`'s holders: the active users with that role there (and unit)."""
    pairs = {(w.role, w.region_code) for w in waiting}
    if not pairs:
        return
    found = session.execute(
        select(Assignment.role, Assignment.region_code, Assignment.unit, User.username,
               User.display_name)
        .join(User, User.id == Assignment.user_id)
        .where(User.active, or_(*(and_(Assignment.role == role, Assignment.region_code == code)
                                  for role, code in pairs)))
        .order_by(User.username)).all()
    for w in waiting:
        w.holders = [Holder(u, n or u) for role, code, unit, u, n in found
                     if role == w.role and code == w.region_code
                     and (w.unit is None or unit in (None, w.unit))]


# -- what keeps a stage locked, followed down -------------------------------------------------

MAX_DEPTH = 4  # provinsi -> kab/kota -> kecamatan, and a predecessor on the way
MAX_CHILDREN = 200


@dataclass
class Behind:
    """A stage that holds another one up: where, how it stands, and what holds it."""

    year: int
    region_code: str
    region_name: str
    level: str
    stage: str
    state: str | None  # None: no case for the region
    due_at: dt.datetime | None
    timezone: str
    days_late: int | None  # None: not (yet) late
    locked: bool
    blockers: list["Hold"] = field(default_factory=list)
    task_id: int | None = None
    definition_hash: str | None = None
    waiting: list[Waiting] = field(default_factory=list)  # whose turn, if open and not done


@dataclass
class Hold:
    """One `Blocker` of a stage, with the stages behind it."""

    blocker: Blocker
    behind: list[Behind] = field(default_factory=list)


def blocker_tree(session: Session, task: Any, now: dt.datetime | None = None,
                 depth: int = MAX_DEPTH) -> list[Hold]:
    """Why ``task`` is locked, and for each predecessor or child stage holding it that is
    itself locked, why that one is, down to ``depth`` levels (one gate evaluation per
    locked stage shown; at most `MAX_CHILDREN` children per blocker)."""
    from ..clock import utcnow

    now = now or utcnow()
    definitions = stored(session)
    d = definitions[task.definition_hash]
    holds = []
    for b in blockers(session, task, d, now, detail=True):
        hold = Hold(b)
        if b.kind == "after":
            hold.behind = _behind(session, definitions, task.year, d.level, b.stage,
                                  [task.region_code], now, depth)
        elif b.kind == "waits_for":
            hold.behind = _behind(session, definitions, task.year, b.level, b.stage,
                                  [c.code for c in b.children[:MAX_CHILDREN]], now, depth)
        holds.append(hold)
    _whose_turn(session, definitions, holds)
    return holds


def _whose_turn(session: Session, definitions: dict[str, Definition], holds: list[Hold]) -> None:
    """Whose turn it is in every open, unfinished stage of the tree: two queries in all."""
    open_nodes: list[Behind] = []

    def walk(items: list[Hold]) -> None:
        for hold in items:
            for node in hold.behind:
                d = definitions.get(node.definition_hash or "")
                if d and node.state not in (None, d.lifecycle.initial, d.lifecycle.done):
                    open_nodes.append(node)
                walk(node.blockers)

    walk(holds)
    if not open_nodes:
        return
    parts: dict[int, dict[str, str]] = {}
    for task_id, unit, state in session.execute(
            select(FormPart.task_id, FormPart.unit, FormPart.state)
            .where(FormPart.task_id.in_([n.task_id for n in open_nodes]))):
        parts.setdefault(task_id, {})[unit] = state
    for node in open_nodes:
        node.waiting = waiting_for(definitions, node, parts.get(node.task_id, {}))
    attach_holders(session, [w for n in open_nodes for w in n.waiting])



def _behind(session: Session, definitions: dict[str, Definition], year: int, level: str,
            stage: str, codes: list[str], now: dt.datetime, depth: int) -> list[Behind]:
    if not codes:
        return []
    rows = {r.region_code: r for r in session.execute(
        select(Task.id, Task.case_id, Task.year, Task.region_code, Task.level, Task.stage,
               Task.state, Task.due_at, Task.opens_at, Task.definition_hash)
        .where(Task.year == year, Task.stage == stage, Task.region_code.in_(codes)))}
    places = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
                  .all())
    out = []
    for code in codes:
        r = rows.get(code)
        zone = _zone(code)
        if r is None:
            out.append(Behind(year, code, places.get(code, code), level, stage, None, None, zone,
                              None, False))
            continue
        d = definitions[r.definition_hash]
        late = days_late(r.due_at, zone, now) if r.due_at < now else None
        node = Behind(year, code, places.get(code, code), r.level, stage, r.state, r.due_at,
                      zone, late if r.state != d.lifecycle.done else None,
                      r.state == d.lifecycle.initial, task_id=r.id,
                      definition_hash=r.definition_hash)
        if node.locked and depth > 1:
            node.blockers = [Hold(b, _behind(
                session, definitions, year, d.level if b.kind == "after" else b.level, b.stage,
                [code] if b.kind == "after" else [c.code for c in b.children[:MAX_CHILDREN]],
                now, depth - 1) if b.kind != "opens" else [])
                for b in blockers(session, r, d, now, detail=True)]
        out.append(node)
    return out


def _zone(code: str) -> str:
    from ..regions.zones import zone_of

    return zone_of(code)
