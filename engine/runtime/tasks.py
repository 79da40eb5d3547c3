"""Reading tasks: one stage of one case, and lists of them for a person or a year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from ..definitions import Definition
from ..people import acting_roles, can_see
from ..regions import within_clause
from ..store.models import Case, DefinitionRow, Event, Region, Task, User
from . import duties, gates
from ..clock import utcnow
from ..errors import NotPermitted
from ..forms.entry import part_start_state, stage_documents, unit_for
from ..forms.changes import returned_info
from ..forms.parts import part_states, parts_of
from ..store.library import pinned
from .machines import triggers_from


@dataclass
class TaskView:
    """What a person needs to see of one stage."""

    task_id: int
    region: str
    region_name: str
    level: str
    year: int
    stage: str
    stage_name: str
    state: str
    state_name: str
    version: int
    opens_at: dt.datetime
    due_at: dt.datetime
    timezone: str
    overdue: bool
    triggers: list[dict] = field(default_factory=list)  # allowed (for the viewer, when known)
    blockers: list[gates.Blocker] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    data: dict | None = None
    parts: dict[str, dict] = field(default_factory=dict)  # unit -> state, version, note
    returned: dict | None = None  # the return waiting for a new submission (forms.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id, "region": self.region, "region_name": self.region_name,
            "level": self.level, "year": self.year, "stage": self.stage,
            "stage_name": self.stage_name, "state": self.state, "state_name": self.state_name,
            "version": self.version, "opens_at": self.opens_at.isoformat(),
            "due_at": self.due_at.isoformat(), "timezone": self.timezone,
            "overdue": self.overdue, "triggers": self.triggers,
            "blockers": [b.as_dict() for b in self.blockers], "history": self.history,
            "data": self.data, "parts": self.parts, "sent_back": self.returned,
        }


def is_overdue(task: Task, definition: Definition, now: dt.datetime) -> bool:
    return task.state != definition.lifecycle.done and now > task.due_at


def view(session: Session, task: Task, *, user: User | None = None,
         now: dt.datetime | None = None, history: bool = True,
         explain: bool = True, documents: bool = True) -> TaskView:
    """``explain``: say what keeps a locked stage locked (see `gates.blockers`);
    ``documents``: with the history, the stage's documents and parts too (the stage page
    builds its own from the same rows, see engine/web/form_page.py)."""
    now = now or utcnow()
    if user is not None and not can_see(user, task.region_code):
        raise NotPermitted(f"{user.username} tidak berhak melihat wilayah {task.region_code}",
                           region=task.region_code)
    d = pinned(session, task.definition_hash)
    lc = d.lifecycle
    own_triggers = d.triggers(task.stage)  # the stage's own `by` where it has one
    triggers = []
    for tid in triggers_from(d, task.state):
        spec = own_triggers[tid]
        if spec.by_system:
            continue
        entry = {"trigger": tid, "name": spec.name, "by": [str(r) for r in spec.by],
                 "reason": spec.reason_required}
        if user is not None:
            if not acting_roles(user, spec.by, task.level, task.region_code):
                continue
        triggers.append(entry)
    region = session.get(Region, task.region_code)  # one read, not the case's then its region's
    events = []
    if history:
        events = [
            {"id": e.id, "at": e.at.isoformat(), "kind": e.kind, "actor": e.actor,
             "from": e.from_state, "to": e.to_state, "payload": e.payload}
            for e in session.scalars(select(Event).where(  # ix_events_case
                Event.case_id == task.case_id, Event.task_id == task.id).order_by(Event.id))
        ]
        if user is not None:  # the history at hand says whom `not_by` bars: no query more
            triggers = duties.offered(d, task, user, triggers, events)
    return TaskView(
        task_id=task.id, region=task.region_code, region_name=region.name, level=task.level,
        year=task.year, stage=task.stage, stage_name=d.stage(task.stage).name,
        state=task.state, state_name=lc.states[task.state].name, version=task.version,
        opens_at=task.opens_at, due_at=task.due_at, timezone=region.timezone,
        overdue=is_overdue(task, d, now), triggers=triggers,
        blockers=(gates.blockers(session, task, d, now, detail=True)
                  if explain and task.state == lc.initial else []),
        history=events,
        data=stage_documents(session, d, task) if history and documents else None,
        parts=({u: p.as_dict() for u, p in parts_of(session, task.id).items()}
               if history and documents else {}),
        returned=returned_info(session, d, task),
    )


def list_tasks(session: Session, *, user: User | None = None, year: int | None = None,
               overdue: bool = False, actionable: bool = False, region: str | None = None,
               level: str | None = None, stage: str | None = None, limit: int | None = 500,
               now: dt.datetime | None = None, state: str | None = None,
               offset: int = 0,
               after: tuple[dt.datetime, str, int] | None = None) -> list[TaskView]:
    """Tasks, filtered, ordered by deadline. With ``user``: only regions they can see;
    ``actionable``: only tasks that need them now (`pending_triggers`, which become the
    views' triggers): not those where they could only return or reopen.
    ``offset``: skip that many matches (paging); ``after``: only those ordered after the
    task with this (due_at, region code, id): the API's cursor (`task_key`)."""
    now = now or utcnow()
    query = select(Task).options(
        joinedload(Task.case, innerjoin=True).joinedload(Case.region, innerjoin=True)).order_by(
        Task.due_at, Task.region_code, Task.id)
    if year is not None:
        query = query.where(Task.year == year)
    if level:
        query = query.where(Task.level == level)
    if stage:
        query = query.where(Task.stage == stage)
    if state:
        query = query.where(Task.state == state)
    if region:
        query = query.where(within_clause(Task.region_code, region))
    if overdue:
        query = query.where(Task.due_at < now)
    if after is not None:
        due, code, task_id = after
        query = query.where(or_(Task.due_at > due, and_(Task.due_at == due, or_(
            Task.region_code > code, and_(Task.region_code == code, Task.id > task_id)))))
    if user is not None:
        areas = {a.region_code for a in user.assignments}
        if not areas:
            return []
        clauses = [within_clause(Task.region_code, a) for a in areas]
        query = query.where(or_(*clauses))
        if actionable:
            # Only states some trigger of the user's roles leaves (the exact check per
            # task follows): a supervisor's scope is thousands of stages, mostly locked.
            states, part_stages = _states_acted_on(session, {a.role for a in user.assignments})
            if not states:
                return []
            query = query.where(or_(Task.state.in_(sorted(states)),
                                    Task.stage.in_(sorted(part_stages))))
    out = []
    for task in session.scalars(query.execution_options(yield_per=500)):
        d = pinned(session, task.definition_hash)
        if overdue and not is_overdue(task, d, now):
            continue
        v = view(session, task, user=user, now=now, history=False, explain=False)
        if actionable:
            v.triggers = pending_triggers(session, task, d, user, v.triggers)
            if not v.triggers:
                continue
        if offset > 0:
            offset -= 1
            continue
        out.append(v)
        if limit and len(out) >= limit:
            break
    return out


def task_key(v: TaskView) -> tuple[dt.datetime, str, int]:
    """Where a task stands in `list_tasks`' order (what ``after`` takes)."""
    return v.due_at, v.region, v.task_id


def pending_triggers(session: Session, task: Task, d: Definition, user: User,
                     triggers: list[dict]) -> list[dict]:
    """What waits for ``user`` on ``task`` now (empty: nothing). ``triggers``: the user's
    triggers from the stage's state. Work waits where the user has a trigger that moves the
    stage on (one needing no reason); returning and reopening alone are not work. In a
    stage split into parts a unit's part trigger applies while that unit's part is in one
    of its source states, whatever the stage's state: the Setcam operator whose part is
    submitted has nothing to do until it comes back, while the Setcam verifikator has that
    part to verify even though the stage waits for the other units."""
    stage = d.stage(task.stage)
    lc = d.lifecycle
    if task.state in (lc.initial, lc.done):
        return []  # not open yet; or done, where reopening is possible but not pending
    out = [t for t in triggers if not (stage.parts and lc.acts_on_part(t["trigger"]))]
    parts = part_states(session, task.id) if stage.parts else {}
    start = part_start_state(d)
    for tid, spec in stage.triggers.items():
        if spec.by_system or not stage.parts or not lc.acts_on_part(tid):
            continue
        unit = unit_for(user, spec.by, task.level, task.region_code)
        if unit is None or unit not in stage.parts:  # on every part (the Camat's return)
            out += [t for t in triggers if t["trigger"] == tid]
        elif acting_roles(user, spec.by, task.level, task.region_code):
            part = parts.get(unit)
            if (part.state if part and part.state else start) in spec.sources:
                out.append({"trigger": tid, "name": spec.name, "by": [str(r) for r in spec.by],
                            "reason": spec.reason_required, "unit": unit})
    # A trigger that needs a written reason corrects (returns, reopens): possible while
    # another holds the stage, never work waiting by itself.
    return out if any(not t["reason"] for t in out) else []


def _states_acted_on(session: Session, roles: set[str]) -> tuple[set[str], set[str]]:
    """States from which a trigger naming one of ``roles`` (at any level) leads, in the
    definitions of running cases, not the done state (see `list_tasks`); and the stages
    split into parts, where a unit's part may wait for them whatever the stage's state."""
    states: set[str] = set()
    part_stages: set[str] = set()
    for content_hash in session.scalars(select(DefinitionRow.content_hash)):
        d = pinned(session, content_hash)
        lc = d.lifecycle
        for stage in d.stages:  # each stage's triggers: a stage may name its own roles
            for trigger in stage.triggers.values():
                if not trigger.by_system and any(r.role in roles for r in trigger.by):
                    states.update(s for s in trigger.sources if s != lc.done)
                    if stage.parts and lc.acts_on_part(trigger.id):
                        part_stages.add(stage.id)
    return states, part_stages
