"""Separation of duties: a trigger's ``not_by`` bars whoever last fired the triggers it names.

The lifecycle says, e.g., ``verify: {..., not_by: submit}``: the person who last submitted
a stage may not verify it, even when they hold both roles on the region. "Last fired" is
read from the events: each trigger's event carries its actor and, in a stage split into
parts, the units it moved (``payload.units``; an event without units - a stage trigger
such as approve - moved every part). So the bar is per part: the Setcam operator who
also verifies may verify the Puskesmas part, not the Setcam part they submitted; and a
stage trigger (approve) is barred when its actor last fired a named trigger on any part.

The check is one query on the task's events through ``ix_events_case`` (case, task, id),
run only for triggers that declare ``not_by``; a task holds tens of events.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from ..definitions import Definition, Trigger
from ..errors import NotPermitted
from ..forms.entry import unit_for
from ..forms.parts import WHOLE
from ..store.models import Event
from ..store.prepared import Prepared

_EVENTS = Event.__table__


@functools.cache
def _last_firings(kinds: tuple[str, ...]) -> Prepared:
    """The task's events of ``kinds``, newest first. The kinds are literals of the statement
    (`Prepared` runs no expanding IN), so one statement per ``not_by`` list."""
    return Prepared(select(_EVENTS.c.kind, _EVENTS.c.actor, _EVENTS.c.payload).where(
        _EVENTS.c.case_id == bindparam("case_id"), _EVENTS.c.task_id == bindparam("task_id"),
        or_(*(_EVENTS.c.kind == k for k in kinds))).order_by(_EVENTS.c.id.desc()))


def barring(trigger: Trigger, username: str, units: Sequence[str],
            events: Iterable[Any]) -> tuple[str, str] | None:
    """(earlier trigger id, unit) when ``username`` last fired one of ``trigger.not_by`` on
    one of ``units`` (``WHOLE`` for a stage without parts); None when they may act.
    ``events``: (kind, actor, payload) of the task, newest first."""
    last: dict[tuple[str, str], str] = {}  # (kind, unit) -> who fired it last
    for kind, actor, payload in events:
        if kind not in trigger.not_by:
            continue
        moved = (payload or {}).get("units") or units
        for unit in moved:
            last.setdefault((kind, unit), actor)
    for kind in trigger.not_by:
        for unit in units:
            if last.get((kind, unit)) == username:
                return kind, unit
    return None


def stage_units(definition: Definition, stage_id: str) -> list[str]:
    """The parts a stage trigger acts on: every part, or the whole document."""
    return list(definition.stage(stage_id).parts) or [WHOLE]


def check(session: Session, definition: Definition, task: Any, trigger: Trigger, username: str,
          units: Sequence[str], context: dict) -> None:
    """Raise `NotPermitted` when ``trigger.not_by`` bars ``username`` on ``units``."""
    if not trigger.not_by:
        return
    rows = _last_firings(tuple(trigger.not_by)).rows(session, case_id=task.case_id,
                                                      task_id=task.id)
    found = barring(trigger, username, units, rows)
    if found is not None:
        raise NotPermitted(refusal(definition, trigger, username, *found), username=username,
                           **context)


def offered(definition: Definition, task: Any, user: Any, triggers: list[dict],
            history: list[dict]) -> list[dict]:
    """``triggers`` (a task view's: ``{"trigger": id, ...}``) less those ``not_by`` bars
    ``user`` from, judged on the task's ``history`` (its events as dicts, oldest first).
    A part trigger is judged on the person's own unit's part; without a unit, or for a
    stage trigger, on every part, as `check` judges the button the page posts."""
    lc = definition.lifecycle
    stage = definition.stage(task.stage)
    newest = [(e["kind"], e["actor"], e["payload"]) for e in reversed(history)]
    out = []
    for t in triggers:
        spec = stage.triggers[t["trigger"]]
        if spec.not_by:
            own = (unit_for(user, spec.by, task.level, task.region_code)
                   if stage.parts and lc.acts_on_part(spec.id) else None)
            units = [own] if own else stage_units(definition, task.stage)
            if barring(spec, user.username, units, newest) is not None:
                continue
        out.append(t)
    return out


def refusal(definition: Definition, trigger: Trigger, username: str, earlier: str,
            unit: str) -> str:
    """Why ``username`` may not fire ``trigger``, in the words people read."""
    lc = definition.lifecycle
    where = f"bagian unit {unit}" if unit != WHOLE else "tahap ini"
    return (f"{username} sudah melakukan '{lc.triggers[earlier].name}' pada {where}; orang "
            f"yang sama tidak boleh juga melakukan '{trigger.name}' (pemisahan tugas): "
            f"mintalah pemegang peran lain")
