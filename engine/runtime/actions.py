"""Acting on a stage: one trigger, by one user, checked, applied and recorded atomically.

Checks, in order: the trigger exists and applies to the current state, the user
holds a role the trigger names for this region, no earlier trigger its ``not_by`` names
was last fired by the same person (runtime/duties.py), a reason is given when required
(and is at most `reasons.REASON_MAX` characters, for every caller: pages, API, CLI),
and the forms validate when the trigger needs them. Only then is the task
changed, with an event, and the gates it may satisfy evaluated - all in the
caller's transaction, so a refused or conflicting action changes nothing.

Optimistic locking: the task row carries a version; the UPDATE only matches the
version that was read (and, when given, the version the user saw). A lost race
raises `Conflict`. The hot path (find, update, event) uses prebuilt Core
statements: it runs on every click, and the ORM's unit of work tripled its cost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy.orm import Session
from sqlalchemy import bindparam, select

from ..definitions import Definition
from ..forms import changes, entry, rollup
from ..forms.parts import set_every_state
from ..people import Actor, acting_roles, actor
from ..store.models import Task
from ..store.prepared import Prepared
from ..store import events, task_rows
from . import counters, duties, gates, parts, returns, scoring
from ..clock import utcnow
from ..errors import Conflict, InvalidForm, InvalidTrigger, NotPermitted, ReasonRequired
from ..store.library import pinned
from .machines import next_state
from .reasons import check_length
from ..store.task_rows import find_task



@dataclass
class ActResult:
    task_id: int
    trigger: str
    from_state: str
    to_state: str
    version: int
    opened: list[dict] = field(default_factory=list)  # tasks this action opened

    def as_dict(self) -> dict:
        return {"task_id": self.task_id, "trigger": self.trigger, "from_state": self.from_state,
                "to_state": self.to_state, "version": self.version, "opened": self.opened}


_TASKS = Task.__table__
# The hot path of every click runs on the driver (see store.prepared).
# Only the columns an action reads: every datetime costs a parse on SQLite.
_FIND = Prepared(select(*(_TASKS.c[name] for name in (
    "id", "case_id", "definition_hash", "stage", "state", "level", "year", "region_code",
    "parent_code", "version", "done_at", "due_at"))).where(
    _TASKS.c.region_code == bindparam("region"), _TASKS.c.stage == bindparam("stage"),
    _TASKS.c.year == bindparam("year")))


@dataclass(frozen=True)
class _Changed:
    """The task as it is after the update (what the gates need to know of it)."""

    id: int
    case_id: int
    stage: str
    state: str
    level: str
    year: int
    region_code: str
    parent_code: str | None


def act(session: Session, *, task: Any, trigger: str, username: str | None = None,
        user: Actor | None = None, reason: str | None = None, unit: str | None = None,
        data: Mapping[str, Any] | None = None, expected_version: int | None = None,
        now: dt.datetime | None = None) -> ActResult:
    """Fire ``trigger`` on ``task`` (a `Task` or a tasks row) as ``user`` (or ``username``).

    With ``data`` ({form: patch}), the patch is saved into the person's part first, in the
    same transaction. In a stage split into parts, a part trigger moves one unit's part (the
    person's own, or ``unit`` for a role held without one) and the stage follows the parts.
    Raises a `Refused` or `Conflict` and then has changed nothing.
    """
    now = now or utcnow()
    definition = pinned(session, task.definition_hash)
    lc = definition.lifecycle
    context = {"region": task.region_code, "stage": task.stage, "year": task.year,
               "trigger": trigger}
    if expected_version is not None and expected_version != task.version:
        raise Conflict(f"tahap ini sudah diubah orang lain (versi {task.version}, Anda melihat "
                       f"versi {expected_version}); muat ulang lalu coba lagi",
                       version=task.version, **context)
    stage = definition.stage(task.stage)
    spec = stage.triggers.get(trigger)  # who may fire it depends on the stage
    if spec is None:
        raise InvalidTrigger(f"pemicu '{trigger}' tidak ada; pilihan: {', '.join(lc.triggers)}",
                             **context)
    if spec.by_system:
        raise NotPermitted(f"'{spec.name}' hanya dijalankan oleh sistem", **context)
    user = user or actor(session, username)
    roles = acting_roles(user, spec.by, task.level, task.region_code)
    if not roles:
        raise NotPermitted(
            f"{user.username} tidak berhak melakukan '{spec.name}' pada {task.region_code}: perlu "
            f"peran {' atau '.join(map(str, spec.by))} untuk wilayah ini",
            username=user.username, **context)
    on_part = bool(stage.parts) and lc.acts_on_part(trigger)
    # A part trigger is judged on the part's state (parts.move_parts), a stage trigger here.
    dest = None if on_part else next_state(definition, task.state, trigger)
    if spec.reason_required and not (reason and reason.strip()):
        raise ReasonRequired(f"'{spec.name}' memerlukan alasan tertulis", **context)
    check_length(reason, **context)
    if not on_part:  # a part trigger's parts are known once move_parts has chosen them
        duties.check(session, definition, task, spec, user.username,
                     duties.stage_units(definition, task.stage), context)
    if data:
        entry.save(session, task=task, definition=definition, actor=user, data=data, unit=unit,
                   now=now)
    if on_part:
        moved = parts.move_parts(session, task=task, definition=definition, trigger=spec,
                                 user=user, unit=unit, reason=reason, now=now, context=context)
        payload = _payload(roles, reason, data, units=moved.units, parts=moved.states)
        if moved.stage_dest is not None:
            payload.update(_tell_if_sent_back(session, task, definition, trigger,
                                              moved.stage_dest, user.username, reason, now))
            return move(session, task=task, definition=definition, trigger=trigger,
                        dest=moved.stage_dest, username=user.username, now=now,
                        context=context, payload=payload, reason=reason)
        payload.update(returns.tell_parts(session, task, definition, trigger=trigger,
                                          units=moved.units, actor=user.username,
                                          reason=reason, now=now, parts=moved.states))
        events.record(session, trigger, actor=user.username, at=now, task=task,
                      from_state=task.state, to_state=task.state, payload=payload)
        return ActResult(task.id, trigger, task.state, task.state, task.version, [])
    if spec.needs_valid_forms:
        problems = [p for p in entry.stage_problems(session, definition, task) if p.is_error]
        if problems:
            raise InvalidForm(f"formulir belum valid ({len(problems)} masalah)",
                              problems=[str(p) for p in problems], **context)
    payload = _payload(roles, reason, data)
    payload.update(_tell_if_sent_back(session, task, definition, trigger, dest, user.username,
                                      reason, now, parts={u: dest for u in stage.parts}))
    result = move(session, task=task, definition=definition, trigger=trigger, dest=dest,
                  username=user.username, now=now, context=context, reason=reason,
                  payload=payload)
    if stage.parts:
        set_every_state(session, task.id, dest)
    changes.after_move(session, definition=definition, task_id=result.task_id, stage_id=stage.id,
                       trigger=spec, units=list(stage.parts) or [changes.WHOLE],
                       by=user.username, reason=reason, now=now)
    return result


def _tell_if_sent_back(session: Session, task: Any, definition: Definition, trigger: str,
                       dest: str, username: str, reason: str | None, now: dt.datetime,
                       parts: dict[str, str] | None = None) -> dict[str, Any]:
    """A return or reopening tells those the stage will wait for (runtime/returns.py);
    what its event's payload carries of it (nothing otherwise)."""
    if not returns.sends_back(definition, trigger, dest):
        return {}
    return returns.tell(session, task, definition, trigger=trigger, dest=dest, actor=username,
                        reason=reason, version=task.version + 1, now=now, parts=parts or None)


def _payload(roles: list[str], reason: str | None, data: Mapping[str, Any] | None = None,
             **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"roles": roles, **extra}
    if reason:
        payload["reason"] = reason
    if data:
        payload["forms"] = sorted(data)
    return payload


def move(session: Session, *, task: Any, definition: Definition, trigger: str, dest: str,
         username: str, now: dt.datetime, context: dict, payload: dict,
         reason: str | None = None) -> ActResult:
    """Move the stage to ``dest`` on the version read, record it, and run what follows
    (the gates a done stage may open, what an undone stage must tell)."""
    lc = definition.lifecycle
    before, read_version = task.state, task.version
    done_at = now if dest == lc.done else (None if before == lc.done else task.done_at)
    task_rows.move(session, task, state=dest, done_at=done_at, now=now, context=context,
                   conflict="tahap ini baru saja diubah orang lain; muat ulang lalu coba lagi")
    changed = _Changed(task.id, task.case_id, task.stage, dest, task.level, task.year,
                       task.region_code, task.parent_code)
    counters.moved(session, task, before=before, after=dest, due_at=counters.due_of(session, task),
                   done_before=task.done_at, done_after=done_at)
    if isinstance(task, Task):
        session.expire(task)  # it was changed behind the ORM's back
    if dest == lc.done and definition.scoring and definition.scoring.stage == task.stage:
        # Kept with the approval: the class a region was approved with never changes.
        payload = {**payload, "scoring": scoring.score_case(session, definition,
                                                            task.case_id).as_dict()}
    events.record(session, trigger, actor=username, at=now, task=changed, from_state=before,
                  to_state=dest, payload=payload)
    opened: list[dict] = []
    if dest == lc.done or before == lc.done:
        rollup.child_changed(session, changed, definition, done=dest == lc.done, now=now,
                             definition_of=lambda h: pinned(session, h))
    if dest == lc.done:
        opened = gates.after_done(session, changed, definition, now)
    elif before == lc.done:
        gates.after_undone(session, changed, now, actor=username, reason=reason)
    return ActResult(changed.id, trigger, before, dest, read_version + 1, opened)


def act_on(session: Session, region: str, stage: str, year: int, trigger: str, username: str,
           **kwargs: Any) -> ActResult:
    """`act` on the task found by region code, stage id and year."""
    row = _FIND.first(session, region=region, stage=stage, year=year)
    if row is None:
        find_task(session, region, stage, year)  # raises the right NotFound
    return act(session, task=row, trigger=trigger, username=username, **kwargs)
