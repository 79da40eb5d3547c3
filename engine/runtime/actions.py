"""Acting on a stage: one trigger, by one user, checked, applied and recorded atomically.

Checks, in order: the trigger exists and applies to the current state, the user
holds a role the trigger names for this region, a reason is given when required,
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
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import jsonschema
from sqlalchemy.orm import Session
from sqlalchemy import bindparam, select, update

from ..definitions import Definition
from ..people import acting_roles, actor
from ..store.models import Task
from ..store.prepared import Prepared
from . import events, gates
from ..clock import utcnow
from ..errors import Conflict, InvalidForm, InvalidTrigger, NotPermitted, ReasonRequired
from .library import pinned
from .machines import next_state
from .tasks import find_task


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


@functools.lru_cache(maxsize=512)
def _validator(definition: Definition, form: str) -> jsonschema.Draft202012Validator:
    # The definition's forms are frozen views; jsonschema wants plain JSON.
    return jsonschema.Draft202012Validator(json.loads(definition.snapshot)["forms"][form])


def form_problems(definition: Definition, stage_id: str, data: Mapping[str, Any] | None) -> list[str]:
    """Every validation problem of the stage's output forms, as readable lines."""
    problems = []
    for form in definition.stage(stage_id).outputs:
        if form not in definition.forms:
            continue
        for err in _validator(definition, form).iter_errors((data or {}).get(form, {})):
            where = "/".join(str(p) for p in err.absolute_path) or "(formulir)"
            problems.append(f"{form}: {where}: {err.message}")
    return problems


def _merge(task: Task, definition: Definition, data: Mapping[str, Any] | None) -> dict | None:
    if not data:
        return task.data
    outputs = definition.stage(task.stage).outputs
    unknown = [k for k in data if k not in outputs]
    if unknown:
        raise InvalidForm(f"formulir {', '.join(unknown)} bukan keluaran tahap ini "
                          f"(keluaran: {', '.join(outputs) or '-'})", problems=unknown)
    return {**(task.data or {}), **data}


_TASKS = Task.__table__
# The hot path of every click runs on the driver (see store.prepared).
# Only the columns an action reads: every datetime costs a parse on SQLite.
_FIND = Prepared(select(*(_TASKS.c[name] for name in (
    "id", "case_id", "definition_hash", "stage", "state", "level", "year", "region_code",
    "parent_code", "data", "version", "done_at"))).where(
    _TASKS.c.region_code == bindparam("region"), _TASKS.c.stage == bindparam("stage"),
    _TASKS.c.year == bindparam("year")))
_MOVE = (update(_TASKS)
         .where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.version == bindparam("read_version"))
         .values(state=bindparam("new_state"), updated_at=bindparam("now"),
                 done_at=bindparam("new_done_at"), version=_TASKS.c.version + 1))
_UPDATE = Prepared(_MOVE)
# With new form data: the (possibly large) document is rewritten only when it changes.
_UPDATE_WITH_DATA = Prepared(_MOVE.values(data=bindparam("new_data")))


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


def act(session: Session, *, task: Any, trigger: str, username: str,
        reason: str | None = None, data: Mapping[str, Any] | None = None,
        expected_version: int | None = None, now: dt.datetime | None = None) -> ActResult:
    """Fire ``trigger`` on ``task`` (a `Task` or a tasks row) as ``username``.

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
    spec = lc.triggers.get(trigger)
    if spec is None:
        raise InvalidTrigger(f"pemicu '{trigger}' tidak ada; pilihan: {', '.join(lc.triggers)}",
                             **context)
    if spec.by_system:
        raise NotPermitted(f"'{spec.name}' hanya dijalankan oleh sistem", **context)
    user = actor(session, username)
    roles = acting_roles(user, spec.by, task.level, task.region_code)
    if not roles:
        raise NotPermitted(
            f"{username} tidak berhak melakukan '{spec.name}' pada {task.region_code}: perlu peran "
            f"{' atau '.join(map(str, spec.by))} untuk wilayah ini", username=username, **context)
    dest = next_state(definition, task.state, trigger)
    if spec.reason_required and not (reason and reason.strip()):
        raise ReasonRequired(f"'{spec.name}' memerlukan alasan tertulis", **context)
    merged = _merge(task, definition, data)
    if spec.needs_valid_forms:
        problems = form_problems(definition, task.stage, merged)
        if problems:
            raise InvalidForm(f"formulir belum valid ({len(problems)} masalah)",
                              problems=problems, **context)
    before, read_version = task.state, task.version
    done_at = now if dest == lc.done else (None if before == lc.done else task.done_at)
    change = dict(task_id=task.id, read_version=read_version, new_state=dest, now=now,
                  new_done_at=done_at)
    updated = (_UPDATE_WITH_DATA.write(session, new_data=merged, **change) if data
               else _UPDATE.write(session, **change))
    if updated != 1:
        raise Conflict("tahap ini baru saja diubah orang lain; muat ulang lalu coba lagi",
                       **context)
    changed = _Changed(task.id, task.case_id, task.stage, dest, task.level, task.year,
                       task.region_code, task.parent_code)
    if isinstance(task, Task):
        session.expire(task)  # it was changed behind the ORM's back
    payload: dict[str, Any] = {"roles": roles}
    if reason:
        payload["reason"] = reason
    if data:
        payload["forms"] = sorted(data)
    events.record(session, trigger, actor=username, at=now, task=changed, from_state=before,
                  to_state=dest, payload=payload)
    opened: list[dict] = []
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
