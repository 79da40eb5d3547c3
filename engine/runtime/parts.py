"""Part triggers: one unit's part of a stage moves, and the stage follows its parts.

The lifecycle's ``parts`` block names the triggers that act on a part. The stage takes
an ``all`` trigger's state once every part has reached it or a later state of the
``all`` list (submitted, then verified), and an ``any`` trigger's state (returned) as
soon as one part takes it - each only where the stage's own lifecycle allows the move.

The stage row is locked before the parts are read: two units submitting their last
parts at the same moment are judged one after the other, so the second sees the first
and the stage does not miss its move.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ..definitions import Definition, Trigger
from ..errors import Conflict, InvalidForm, InvalidTrigger, NotPermitted, Refused
from ..forms import changes
from ..forms.entry import lock_stage, part_start_state, stage_problems, unit_for
from ..forms.parts import parts_of, write_part
from ..people import Actor
from . import duties
from .machines import next_state


def _targets(definition: Definition, stage: Any, trigger: Trigger, user: Actor, task: Any,
             unit: str | None, context: dict) -> list[str]:
    own = unit_for(user, trigger.by, task.level, task.region_code)
    if own and unit and unit != own:
        raise NotPermitted(f"{user.username} bertindak untuk unit {own}, bukan {unit}", **context)
    chosen = own or unit
    if chosen is None:
        if trigger.id in definition.lifecycle.parts_any:
            return list(stage.parts)  # e.g. the approver sends every part back
        raise Refused(f"'{trigger.name}' berlaku untuk bagian satu unit: pilih unitnya "
                      f"({', '.join(stage.parts)})", **context)
    if chosen not in stage.parts:
        raise Refused(f"tahap ini tidak punya bagian unit '{chosen}'; bagiannya: "
                      f"{', '.join(stage.parts)}", unit=chosen, **context)
    return [chosen]


def stage_follows(definition: Definition, trigger: Trigger, states: dict[str, str]) -> bool:
    """Does the stage take ``trigger``'s state, given every part's state after it?"""
    lc = definition.lifecycle
    if trigger.id in lc.parts_any:
        return True
    later = lc.parts_all[lc.parts_all.index(trigger.id):]
    reached = {lc.triggers[t].dest for t in later}
    return all(state in reached for state in states.values())


@dataclass(frozen=True)
class PartMove:
    units: list[str]        # the parts that moved
    states: dict[str, str]  # every part's state after the move
    stage_dest: str | None  # where the stage follows them, or None: it stays


def move_parts(session: Session, *, task: Any, definition: Definition, trigger: Trigger,
               user: Actor, unit: str | None, reason: str | None, now: dt.datetime,
               context: dict) -> PartMove:
    """Move the part(s) ``trigger`` acts on; say whether the stage follows. The caller
    moves the stage (or records that only a part moved)."""
    stage = definition.stage(task.stage)
    locked = lock_stage(session, task.id)
    if locked.version != task.version:
        raise Conflict("tahap ini baru saja diubah orang lain; muat ulang lalu coba lagi",
                       **context)
    targets = _targets(definition, stage, trigger, user, task, unit, context)
    parts = parts_of(session, task.id)
    start = part_start_state(definition)
    names = definition.lifecycle.states
    for u in targets:
        state = parts[u].state if u in parts else start
        if state not in trigger.sources:
            raise InvalidTrigger(f"bagian unit {u} berstatus '{names[state].name}': "
                                 f"'{trigger.name}' tidak berlaku", unit=u, **context)
    duties.check(session, definition, task, trigger, user.username, targets, context)
    if trigger.needs_valid_forms:
        for u in targets:
            problems = [p for p in stage_problems(session, definition, task, unit=u) if p.is_error]
            if problems:
                raise InvalidForm(f"bagian unit {u} belum valid ({len(problems)} masalah)",
                                  problems=[str(p) for p in problems], unit=u, **context)
    returned = trigger.id in definition.lifecycle.parts_any
    for u in targets:
        part = parts.get(u)
        # A return says why; a new submission answers it; anything else keeps it.
        note = reason if returned else (None if trigger.needs_valid_forms else
                                        (part.note if part else None))
        if not write_part(session, task.id, part, unit=u, data=part.data if part else {},
                          state=trigger.dest, note=note, by=user.username, now=now):
            raise Conflict("bagian ini baru saja diubah orang lain; muat ulang lalu coba lagi",
                           **context)
    changes.after_move(session, definition=definition, task_id=task.id, stage_id=task.stage,
                       trigger=trigger, units=targets, by=user.username, reason=reason, now=now)
    states = {u: (trigger.dest if u in targets else (parts[u].state if u in parts else start))
              for u in stage.parts}
    dest = None
    if stage_follows(definition, trigger, states):
        try:
            dest = next_state(definition, task.state, trigger.id)
        except InvalidTrigger:
            dest = None  # the stage's own lifecycle does not take this move from where it is
    return PartMove(targets, states, dest if dest != task.state else None)
