"""Every stage's window in a given year, as rows or as a Mermaid Gantt chart.

The bar of a stage starts at the latest of its opening day and the deadlines
of what it waits for: the day it is open at the latest when everybody before
it is on time. A stage that would start after its own deadline is a contradiction
and is drawn as a critical milestone on its deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from ..clock.deadlines import due_date
from ..definitions import Definition, DefinitionSet, Stage


@dataclass(frozen=True)
class CalendarRow:
    level: str
    stage: str
    name: str
    group: str
    kind: str
    opens: dt.date
    starts: dt.date  # opening day at the latest, if what it waits for is on time
    due: dt.date
    waits: tuple[str, ...]  # "stage" or "level:stage"

    @property
    def contradiction(self) -> bool:
        return self.starts > self.due


def calendar_rows(definitions: DefinitionSet, year: int,
                  levels: Iterable[str] | None = None) -> list[CalendarRow]:
    wanted = set(levels) if levels else None
    rows: list[CalendarRow] = []
    for d in sorted(definitions, key=lambda d: -d.tier):  # children first
        if wanted is not None and d.level not in wanted:
            continue
        rows += _rows(definitions, d, year)
    return rows


def _rows(definitions: DefinitionSet, d: Definition, year: int) -> list[CalendarRow]:
    rows = []
    for s in d.stages:
        waits = list(s.after)
        before = [_due(d.stage(a), year) for a in s.after]
        if s.waits_for:
            child = definitions[s.waits_for.level]
            before.append(_due(child.stage(s.waits_for.stage), year))
            waits.append(f"{s.waits_for.level}:{s.waits_for.stage}")
        opens = s.opens.in_year(year)
        starts = max([opens] + before)
        rows.append(CalendarRow(d.level, s.id, s.name, s.group, s.kind, opens, starts,
                                _due(s, year), tuple(waits)))
    return rows


def _due(stage: Stage, year: int) -> dt.date:
    return due_date(stage.due, year, stage.roll)


def gantt(rows: list[CalendarRow], year: int) -> str:
    lines = ["gantt", f"  title Kalender Aksi Konvergensi {year}", "  dateFormat YYYY-MM-DD",
             "  axisFormat %d %b"]
    for level in dict.fromkeys(r.level for r in rows):
        lines.append(f"  section {level}")
        for r in (r for r in rows if r.level == level):
            task = f"{r.name.replace(':', ' ')} :"
            if r.contradiction:
                lines.append(f"  {task}crit, milestone, {r.level}_{r.stage}, {r.due}, 0d")
            else:
                lines.append(f"  {task}{r.level}_{r.stage}, {r.starts}, {r.due + dt.timedelta(days=1)}")
    return "\n".join(lines) + "\n"
