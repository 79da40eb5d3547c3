"""Gates: when a locked stage opens, and what exactly keeps it locked.

A stage leaves its lifecycle's initial state when its opening day has come,
its `after` stages are done and its `waits_for` quorum of child regions has
reached the required state. Gates are evaluated in the transaction of the
change that may satisfy them; the child count is one query on ``ix_tasks_gate``
(its cost does not grow with the number of children).

Concurrency: two child approvals under one parent must not both conclude "not
yet" (write skew). On PostgreSQL the parent's task rows are locked before counting,
so the second approval waits and then counts the first; the lock is ``FOR NO KEY
UPDATE``, so rows that merely refer to a task (events, inbox rows) never wait for it.
SQLite runs every write transaction under ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from ..definitions import Definition, WaitsFor
from ..regions.zones import EARLIEST_ZONE_OFFSET
from ..store.models import Region, Task
from ..store.prepared import Prepared
from ..store import events, task_rows
from ..store.library import pinned
from . import counters
from .machines import next_state


@dataclass(frozen=True)
class ChildRegion:
    code: str
    name: str
    state: str | None  # None: no case started for this region
    due_at: dt.datetime | None


@dataclass(frozen=True)
class Blocker:
    """One reason a stage is still locked."""

    kind: str  # "opens" | "after" | "waits_for"
    message: str
    stage: str | None = None
    state: str | None = None
    level: str | None = None
    opens_at: dt.datetime | None = None
    quorum_percent: int | None = None
    have: int | None = None
    need: int | None = None
    total: int | None = None
    children: tuple[ChildRegion, ...] = field(default=())

    @property
    def regions(self) -> list[str]:
        return [c.code for c in self.children]

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if v is not None and k != "children"}
        if self.opens_at:
            d["opens_at"] = self.opens_at.isoformat()
        if self.kind == "waits_for":
            d["regions"] = self.regions
            d["children"] = [
                {"code": c.code, "name": c.name, "state": c.state,
                 "due_at": c.due_at.isoformat() if c.due_at else None}
                for c in self.children
            ]
        return d


_TASKS = Task.__table__
# Prebuilt statements: gates run inside every approval.
_CHILD_PROGRESS = Prepared(
    select(func.coalesce(func.sum(case((_TASKS.c.state == bindparam("state"), 1), else_=0)), 0),
           func.count())
    .where(_TASKS.c.year == bindparam("year"), _TASKS.c.level == bindparam("level"),
           _TASKS.c.stage == bindparam("stage"), _TASKS.c.parent_code == bindparam("parent")))
# What judging and opening a gate reads of a task (not its form data, nor its deadline).
_GATE_COLUMNS = [_TASKS.c[name] for name in (
    "id", "case_id", "definition_hash", "stage", "state", "level", "year", "region_code",
    "parent_code", "opens_at", "version", "due_at", "done_at")]


@functools.lru_cache(maxsize=None)
def _followers(count: int) -> Prepared:
    """Locked tasks of a case among ``count`` named stages, row-locked in id order.

    Only the followers still locked are locked: nobody but the engine writes a locked
    task, so two approvals in one case cannot deadlock on each other's rows. One
    statement per number of stages, as the driver's statements take no list parameter.
    """
    return Prepared(select(*_GATE_COLUMNS).where(
        _TASKS.c.case_id == bindparam("case_id"),
        _TASKS.c.stage.in_([bindparam(f"stage_{i}") for i in range(count)]),
        _TASKS.c.state == bindparam("initial"),
    ).order_by(_TASKS.c.id).with_for_update(key_share=True))


_CASE_STATES = Prepared(select(_TASKS.c.stage, _TASKS.c.state)
                        .where(_TASKS.c.case_id == bindparam("case_id")))
_WAITING_PARENTS = Prepared(select(*_GATE_COLUMNS).where(
    _TASKS.c.region_code == bindparam("region"), _TASKS.c.year == bindparam("year"),
    _TASKS.c.waits_on == bindparam("waits_on")).with_for_update(key_share=True))


def child_progress(session: Session, task: Any, wf: WaitsFor) -> tuple[int, int]:
    """(children in the required state, children with the stage) under ``task``'s region."""
    have, total = _CHILD_PROGRESS.rows(session, state=wf.state, year=task.year, level=wf.level,
                                       stage=wf.stage, parent=task.region_code)[0]
    return int(have), int(total)


def quorum_met(have: int, total: int, percent: int) -> bool:
    return total > 0 and have * 100 >= percent * total


def _needed(total: int, percent: int) -> int:
    return -(-percent * total // 100)  # ceiling


def blockers(session: Session, task: Any, definition: Definition, now: dt.datetime,
             *, detail: bool = False, case_states: dict[str, str] | None = None,
             stop_at_first: bool = False) -> list[Blocker]:
    """Why ``task`` is locked (empty when its gate holds). The one definition of the gate.

    ``detail`` lists the child regions holding a waits_for; ``case_states``
    (stage -> state of the same case), when the caller has them, saves a query;
    ``stop_at_first`` (to decide, not to explain) skips the later, costlier tests once
    one fails and leaves the waits_for message out: it runs inside every approval.
    """
    stage = definition.stage(task.stage)
    lc = definition.lifecycle
    found: list[Blocker] = []
    if now < task.opens_at:
        found.append(Blocker("opens", f"tahap baru dapat dibuka mulai {task.opens_at.isoformat()}",
                             opens_at=task.opens_at))
        if stop_at_first:
            return found
    if stage.after:
        rows = (case_states if case_states is not None
                else dict(_CASE_STATES.rows(session, case_id=task.case_id)))
        for dep in stage.after:
            state = rows.get(dep)
            if state != lc.done:
                found.append(Blocker(
                    "after", f"menunggu tahap '{definition.stage(dep).name}' "
                             f"{lc.states[lc.done].name.lower()} (kini: {state})",
                    stage=dep, state=state))
        if found and stop_at_first:
            return found
    wf = stage.waits_for
    if wf is not None:
        have, total = child_progress(session, task, wf)
        if not quorum_met(have, total, wf.quorum_percent):
            if stop_at_first:
                return [Blocker("waits_for", "", level=wf.level, stage=wf.stage)]
            need = _needed(total, wf.quorum_percent)
            who = "semua" if wf.needs_all else f"{wf.quorum_percent}%"
            msg = (f"menunggu {who} {wf.level} menyelesaikan tahap '{wf.stage}' "
                   f"(status '{wf.state}'): {have} dari {total}, perlu {need}")
            if total == 0:
                msg = f"belum ada kasus {wf.level} di wilayah ini untuk tahun {task.year}"
            children = _lagging_children(session, task, wf) if detail else ()
            found.append(Blocker("waits_for", msg, stage=wf.stage, state=wf.state, level=wf.level,
                                 quorum_percent=wf.quorum_percent, have=have, need=need,
                                 total=total, children=children))
    return found


def _lagging_children(session: Session, task: Task, wf: WaitsFor) -> tuple[ChildRegion, ...]:
    """Child regions not (yet) in the required state, including those with no case."""
    started = session.execute(
        select(Task.region_code, Region.name, Task.state, Task.due_at)
        .join(Region, Region.code == Task.region_code)
        .where(Task.year == task.year, Task.level == wf.level, Task.stage == wf.stage,
               Task.parent_code == task.region_code)
        .order_by(Task.region_code)).all()
    lagging = [ChildRegion(c, n, s, d) for c, n, s, d in started if s != wf.state]
    have_case = {c for c, *_ in started}
    tier = session.scalar(select(Region.tier).where(Region.code == task.region_code))
    missing = session.execute(
        select(Region.code, Region.name)
        .where(Region.parent_code == task.region_code, Region.tier == (tier or 0) + 1)
        .order_by(Region.code)).all()
    lagging += [ChildRegion(c, n, None, None) for c, n in missing if c not in have_case]
    return tuple(sorted(lagging, key=lambda c: c.code))


def _set_state(session: Session, task: Any, state: str, now: dt.datetime) -> None:
    # A conflict cannot happen under the locks taken above; never write blindly.
    task_rows.move(session, task, state=state, now=now,
                   conflict="tahap berubah saat gerbangnya dievaluasi; coba lagi")
    done_at = getattr(task, "done_at", None)
    counters.moved(session, task, before=task.state, after=state,
                   due_at=counters.due_of(session, task), done_before=done_at, done_after=done_at)


def _opened(task: Any, state: str) -> dict:
    return {"region": task.region_code, "level": task.level, "stage": task.stage, "state": state}


def open_task(session: Session, task: Any, definition: Definition, now: dt.datetime) -> dict:
    """Fire the lifecycle's opening trigger on ``task`` (the gate already holds)."""
    lc = definition.lifecycle
    state = next_state(definition, task.state, lc.opens_with)
    _set_state(session, task, state, now)
    events.record(session, lc.opens_with, actor=events.SYSTEM_ACTOR, at=now, task=task,
                  from_state=task.state, to_state=state)
    return _opened(task, state)


def gate_holds(session: Session, task: Any, definition: Definition, now: dt.datetime,
               *, case_states: dict[str, str] | None = None) -> bool:
    return not blockers(session, task, definition, now, case_states=case_states,
                        stop_at_first=True)


def try_open(session: Session, task: Any, definition: Definition, now: dt.datetime,
             *, case_states: dict[str, str] | None = None) -> dict | None:
    """Open ``task`` if its gate holds; the opened task's summary, or None."""
    if task.state != definition.lifecycle.initial:
        return None
    if not gate_holds(session, task, definition, now, case_states=case_states):
        return None
    return open_task(session, task, definition, now)


def after_done(session: Session, task: Any, definition: Definition, now: dt.datetime) -> list[dict]:
    """``task`` reached its done state: open what was waiting for it. Returns what opened."""
    opened: list[dict] = []
    # A follower whose opening day has not come yet in any zone cannot open now: the
    # clock's tick judges it on that day. (The _followers and _WAITING_PARENTS statements
    # lock rows on PostgreSQL; SQLite already holds the database lock.)
    today_somewhere = (now + EARLIEST_ZONE_OFFSET).date()
    followers = {s.id for s in definition.stages
                 if task.stage in s.after and s.opens.in_year(task.year) <= today_somewhere}
    if followers:
        waiting = _followers(len(followers)).rows(
            session, case_id=task.case_id, initial=definition.lifecycle.initial,
            **{f"stage_{i}": stage for i, stage in enumerate(sorted(followers))})
        if waiting:
            # Read after taking the locks: a concurrent approval in this case is seen.
            states = dict(_CASE_STATES.rows(session, case_id=task.case_id))
            for t in waiting:
                if o := try_open(session, t, definition, now, case_states=states):
                    opened.append(o)
    for t, parent_def in _waiting_parents(session, task):
        if t.state == parent_def.lifecycle.initial and (o := try_open(session, t, parent_def, now)):
            opened.append(o)
    return opened


def _waiting_parents(session: Session, task: Any) -> list[tuple[Any, Definition]]:
    """Task rows of the parent region whose waits_for names ``task``'s level and stage."""
    if task.parent_code is None:
        return []
    rows = _WAITING_PARENTS.rows(session, region=task.parent_code, year=task.year,
                                 waits_on=f"{task.level}:{task.stage}")
    return [(t, pinned(session, t.definition_hash)) for t in rows]


def after_undone(session: Session, task: Any, now: dt.datetime, *, actor: str,
                 reason: str | None) -> None:
    """``task`` left its done state: tell (or relock) the parent stages already opened."""
    for t, d in _waiting_parents(session, task):
        if t.state == d.lifecycle.initial:
            continue
        payload = {"child_region": task.region_code, "child_stage": task.stage,
                   "child_state": task.state, "reason": reason}
        opened_state = d.lifecycle.triggers[d.lifecycle.opens_with].dest
        if (d.lifecycle.on_child_reopened == "relock" and t.state == opened_state
                and not gate_holds(session, t, d, now)):  # a quorum may still hold
            _set_state(session, t, d.lifecycle.initial, now)
            events.record(session, "relocked", actor=actor, at=now, task=t,
                          from_state=t.state, to_state=d.lifecycle.initial, payload=payload)
        else:
            events.record(session, "child_reopened", actor=actor, at=now, task=t,
                          from_state=t.state, to_state=t.state, payload=payload)
