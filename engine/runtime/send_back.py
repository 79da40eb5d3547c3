"""Sending a stage back with the cells concerned marked: the cells checked against the
parts sent back (forms/changes.py), the trigger fired as every action is (`act`), the marks
stored with the return - in the caller's transaction, so a refusal anywhere changes
nothing. What the stage page's return form, the CLI (``--mark``) and the API (``marks``)
run."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from sqlalchemy.orm import Session

from ..errors import InvalidForm
from ..forms.changes import (
    check_cells, is_send_back, mark_cells, marked_cells, send_back_triggers,
)
from ..forms.entry import context_for, stage_documents, unit_for
from ..forms.parts import WHOLE
from ..people import Actor, actor
from ..store.library import pinned
from ..store.task_rows import find_task
from .actions import act


def send_back_on(session: Session, region: str, stage: str, year: int, trigger: str,
                 username: str, *, reason: str | None, marks: Iterable[str],
                 unit: str | None = None, expected_version: int | None = None,
                 now: dt.datetime) -> Any:
    """`send_back` on the stage found by region, stage and year, as ``username``, with the
    cells of ``marks`` (`marked_cells`): what the CLI and the API run for a return with
    marked cells. A bad mark (not a field, a region or row the stage does not have) is
    refused in Bahasa and nothing changes."""
    task = find_task(session, region, stage, year)
    definition = pinned(session, task.definition_hash)
    keys, problems = marked_cells(definition, marks)
    if problems:
        raise InvalidForm(f"sel yang ditandai tidak dikenal ({len(problems)}); tidak ada yang "
                          "diubah", problems=problems, region=region, stage=stage, year=year,
                          trigger=trigger)
    return send_back(session, task=task, trigger=trigger, user=actor(session, username),
                     reason=reason, cells=keys, unit=unit, expected_version=expected_version,
                     now=now)


def send_back(session: Session, *, task: Any, trigger: str, user: Actor, reason: str | None,
              cells: Iterable[str] = (), unit: str | None = None,
              expected_version: int | None = None, now: dt.datetime) -> Any:
    """Fire a send-back ``trigger`` (e.g. return) with the cells concerned marked.

    The cells are checked first: each must be a cell of the parts sent back (the one
    unit's, or every part when the approver returns them all). Then the trigger fires as
    `act` does (roles, state, reason, version) and the cells are stored
    with the return, in the caller's transaction: a refusal anywhere changes nothing.
    """
    definition = pinned(session, task.definition_hash)
    lc = definition.lifecycle
    context = {"region": task.region_code, "stage": task.stage, "year": task.year,
               "trigger": trigger}
    spec = definition.triggers(task.stage).get(trigger)
    if spec is None or not is_send_back(definition, spec):
        raise InvalidForm(f"'{trigger}' bukan pemicu untuk mengembalikan tahap; pilihan: "
                          + ", ".join(t.id for t in send_back_triggers(definition, task.stage)),
                          problems=[], **context)
    stage = definition.stage(task.stage)
    keys = [k for k in cells if k]
    marked: dict[str, list[str]] = {}
    if keys:
        if stage.parts and lc.acts_on_part(trigger):
            chosen = unit_for(user, spec.by, task.level, task.region_code) or unit
            units = [chosen] if chosen else list(stage.parts)
        else:
            units = list(stage.parts) or [WHOLE]
        if all(u in stage.parts for u in units if u) or not stage.parts:
            marked = check_cells(definition, stage, keys, units=units,
                                 rows=context_for(session, definition, task).rows,
                                 documents=stage_documents(session, definition, task),
                                 context=context)
        # else: an unknown unit - `act` refuses it in its own words
    result = act(session, task=task, trigger=trigger, user=user, reason=reason, unit=unit,
                 expected_version=expected_version, now=now)
    if marked:
        mark_cells(session, task_id=task.id, cells=marked)
    return result
