"""Acting on a stage: one trigger, by one user, checked, applied and recorded atomically.

Checks, in order: the trigger exists and applies to the current state, the user
holds a role the trigger names for this region, a reason is given when required,
and the forms validate when the trigger needs them. Only then is the task
changed, with an event, and the gates it may satisfy evaluated - all in the
caller's transaction, so a refused or conflicting action changes nothing.

Optimistic locking: the task row carries a version; the UPDATE only matches the
version that was read (and, when given, the version the user saw). A lost race
raises `Conflict`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import jsonschema
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..definitions import Definition
from ..people import acting_roles, get_user
from ..store.models import Task
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


def act(session: Session, *, task: Task, trigger: str, username: str,
        reason: str | None = None, data: Mapping[str, Any] | None = None,
        expected_version: int | None = None, now: dt.datetime | None = None) -> ActResult:
    """Fire ``trigger`` on ``task`` as ``username``. Raises a `Refused` or `Conflict`."""
    now = now or utcnow()
    definition = pinned(session, task.case.definition_hash)
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
    user = get_user(session, username)
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
    before = task.state
    task.state, task.data, task.updated_at = dest, merged, now
    if dest == lc.done:
        task.done_at = now
    elif before == lc.done:
        task.done_at = None
    try:
        session.flush()  # UPDATE ... WHERE version = read version
    except StaleDataError:
        raise Conflict("tahap ini baru saja diubah orang lain; muat ulang lalu coba lagi",
                       **context) from None
    payload: dict[str, Any] = {"roles": roles}
    if reason:
        payload["reason"] = reason
    if data:
        payload["forms"] = sorted(data)
    events.record(session, trigger, actor=username, at=now, task=task, from_state=before,
                  to_state=dest, payload=payload)
    opened: list[Task] = []
    if dest == lc.done:
        opened = gates.after_done(session, task, definition, now)
    elif before == lc.done:
        gates.after_undone(session, task, now, actor=username, reason=reason)
    session.flush()
    return ActResult(task.id, trigger, before, dest, task.version, [
        {"region": t.region_code, "level": t.level, "stage": t.stage, "state": t.state}
        for t in opened])


def act_on(session: Session, region: str, stage: str, year: int, trigger: str, username: str,
           **kwargs: Any) -> ActResult:
    """`act` on the task found by region code, stage id and year."""
    return act(session, task=find_task(session, region, stage, year), trigger=trigger,
               username=username, **kwargs)
