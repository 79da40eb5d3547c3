"""Task rows: finding one (`find_task`) and changing it (`move`, one optimistic-lock move,
used by actions, gates, extensions and migrations).

Every change of a task row is an UPDATE conditioned on the version its caller read, that
bumps the version (``version = version + 1``). A row someone changed meanwhile matches
nothing: `move` then raises `Conflict`, and the caller's transaction rolls back, so a
refused change changes nothing. Nobody writes a task row blindly.

The statement for each set of columns is compiled once and run on the driver
(store/prepared.py): it is on the path of every click.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, select, update

from ..errors import Conflict, NotFound
from .models import Region, Task
from .prepared import Prepared

_TASKS = Task.__table__
_STATEMENTS: dict[tuple[str, ...], Prepared] = {}
# What actions, gates and extensions move; and what a migration re-pinning a case rewrites.
MOVABLE = frozenset({"state", "done_at", "due_at", "stage", "definition_hash", "opens_at",
                     "opens_pending", "waits_on"})


def find_task(session: Any, region: str, stage: str, year: int) -> Task:
    """The task of ``stage`` for ``region`` in ``year``; `NotFound` naming what is missing
    (the region, or the stage in that year)."""
    task = session.scalar(
        select(Task).where(Task.region_code == region, Task.stage == stage, Task.year == year))
    if task is None:
        if session.get(Region, region) is None:
            raise NotFound(f"wilayah '{region}' tidak ada", region=region)
        raise NotFound(f"tidak ada tahap '{stage}' untuk {region} tahun {year}"
                       " (sudah `aksi year start`?)", region=region, stage=stage, year=year)
    return task


def _statement(columns: tuple[str, ...]) -> Prepared:
    found = _STATEMENTS.get(columns)
    if found is None:
        unknown = set(columns) - MOVABLE
        if unknown:
            raise ValueError(f"task rows do not move by {sorted(unknown)}")
        found = _STATEMENTS[columns] = Prepared(
            update(_TASKS)
            .where(_TASKS.c.id == bindparam("task_id"),
                   _TASKS.c.version == bindparam("read_version"))
            .values({**{c: bindparam(f"new_{c}") for c in columns},
                     "updated_at": bindparam("now"), "version": _TASKS.c.version + 1}))
    return found


def move(session: Any, task: Any, *, now: dt.datetime, conflict: str,
         context: dict[str, Any] | None = None, **values: Any) -> None:
    """Set ``values`` (of `MOVABLE`) on ``task``'s row if it is still at ``task.version``;
    else raise `Conflict` with the message ``conflict`` (in Bahasa Indonesia) and
    ``context`` (default: the task's region and stage)."""
    columns = tuple(sorted(values))
    matched = _statement(columns).write(
        session, task_id=task.id, read_version=task.version, now=now,
        **{f"new_{c}": values[c] for c in columns})
    if matched != 1:
        raise Conflict(conflict, **(context if context is not None else
                                    {"region": task.region_code, "stage": task.stage}))
