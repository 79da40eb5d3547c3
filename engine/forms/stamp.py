"""The version of what a stage's documents show: a small, comparable stamp read without
decoding any document.

A stage's documents, their check and last year's values beside them depend on

- the stage itself (its state and version, the definition it pins),
- each part's state and version (a save that changes data bumps its part's version),
- the roll-up rows its child regions' approvals wrote (``form_rollups``: child and time
  written; a child's approval replaces its own row, its reopening deletes it),
- last year's stage of the same region: the same three, since an approved stage is shown
  beside this year's values (only while it is done; reopening it changes its version).

`data_stamp` reads exactly these (three small indexed queries, a fourth and fifth only
when last year's stage exists) and returns them as a tuple: two equal stamps mean equal
documents, equal problems and equal last-year values, so anything computed from them may
be kept under the stamp (engine/web/page_cache.py keeps the stage page's form under it).
The region's desa come from the regions table, which only ``aksi regions load`` changes;
they are not in the stamp.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..store.models import FormPart, FormRollup, Task
from ..store.prepared import Prepared

_PARTS = FormPart.__table__
_ROLLUPS = FormRollup.__table__
_TASKS = Task.__table__

_BOTH = (bindparam("this"), bindparam("before"))
_PART_STAMPS = Prepared(select(_PARTS.c.task_id, _PARTS.c.unit, _PARTS.c.state, _PARTS.c.version)
                        .where(_PARTS.c.task_id.in_(_BOTH))
                        .order_by(_PARTS.c.task_id, _PARTS.c.unit))
_ROLLUP_STAMPS = Prepared(select(_ROLLUPS.c.task_id, _ROLLUPS.c.child_code, _ROLLUPS.c.updated_at)
                          .where(_ROLLUPS.c.task_id.in_(_BOTH))
                          .order_by(_ROLLUPS.c.task_id, _ROLLUPS.c.child_code))
_YEAR_BEFORE = Prepared(select(_TASKS.c.id, _TASKS.c.state, _TASKS.c.version,
                               _TASKS.c.definition_hash)
                        .where(_TASKS.c.region_code == bindparam("region"),
                               _TASKS.c.stage == bindparam("stage"),
                               _TASKS.c.year == bindparam("year")))


def data_stamp(session: Session, task: Any) -> tuple:
    """The stamp of ``task``'s documents and last year's beside them (see the module):
    (this year's, last year's or None), each (id, state, version, definition hash, its
    parts' (unit, state, version), its roll-up rows' (child, time written)). Three
    queries: last year's stage, then the parts and the roll-up rows of both at once."""
    before = _YEAR_BEFORE.first(session, region=task.region_code, stage=task.stage,
                                year=task.year - 1)
    ids = {"this": task.id, "before": before.id if before is not None else task.id}
    parts: dict[int, list] = {}
    for task_id, unit, state, version in _PART_STAMPS.rows(session, **ids):
        parts.setdefault(task_id, []).append((unit, state, version))
    rollups: dict[int, list] = {}
    for task_id, code, at in _ROLLUP_STAMPS.rows(session, **ids):
        rollups.setdefault(task_id, []).append((code, at.isoformat() if at else None))

    def stamp(task_id: int, state: str, version: int, definition_hash: str) -> tuple:
        return (task_id, state, version, definition_hash, tuple(parts.get(task_id, ())),
                tuple(rollups.get(task_id, ())))
    this = stamp(task.id, task.state, task.version, task.definition_hash)
    if before is None:
        return this, None
    return this, stamp(before.id, before.state, before.version, before.definition_hash)
