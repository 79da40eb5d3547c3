"""How a year is going in a supervisor's regions: per level and stage, how many stages are
in each state and how many are overdue. One grouped query over the tasks below the
supervisor's areas (indexed by region and year), whatever the number of regions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..regions import within_clause
from ..store.models import Task
from ..store.library import pinned


@dataclass
class StageProgress:
    level: str
    stage: str
    stage_name: str
    position: int  # the stage's place in its definition: rows keep the juknis order
    tier: int
    total: int = 0
    done: int = 0
    overdue: int = 0  # past the deadline and not done
    by_state: dict[str, int] = field(default_factory=dict)  # state name -> count

    @property
    def done_percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def as_dict(self) -> dict:
        return {"level": self.level, "stage": self.stage, "stage_name": self.stage_name,
                "total": self.total, "done": self.done, "done_percent": self.done_percent,
                "overdue": self.overdue, "by_state": self.by_state}


def progress(session: Session, areas: Iterable[str], year: int,
             now: dt.datetime | None = None) -> list[StageProgress]:
    """Every stage of ``year`` in and below ``areas`` (region codes), counted by state;
    rows ordered by level (highest first) and by each definition's stage order."""
    now = now or utcnow()
    areas = sorted(set(areas))
    if not areas:
        return []
    late = func.sum(case((Task.due_at < now, 1), else_=0))
    rows = session.execute(
        select(Task.definition_hash, Task.level, Task.stage, Task.state, func.count(), late)
        .where(Task.year == year,
               or_(*[within_clause(Task.region_code, a) for a in areas]))
        .group_by(Task.definition_hash, Task.level, Task.stage, Task.state)).all()
    found: dict[tuple[str, str], StageProgress] = {}
    for content_hash, level, stage, state, count, past_due in rows:
        d = pinned(session, content_hash)
        entry = found.get((level, stage))
        if entry is None:
            ids = [s.id for s in d.stages]
            entry = found[level, stage] = StageProgress(
                level, stage, d.stage(stage).name, ids.index(stage), d.tier)
        name = d.lifecycle.states[state].name if state in d.lifecycle.states else state
        entry.by_state[name] = entry.by_state.get(name, 0) + count
        entry.total += count
        if state == d.lifecycle.done:
            entry.done += count
        else:
            entry.overdue += int(past_due or 0)
    return sorted(found.values(), key=lambda p: (p.tier, p.position))
