"""Extending deadlines: a supervisor moves one stage's due day, or a stage's for every region below.

Who may: a user holding a role marked ``supervises: true`` in its level's
definition, on a region above the task's region. A reason is required. The task's
version is bumped, an event records old and new deadline, and the pending
reminders and escalations are replaced by ones for the new deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..clock.deadlines import end_of_day
from ..errors import NotFound, NotPermitted, ReasonRequired, Refused
from ..people import Actor, actor
from ..regions import is_within, within_clause
from ..store.models import DefinitionRow, Region, Task
from ..store import events, task_rows
from . import counters, notices
from .reasons import check_length
from ..store.library import pinned

_TASKS = Task.__table__


@dataclass
class ExtendReport:
    extended: list[str] = field(default_factory=list)  # region codes
    skipped_done: list[str] = field(default_factory=list)
    notices: int = 0

    def as_dict(self) -> dict:
        return {"extended": self.extended, "skipped_done": self.skipped_done,
                "notices": self.notices}


def supervising_roles(session: Session) -> set[tuple[str, str]]:
    """(level, role) pairs marked ``supervises`` in the definitions in use."""
    found = set()
    for (content_hash,) in session.execute(select(DefinitionRow.content_hash)).all():
        d = pinned(session, content_hash)
        found |= {(d.level, r.id) for r in d.roles.values() if r.supervises}
    return found


def may_extend(user: Actor, region_code: str, supervising: set[tuple[str, str]]) -> bool:
    return user.active and any(
        (a.level, a.role) in supervising and is_within(region_code, a.region_code)
        and region_code != a.region_code
        for a in user.assignments)


def extend(session: Session, *, area: str, stage: str, year: int, until: dt.date, reason: str,
           username: str, level: str | None = None,
           now: dt.datetime | None = None) -> ExtendReport:
    """Move the due day of ``stage`` to ``until`` (end of day, each region's zone).

    Without ``level``: the one task of region ``area``. With ``level``: that level's
    task in every region within ``area``. All or nothing.
    """
    now = now or utcnow()
    if not (reason and reason.strip()):
        raise ReasonRequired("perpanjangan tenggat memerlukan alasan tertulis", stage=stage)
    check_length(reason, stage=stage)
    query = (select(_TASKS, Region.timezone).join(Region, Region.code == _TASKS.c.region_code)
             .where(_TASKS.c.stage == stage, _TASKS.c.year == year))
    if level is None:
        query = query.where(_TASKS.c.region_code == area)
    else:
        query = query.where(_TASKS.c.level == level, within_clause(_TASKS.c.region_code, area))
    # FOR NO KEY UPDATE: a tick inserting inbox rows or events that refer to these tasks
    # (a KEY SHARE lock, for the foreign key) must not deadlock with an extension.
    rows = session.connection().execute(query.with_for_update(of=_TASKS, key_share=True)).all()
    if not rows:
        raise NotFound(f"tidak ada tahap '{stage}' tahun {year} di {area}"
                       + (f" untuk tingkat {level}" if level else ""), region=area, stage=stage)
    user = actor(session, username)
    supervising = supervising_roles(session)
    refused = [r.region_code for r in rows if not may_extend(user, r.region_code, supervising)]
    if refused:
        raise NotPermitted(f"{username} tidak mengawasi {', '.join(refused[:5])}"
                           + (" ..." if len(refused) > 5 else "")
                           + ": perpanjangan hanya oleh peran pengawas di wilayah atasnya",
                           username=username, region=area, stage=stage)
    report = ExtendReport()
    for row in rows:
        d = pinned(session, row.definition_hash)
        if row.state == d.lifecycle.done:
            report.skipped_done.append(row.region_code)
            continue
        new_due = end_of_day(until, row.timezone)
        if new_due <= row.due_at:
            raise Refused(f"tenggat baru {until.isoformat()} tidak sesudah tenggat sekarang "
                          f"{row.due_at.isoformat()} ({row.region_code})",
                          region=row.region_code, stage=stage)
        task_rows.move(session, row, due_at=new_due, now=now,
                       conflict="tahap baru saja diubah orang lain; coba lagi")
        counters.deadline_moved(session, row, new_due)
        events.record(session, "deadline_extended", actor=username, at=now, task=row,
                      from_state=row.state, to_state=row.state,
                      payload={"from": row.due_at.isoformat(), "to": new_due.isoformat(),
                               "reason": reason})
        report.notices += notices.reschedule(session, row, d.stage(stage), new_due, now)
        report.extended.append(row.region_code)
    return report
