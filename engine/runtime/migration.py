"""Moving running cases to the definition now on disk (``aksi year migrate``).

A case pins the definition it was started with (``Case.definition_hash``); editing the
YAML changes nothing running until the year is migrated. `plan` compares each case's
pinned definition with the one on disk, stage by stage, and says what would change:
a stage added (locked or open by its gate), a stage removed, a stage renamed, a state
mapped, a deadline or opening day moved (with the reminders that move along), the
roles of a trigger changed. `apply` carries the plan out one case per transaction,
re-planned inside it, with a ``case_migrated`` event, and re-pins the case.

What the definition's ``migrate:`` block says (``states: {old: new}``, ``stages:
{old: new}``) is how states and stages that no longer exist are carried over. The
migration refuses, and changes nothing, when any case holds a state that neither
exists nor is mapped, or a removed stage that holds data (a state past its opening,
a saved part, an uploaded file): a stage with data is never silently dropped.

Decisions (docs/definition-format.md, "Migrating running cases"):

- A deadline a supervisor extended (the task's deadline differs from its stage's due
  day under the pinned definition) is kept unless the new definition's deadline is
  later still: a migration never takes time a supervisor gave.
- A stage already done keeps its deadline: whether it was done on time was judged on it.
- Tasks are written through `task_rows.move`, the optimistic-lock write of every action,
  so an action racing a migration either lands first (the migration re-plans the case)
  or finds the stage changed (`Conflict`); no update is lost.
- Gates are re-evaluated afterwards for every stage still locked; an open stage whose
  new gate would not hold stays open.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace
from typing import Any, Callable

from sqlalchemy import delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from ..clock import due_at, opens_at, utcnow
from ..definitions import Definition, DefinitionSet, Stage
from ..errors import Conflict, MigrationRefused
from ..regions import within_clause
from ..regions.zones import spoken_moment
from ..store import events, task_rows
from ..store.library import pin, pinned
from ..store.models import (
    AttachmentUse, Case, Event, FormPart, FormRollup, Notice, Region, Task,
)
from . import counters, gates, notices

_TASKS = Task.__table__
RETRIES = 5  # a case re-planned after an action landed first


@functools.lru_cache(maxsize=64)  # definitions are immutable; the snapshot holds the forms too
def mapping(definition: Definition) -> dict[str, dict[str, str]]:
    """The definition's ``migrate:`` block: {"states": {old: new}, "stages": {old: new}}
    (read-only: shared by every caller)."""
    block = json.loads(definition.snapshot)["definition"].get("migrate") or {}
    return {"states": dict(block.get("states") or {}), "stages": dict(block.get("stages") or {})}


def trigger_roles(definition: Definition, stage_id: str) -> dict[str, tuple[str, ...]]:
    """Trigger id -> the roles that may fire it on ``stage_id``, as the model exposes them
    (the one place a migration compares roles)."""
    return {t.id: tuple(sorted(map(str, t.by))) for t in definition.triggers(stage_id).values()}


@dataclass
class Change:
    """One line of a case's plan."""

    kind: str  # stage_added|stage_removed|stage_renamed|state_mapped|deadline_moved|
    #            deadline_kept|opens_moved|notices_changed|roles_changed
    stage: str
    detail: dict[str, Any] = field(default_factory=dict)

    def words(self) -> str:
        """The line in Bahasa Indonesia, for the policy owners who read the plan."""
        return _WORDS[self.kind](self.stage, self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "words": self.words()}


def _when(value: str, zone: str) -> str:
    return spoken_moment(dt.datetime.fromisoformat(value), zone)


def _notices_words(d: dict) -> str:
    items = d.get("notices") or []
    if not items:
        return "tidak ada pengingat/eskalasi yang masih akan datang"
    return "pengingat/eskalasi ikut pindah: " + "; ".join(
        f"{'pengingat' if n['kind'] == notices.REMINDER else 'eskalasi'} "
        f"{_when(n['fire_at'], d['zone'])}" for n in items)


_WORDS: dict[str, Callable[[str, dict], str]] = {
    "stage_added": lambda s, d: (
        f"tahap '{s}' ditambahkan: " + ("langsung dibuka oleh gerbangnya" if d["opens"]
                                         else "terkunci (" + "; ".join(d["blockers"]) + ")")
        + f", tenggat {_when(d['due_at'], d['zone'])}"),
    "stage_removed": lambda s, d: f"tahap '{s}' dihapus (belum berisi data; status '{d['state']}')",
    "stage_renamed": lambda s, d: f"tahap '{d['from']}' menjadi '{s}' (datanya ikut)",
    "state_mapped": lambda s, d: (
        f"tahap '{s}': status '{d['from']}' tidak ada lagi, menjadi '{d['to']}'"),
    "deadline_moved": lambda s, d: (
        f"tahap '{s}': tenggat dipindah dari {_when(d['from'], d['zone'])} ke "
        f"{_when(d['to'], d['zone'])}; " + _notices_words(d)),
    "deadline_kept": lambda s, d: (
        f"tahap '{s}': tenggat {_when(d['kept'], d['zone'])} tetap ("
        + ("sudah selesai" if d["why"] == "done" else "perpanjangan pengawas lebih lama")
        + f"; tenggat definisi baru {_when(d['definition'], d['zone'])})"),
    "opens_moved": lambda s, d: (
        f"tahap '{s}': tanggal buka dipindah dari {_when(d['from'], d['zone'])} ke "
        f"{_when(d['to'], d['zone'])}"),
    "notices_changed": lambda s, d: f"tahap '{s}': aturan pengingat/eskalasi berubah; "
                                    + _notices_words(d),
    "roles_changed": lambda s, d: "; ".join(
        f"tahap '{s}': pemicu '{t}' kini oleh {', '.join(r['to']) or '-'} "
        f"(sebelumnya {', '.join(r['from']) or '-'})" for t, r in d["triggers"].items()),
}


@dataclass
class CasePlan:
    case_id: int
    region_code: str
    level: str
    year: int
    from_hash: str
    to_hash: str
    changes: list[Change] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "region": self.region_code, "level": self.level,
                "year": self.year, "from": self.from_hash, "to": self.to_hash,
                "changes": [c.as_dict() for c in self.changes], "refusals": self.refusals}


@dataclass
class MigrationReport:
    year: int
    plans: list[CasePlan] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)  # region codes migrated
    dry_run: bool = True

    @property
    def refusals(self) -> list[str]:
        return [f"{p.region_code} ({p.level}): {r}" for p in self.plans for r in p.refusals]

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "dry_run": self.dry_run, "cases": len(self.plans),
                "applied": self.applied, "refusals": self.refusals,
                "plans": [p.as_dict() for p in self.plans]}


@dataclass
class _Target:
    """What one task of a case becomes."""

    task: Any  # the tasks row (None for a stage added)
    stage: Stage | None  # the new definition's stage (None: removed)
    state: str | None = None
    due: dt.datetime | None = None
    opens: dt.datetime | None = None
    done_at: dt.datetime | None = None
    reschedule: bool = False


def _cases(session: Session, definitions: DefinitionSet, year: int, level: str | None,
           region: str | None) -> list[Any]:
    query = (select(Case.id, Case.level, Case.region_code, Case.year, Case.definition_hash,
                    Region.timezone).join(Region, Region.code == Case.region_code)
             .where(Case.year == year, Case.level.in_(
                 [level] if level else list(definitions.definitions))))
    if region:
        query = query.where(within_clause(Case.region_code, region))
    rows = session.execute(query).all()
    tiers = {d.level: d.tier for d in definitions}
    return sorted((r for r in rows if r.definition_hash != definitions[r.level].content_hash),
                  key=lambda r: (-tiers[r.level], r.region_code))  # children first


def plan(session: Session, definitions: DefinitionSet, year: int, *, level: str | None = None,
         region: str | None = None, now: dt.datetime | None = None) -> MigrationReport:
    """What migrating ``year`` (one level, the regions within ``region``) would change."""
    now = now or utcnow()
    report = MigrationReport(year)
    for case in _cases(session, definitions, year, level, region):
        report.plans.append(plan_case(session, case, definitions[case.level], now)[0])
    return report


def _tasks(session: Session, case_id: int) -> list[Any]:
    return session.execute(select(_TASKS).where(_TASKS.c.case_id == case_id)
                           .order_by(_TASKS.c.id)).all()


def _has_data(session: Session, task: Any, old: Definition) -> bool:
    lc = old.lifecycle
    if task.state not in (lc.initial, lc.triggers[lc.opens_with].dest):
        return True
    return bool(session.scalar(select(or_(
        exists().where(FormPart.task_id == task.id),
        exists().where(AttachmentUse.task_id == task.id)))))


def plan_case(session: Session, case: Any, new: Definition,
              now: dt.datetime) -> tuple[CasePlan, list[_Target]]:
    """The plan of one case (``case``: id, level, region_code, year, definition_hash,
    timezone) and the targets `apply` writes."""
    old = pinned(session, case.definition_hash)
    result = CasePlan(case.id, case.region_code, case.level, case.year, old.content_hash,
                      new.content_hash)
    moves = mapping(new)
    new_ids = {s.id for s in new.stages}
    targets: list[_Target] = []
    taken: dict[str, str] = {}
    for task in _tasks(session, case.id):
        goes_to = task.stage if task.stage in new_ids else moves["stages"].get(task.stage)
        if goes_to is None:
            if _has_data(session, task, old):
                result.refusals.append(
                    f"tahap '{task.stage}' dihapus dari definisi tetapi berisi data (status "
                    f"'{task.state}'): petakan di 'migrate.stages' ke tahap yang baru")
            else:
                result.changes.append(Change("stage_removed", task.stage, {"state": task.state}))
                targets.append(_Target(task, None))
            continue
        if goes_to in taken:
            result.refusals.append(f"tahap '{task.stage}' dan '{taken[goes_to]}' sama-sama "
                                   f"dipetakan ke '{goes_to}'")
            continue
        taken[goes_to] = task.stage
        targets.append(_existing(session, result, task, old, new, new.stage(goes_to), moves,
                                 case.timezone, now))
    for stage in new.stages:
        if stage.id not in taken:
            targets.append(_added(result, stage, new, case, now))
    _judge_gates(session, result, targets, new, case, now)
    return result, targets


def _state(result: CasePlan, task: Any, stage: str, state: str, new: Definition,
           moves: dict) -> str:
    if state in new.lifecycle.states:
        return state
    mapped = moves["states"].get(state)
    if mapped not in new.lifecycle.states:
        result.refusals.append(f"tahap '{stage}': status '{state}' tidak ada lagi dan tidak "
                               "dipetakan di 'migrate.states'")
        return state
    return mapped


def _existing(session: Session, result: CasePlan, task: Any, old: Definition, new: Definition,
              stage: Stage, moves: dict, zone: str, now: dt.datetime) -> _Target:
    was = old.stage(task.stage)
    if stage.id != task.stage:
        result.changes.append(Change("stage_renamed", stage.id, {"from": task.stage}))
    state = _state(result, task, stage.id, task.state, new, moves)
    if state != task.state:
        result.changes.append(Change("state_mapped", stage.id, {"from": task.state, "to": state}))
    for part_state in session.scalars(select(FormPart.state).where(
            FormPart.task_id == task.id, FormPart.state.is_not(None)).distinct()):
        _state(result, task, stage.id, part_state, new, moves)
    done = state == new.lifecycle.done
    target = _Target(task, stage, state=state, due=task.due_at, opens=task.opens_at,
                     done_at=(task.done_at or now) if done else None)
    _deadline(result, target, was, zone, done, now)
    if not (done or target.reschedule) and _rules(was) != _rules(stage):
        target.reschedule = True
        result.changes.append(Change("notices_changed", stage.id, {
            "zone": zone, "notices": _coming(stage, target.due, now)}))
    if task.state == old.lifecycle.initial:
        new_opens = opens_at(stage.opens, task.year, zone)
        if new_opens != task.opens_at:
            target.opens = new_opens
            result.changes.append(Change("opens_moved", stage.id, {
                "zone": zone, "from": task.opens_at.isoformat(), "to": new_opens.isoformat()}))
    roles = _roles_diff(old, new, task.stage, stage.id)
    if roles:
        result.changes.append(Change("roles_changed", stage.id, {"triggers": roles}))
    return target


def _rules(stage: Stage) -> tuple:
    return (stage.reminders, stage.escalations)


def _deadline(result: CasePlan, target: _Target, was: Stage, zone: str, done: bool,
              now: dt.datetime) -> None:
    """Where the deadline goes: the new due day, unless the stage is done or a supervisor's
    extension reaches further."""
    task, stage = target.task, target.stage
    defined = due_at(stage.due, task.year, zone, stage.roll)
    if defined == task.due_at:
        return
    extended = task.due_at != due_at(was.due, task.year, zone, was.roll)
    if done or (extended and task.due_at > defined):
        result.changes.append(Change("deadline_kept", stage.id, {
            "zone": zone, "kept": task.due_at.isoformat(), "definition": defined.isoformat(),
            "why": "done" if done else "extended"}))
        return
    target.due, target.reschedule = defined, True
    result.changes.append(Change("deadline_moved", stage.id, {
        "zone": zone, "from": task.due_at.isoformat(), "to": defined.isoformat(),
        "extended": extended, "notices": _coming(stage, defined, now)}))


def _coming(stage: Stage, due: dt.datetime, now: dt.datetime) -> list[dict]:
    """The notices of ``stage`` still to come for deadline ``due``."""
    return [{"kind": kind, "days": days, "fire_at": at.isoformat()}
            for kind, _rule, days in notices.sequence(stage)
            if (at := notices.fire_moment(kind, days, due)) > now]


def _roles_diff(old: Definition, new: Definition, old_stage: str, new_stage: str) -> dict:
    before, after = trigger_roles(old, old_stage), trigger_roles(new, new_stage)
    return {t: {"from": list(before.get(t, ())), "to": list(after.get(t, ()))}
            for t in sorted(set(before) | set(after)) if before.get(t) != after.get(t)}


def _added(result: CasePlan, stage: Stage, new: Definition, case: Any,
           now: dt.datetime) -> _Target:
    zone = case.timezone
    due = due_at(stage.due, case.year, zone, stage.roll)
    target = _Target(None, stage, state=new.lifecycle.initial, due=due,
                     opens=opens_at(stage.opens, case.year, zone), reschedule=True)
    result.changes.append(Change("stage_added", stage.id, {
        "zone": zone, "due_at": due.isoformat(), "opens": False, "blockers": []}))
    return target


def _judge_gates(session: Session, result: CasePlan, targets: list[_Target], new: Definition,
                 case: Any, now: dt.datetime) -> None:
    """Say of each stage added whether its gate opens it (the gate as after migration)."""
    states = {t.stage.id: t.state for t in targets if t.stage is not None}
    for change in result.changes:
        if change.kind != "stage_added":
            continue
        target = next(t for t in targets if t.stage is not None and t.stage.id == change.stage)
        probe = SimpleNamespace(stage=change.stage, case_id=case.id, opens_at=target.opens,
                                region_code=case.region_code, year=case.year)
        found = gates.blockers(session, probe, new, now, case_states=states)
        change.detail["opens"] = not found
        change.detail["blockers"] = [b.message for b in found]


def migrate(db: Any, definitions: DefinitionSet, year: int, *, level: str | None = None,
            region: str | None = None, dry_run: bool = False,
            now: dt.datetime | None = None) -> MigrationReport:
    """Plan, and unless ``dry_run`` apply, the migration of ``year``.

    Refuses (`MigrationRefused`, nothing changed) when any case's plan does. Otherwise
    each case is applied in its own transaction, re-planned there; a case an action
    changed meanwhile is re-planned and tried again. A case whose re-plan refuses (data
    saved on a stage being removed since the plan) stops the run with `MigrationRefused`:
    the cases before it stay migrated, and running again goes on from it. Idempotent: a
    migrated case pins the definition on disk and is not planned again.
    """
    now = now or utcnow()
    with db.session() as session:
        report = plan(session, definitions, year, level=level, region=region, now=now)
    if report.refusals:
        raise MigrationRefused(
            f"migrasi tahun {year} ditolak: {len(report.refusals)} masalah; tidak ada yang "
            "diubah", problems=report.refusals, year=year)
    report.dry_run = dry_run
    if dry_run:
        return report
    for case_plan in report.plans:
        if _apply_with_retries(db, definitions[case_plan.level], case_plan.case_id, now):
            report.applied.append(case_plan.region_code)
    return report


def _apply_with_retries(db: Any, new: Definition, case_id: int, now: dt.datetime) -> bool:
    for attempt in range(RETRIES):
        try:
            with db.session() as session:
                return apply_case(session, new, case_id, now)
        except Conflict:
            if attempt == RETRIES - 1:
                raise
    return False


def apply_case(session: Session, new: Definition, case_id: int, now: dt.datetime) -> bool:
    """Migrate one case in the caller's transaction; False when it already pins ``new``.
    Raises `MigrationRefused` or `Conflict` having changed nothing the caller keeps."""
    case = session.execute(
        select(Case.id, Case.level, Case.region_code, Case.year, Case.definition_hash,
               Region.timezone).join(Region, Region.code == Case.region_code)
        .where(Case.id == case_id)).one()
    if case.definition_hash == new.content_hash:
        return False
    case_plan, targets = plan_case(session, case, new, now)
    if case_plan.refusals:
        raise MigrationRefused(f"migrasi {case.region_code} ditolak",
                               problems=case_plan.refusals, region=case.region_code)
    pin(session, new, now)
    old = pinned(session, case.definition_hash)
    for target in targets:
        if target.task is not None and target.stage is None:
            _remove(session, target.task, old, now)
    for target in targets:
        if target.task is not None and target.stage is not None:
            _rewrite(session, target, new, old, now)
    for target in targets:
        if target.task is None:
            _add(session, target, new, case, now)
    session.execute(update(Case).where(Case.id == case.id)
                    .values(definition_hash=new.content_hash))
    events.record(session, "case_migrated", actor=events.SYSTEM_ACTOR, at=now, case_id=case.id,
                  region_code=case.region_code, level=case.level, year=case.year,
                  payload={"from": old.content_hash, "to": new.content_hash,
                           "version": new.version,
                           "changes": [c.as_dict() for c in case_plan.changes]})
    _reopen_gates(session, new, case.id, now)
    return True


_CONFLICT = "tahap ini baru saja diubah orang lain; rencana migrasi disusun ulang"


def _context(task: Any) -> dict:
    return {"region": task.region_code, "stage": task.stage, "year": task.year}


def _remove(session: Session, task: Any, old: Definition, now: dt.datetime) -> None:
    """A removed stage with no data: its task goes; its history stays in the case's events
    (by stage name, no longer by task)."""
    task_rows.move(session, task, state=task.state, now=now, conflict=_CONFLICT)
    if _has_data(session, task, old):  # saved while planned: the row is ours only now
        raise Conflict("tahap yang akan dihapus baru saja diisi; rencana disusun ulang",
                       **_context(task))
    counters.retallied(session, task, None)
    session.execute(update(Event).where(Event.task_id == task.id).values(task_id=None))
    for table in (Notice, FormRollup):
        session.execute(delete(table).where(table.task_id == task.id))
    session.execute(delete(Task).where(Task.id == task.id))


def _waits_on(stage: Stage) -> str | None:
    return f"{stage.waits_for.level}:{stage.waits_for.stage}" if stage.waits_for else None


def _rewrite(session: Session, target: _Target, new: Definition, old: Definition,
             now: dt.datetime) -> None:
    task, stage = target.task, target.stage
    locked = task.state == old.lifecycle.initial  # the clock judges a day still to come
    task_rows.move(session, task, now=now, conflict=_CONFLICT, state=target.state,
                   done_at=target.done_at, due_at=target.due, stage=stage.id,
                   definition_hash=new.content_hash, opens_at=target.opens,
                   opens_pending=target.opens > now if locked else task.opens_pending,
                   waits_on=_waits_on(stage))
    for gone, mapped in mapping(new)["states"].items():  # parts hold lifecycle states too
        if gone not in new.lifecycle.states:
            session.execute(update(FormPart).where(FormPart.task_id == task.id,
                                                   FormPart.state == gone).values(state=mapped))
    after = SimpleNamespace(region_code=task.region_code, year=task.year, level=task.level,
                            stage=stage.id, state=target.state, due_at=target.due,
                            done_at=target.done_at)
    counters.retallied(session, task, after)
    if target.reschedule:
        notices.reschedule(session, SimpleNamespace(id=task.id), stage, target.due, now)


def _add(session: Session, target: _Target, new: Definition, case: Any,
         now: dt.datetime) -> None:
    stage = target.stage
    parent = session.scalar(select(Region.parent_code).where(Region.code == case.region_code))
    values = dict(case_id=case.id, definition_hash=new.content_hash, stage=stage.id,
                  state=new.lifecycle.initial, level=case.level, year=case.year,
                  region_code=case.region_code, parent_code=parent, waits_on=_waits_on(stage),
                  opens_at=target.opens, due_at=target.due, opens_pending=target.opens > now,
                  version=1, updated_at=now, done_at=None)
    task_id = session.execute(insert(_TASKS).values(**values).returning(_TASKS.c.id)).scalar_one()
    row = SimpleNamespace(id=task_id, **values)
    counters.retallied(session, None, row)
    events.record(session, "stage_added", actor=events.SYSTEM_ACTOR, at=now, task=row,
                  to_state=row.state)
    notices.reschedule(session, row, stage, target.due, now, at_start=True)


def _reopen_gates(session: Session, new: Definition, case_id: int, now: dt.datetime) -> None:
    """Re-evaluate the gate of every stage of the case still locked."""
    locked = session.execute(select(_TASKS).where(
        _TASKS.c.case_id == case_id, _TASKS.c.state == new.lifecycle.initial)
        .order_by(_TASKS.c.id)).all()
    for task in locked:
        states = dict(session.execute(select(_TASKS.c.stage, _TASKS.c.state)
                                      .where(_TASKS.c.case_id == case_id)).all())
        gates.try_open(session, task, new, now, case_states=states)

