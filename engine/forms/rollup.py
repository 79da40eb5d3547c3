"""Roll-up: a parent's document pre-filled, per child region, with its children's approved data.

A parent form's rules file declares it (``rollup:``): which child stage, form and section,
and which fields are summed over each child's rows (a yes/no field counts its yes). When a
child stage reaches its done state, its sums are written into one row of the parent's
stage (``form_rollups``, keyed by parent stage and child); when it leaves it, the row goes.
Sibling approvals thus never write the same row. Documents are read with the roll-up rows
beneath what the parent's own operators typed (parts.documents), so a typed value is never
overwritten, and a later approval only replaces the child's own row.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from ..store.models import FormRollup, Task
from ..store.prepared import Prepared
from .parts import documents, parts_of, rollups_of
from ..definitions.forms.rules import Rollup, rules_of
from ..definitions.forms.spec import PER_REGION, spec_of

_TASKS = Task.__table__
_ROLLUPS = FormRollup.__table__
# Every approval asks whether its parent sums it: one row answers (a case pins one
# definition), and only then are the parent's stages read.
_PARENT_DEFINITION = Prepared(select(_TASKS.c.definition_hash).where(
    _TASKS.c.region_code == bindparam("region"), _TASKS.c.year == bindparam("year")).limit(1))
_PARENT_STAGES = Prepared(select(_TASKS.c.id, _TASKS.c.stage).where(
    _TASKS.c.region_code == bindparam("region"), _TASKS.c.year == bindparam("year")))
_DROP = Prepared(delete(_ROLLUPS).where(_ROLLUPS.c.task_id == bindparam("task_id"),
                                        _ROLLUPS.c.child_code == bindparam("child")))
_ADD = Prepared(insert(_ROLLUPS).values(task_id=bindparam("task_id"),
                                        child_code=bindparam("child"), data=bindparam("data"),
                                        updated_at=bindparam("now")))


@functools.lru_cache(maxsize=64)
def feeds(definition: Any) -> dict[str, list[tuple[str, str, Rollup]]]:
    """Child stage id -> (parent stage, parent form, roll-up) of ``definition`` it feeds."""
    out: dict[str, list[tuple[str, str, Rollup]]] = {}
    for stage in definition.stages:
        for form in stage.outputs:
            for r in rules_of(definition, form).rollup:
                out.setdefault(r.stage, []).append((stage.id, form, r))
    return out


def child_sums(definition: Any, stage: str, docs: Mapping[str, dict],
               rollups: Iterable[Rollup]) -> dict[str, dict]:
    """{parent form: {section: {field: sum}}} of one child's documents."""
    out: dict[str, dict] = {}
    for r in rollups:
        rows = docs.get(r.form, {}).get(r.from_section)
        values = rows.values() if isinstance(rows, dict) else (rows or [])
        sums: dict[str, int | float] = {}
        for row in values:
            if not isinstance(row, dict):
                continue
            for name in r.sum:
                v = row.get(name)
                if isinstance(v, bool):
                    v = int(v)
                if isinstance(v, (int, float)):
                    sums[name] = sums.get(name, 0) + v
        out.setdefault(r.parent_form, {})[r.section] = sums
    return out


def child_changed(session: Session, child: Any, child_definition: Any, *, done: bool,
                  now: dt.datetime, definition_of: Callable[[str], Any]) -> int:
    """A child stage reached (``done``) or left its done state: write or drop its roll-up
    rows in the parent's stages that sum it. Returns how many parent stages changed."""
    if not child.parent_code:
        return 0
    parent = _PARENT_DEFINITION.first(session, region=child.parent_code, year=child.year)
    if parent is None:
        return 0
    wanted = feeds(definition_of(parent.definition_hash)).get(child.stage)
    if not wanted:
        return 0
    parents = _PARENT_STAGES.rows(session, region=child.parent_code, year=child.year)
    outputs = set(child_definition.stage(child.stage).outputs)
    wanted = [(s, f, r) for s, f, r in wanted if r.form in outputs]
    by_stage = {p.stage: p.id for p in parents}
    docs = documents(child_definition, child.stage, parts_of(session, child.id),
                     rollups_of(session, child.id)) if done else {}
    changed = 0
    for parent_stage in {s for s, _, _ in wanted}:
        task_id = by_stage.get(parent_stage)
        if task_id is None:
            continue
        _DROP.write(session, task_id=task_id, child=child.region_code)
        if done:
            mine = [_Bound(f, r) for s, f, r in wanted if s == parent_stage]
            _ADD.write(session, task_id=task_id, child=child.region_code, now=now,
                       data=child_sums(child_definition, child.stage, docs, mine))
        changed += 1
    return changed


class _Bound:
    """A roll-up with the parent form it fills (child_sums groups by it)."""

    def __init__(self, parent_form: str, rollup: Rollup):
        self.parent_form = parent_form
        self.section, self.form = rollup.section, rollup.form
        self.from_section, self.sum = rollup.from_section, rollup.sum


def recompute(session: Session, parent: Any, parent_definition: Any, *,
              definition_of: Callable[[str], Any], done_state_of: Callable[[Any], str],
              now: dt.datetime) -> int:
    """Rebuild every roll-up row of one parent stage from its children's current documents
    (those in their done state). Returns the number of children summed."""
    stage = parent_definition.stage(parent.stage)
    bound = [_Bound(f, r) for f in stage.outputs for r in rules_of(parent_definition, f).rollup]
    if not bound:
        return 0
    session.execute(delete(FormRollup).where(FormRollup.task_id == parent.id))
    children = session.execute(select(Task.id, Task.stage, Task.state, Task.region_code,
                                      Task.definition_hash)
                               .where(Task.parent_code == parent.region_code,
                                      Task.year == parent.year)).all()
    rows, counted = [], 0
    for c in children:
        d = definition_of(c.definition_hash)
        outputs = set(d.stage(c.stage).outputs)
        mine = [b for b in bound if b.form in outputs]
        if not mine or c.state != done_state_of(d):
            continue
        docs = documents(d, c.stage, parts_of(session, c.id), rollups_of(session, c.id))
        rows.append({"task_id": parent.id, "child": c.region_code, "now": now,
                     "data": child_sums(d, c.stage, docs, mine)})
        counted += 1
    if rows:
        _ADD.write_many(session, rows)
    return counted


def section_sums(definition: Any, form: str, doc: Mapping[str, Any]) -> dict[str, dict]:
    """Totals over the rows of every per-child section of a document (for display)."""
    spec = spec_of(definition, form)
    out: dict[str, dict] = {}
    for section in spec.sections:
        value = doc.get(section.name)
        if section.kind != PER_REGION or not isinstance(value, dict):
            continue
        totals: dict[str, float] = {}
        for row in value.values():
            for f in section.fields:
                v = row.get(f.name) if isinstance(row, dict) else None
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    totals[f.name] = totals.get(f.name, 0) + v
        out[section.name] = totals
    return out

