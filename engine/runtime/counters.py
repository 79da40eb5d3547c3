"""Progress counters: per area, year, level, stage, state and deadline, how many stages.

The dashboard of a region reads these instead of the tasks below it, so its cost does
not grow with the number of tasks. A task counts in its kab/kota and in its provinsi
(a task of a provinsi or kab/kota in its own region too): ``AREA_TIERS``; in a provinsi,
in the row of its kab/kota's shard (`shard_of`), so the dashboards sum over shards. A
done stage is keyed by whether it was done after its deadline and the week it was done (for charts);
"overdue now" is the sum of the not-done counts whose deadline has passed, so the clock
moving on changes no row.

Every change of a task's state or deadline adds its deltas here, in its transaction:
`moved` (actions.move, gates' open and relock), `deadline_moved` (extensions),
`started` (year start, in bulk). They are written at the transaction's end
(store/counts.py says how, and why that is safe under concurrency). `recount`
rebuilds the table from the tasks: the repair path (``aksi db recount``) and the
tests' oracle.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..regions import ancestors, tier_of
from ..store import counts
from ..store.batches import among
from ..store.models import ProgressCount, Task

Key = counts.Key

AREA_TIERS = 2  # provinsi (1) and kab/kota (2) keep counters; a kecamatan reads its tasks
SHARDS = 8  # rows per key of a provinsi, at most


@functools.lru_cache(maxsize=100_000)
def areas_of(region_code: str) -> tuple[str, ...]:
    """The counter areas a task of ``region_code`` counts in."""
    return tuple(a for a in (region_code, *ancestors(region_code)) if tier_of(a) <= AREA_TIERS)


@functools.lru_cache(maxsize=100_000)
def shard_of(region_code: str) -> int:
    """The counter shard of a task of ``region_code``: its kab/kota's number modulo
    `SHARDS` (0 for a provinsi's own tasks). One kab/kota's tasks keep one shard, so a
    kab/kota's rows are not split and year start can count a kecamatan's tasks by its
    kab/kota; a provinsi's rows are split by kab/kota, so acting in different kab/kota
    rarely waits on one row (store/counts.py). Readers sum every shard."""
    parts = region_code.split(".")
    return int(parts[1]) % SHARDS if len(parts) > 1 and parts[1].isdigit() else 0


def _keys(region_code: str, year: int, level: str, stage: str, tail: tuple) -> list[Key]:
    """The counter keys of a task of ``region_code`` in state ``tail`` (`_tail`)."""
    shard = shard_of(region_code)
    return [(area, year, level, stage, *tail, shard) for area in areas_of(region_code)]


def week_of(done_at: dt.datetime, year: int) -> int:
    """Week 1 is the year's first seven days (UTC); a stage done earlier counts in week 1."""
    return max(1, (done_at.date() - dt.date(year, 1, 1)).days // 7 + 1)


def _tail(state: str, due_at: dt.datetime, done_at: dt.datetime | None,
          year: int) -> tuple[str, dt.datetime, bool, int]:
    # done_at is set exactly while a stage is in its lifecycle's done state (actions.move).
    if done_at is None:
        return state, due_at, False, 0
    return state, due_at, done_at > due_at, week_of(done_at, year)


def moved(session: Session, task: Any, *, before: str, after: str, due_at: dt.datetime,
          done_before: dt.datetime | None, done_after: dt.datetime | None) -> None:
    """``task`` (anything with region_code, year, level, stage) went from ``before`` to
    ``after``; ``due_at`` is its deadline as the update left it."""
    old = _tail(before, due_at, done_before, task.year)
    new = _tail(after, due_at, done_after, task.year)
    if old == new:
        return
    _swap(session, task, old, new)


def _swap(session: Session, task: Any, old: tuple, new: tuple) -> None:
    """One less of ``task`` in state ``old`` (`_tail`), one more in ``new``."""
    counts.add(session, [
        *((key, -1) for key in _keys(task.region_code, task.year, task.level, task.stage, old)),
        *((key, 1) for key in _keys(task.region_code, task.year, task.level, task.stage, new))])


def deadline_moved(session: Session, task: Any, new_due: dt.datetime) -> None:
    """``task`` (a tasks row, not done) had its deadline moved to ``new_due``."""
    moved_from = _tail(task.state, task.due_at, task.done_at, task.year)
    moved_to = _tail(task.state, new_due, task.done_at, task.year)
    _swap(session, task, moved_from, moved_to)


def retallied(session: Session, before: Any | None, after: Any | None) -> None:
    """A task's counted key changed wholesale (a migration renamed its stage, mapped its
    state or moved its deadline), or it appeared (``before`` None) or went (``after``
    None). Each is anything with region_code, year, level, stage, state, due_at, done_at."""
    changes = []
    for task, sign in ((before, -1), (after, 1)):
        if task is not None:
            tail = _tail(task.state, task.due_at, task.done_at, task.year)
            changes += [(key, sign) for key in _keys(task.region_code, task.year, task.level,
                                                     task.stage, tail)]
    counts.add(session, changes)


def _grouped(session: Session, where: Iterable[Any], by_parent: bool) -> list[tuple[Key, int]]:
    """Counter deltas of the tasks ``where`` selects, grouped in the database by the
    region (or, ``by_parent``, the parent region) their areas derive from."""
    region = Task.parent_code if by_parent else Task.region_code
    query = (select(region, Task.year, Task.level, Task.stage, Task.state, Task.due_at,
                    Task.done_at, func.count())
             .where(*where)
             .group_by(region, Task.year, Task.level, Task.stage, Task.state, Task.due_at,
                       Task.done_at))
    out = []
    for code, year, level, stage, state, due, done_at, n in session.execute(query):
        if code is None:
            continue
        tail = _tail(state, due, done_at, year)
        out += [(key, n) for key in _keys(code, year, level, stage, tail)]
    return out



def started(session: Session, case_ids: list[int], tier: int) -> None:
    """Count the tasks year start just inserted for ``case_ids`` (one level of ``tier``):
    one grouped query, by parent region below the counter areas (a kecamatan's tasks
    count in its kab/kota's rows)."""
    counts.add(session, _grouped(session, [among(Task.case_id, case_ids)],
                                 by_parent=tier > AREA_TIERS))


def recount(session: Session) -> int:
    """Rebuild every counter from the tasks, in the caller's transaction (it reads about
    a row per task: a repair, not a page's path); the number of counter rows."""
    counts.discard(session)
    session.execute(delete(ProgressCount))
    found: dict[Key, int] = {}
    for key, n in _grouped(session, [], by_parent=False):
        found[key] = found.get(key, 0) + n
    counts.add(session, found.items())
    return sum(1 for n in found.values() if n)


_DUE = Task.__table__.c.due_at


def due_of(session: Session, task: Any) -> dt.datetime:
    """The deadline of ``task``: its own if it carries one, else read by id."""
    due = getattr(task, "due_at", None)
    if due is None:
        due = session.execute(select(_DUE).where(Task.__table__.c.id == task.id)).scalar_one()
    return due
