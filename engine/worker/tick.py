"""One tick: open the stages whose opening day has come, fire due reminders and escalations.

Idempotent and safe to run from any number of processes at once: every piece of
work is claimed in the database (conditional UPDATEs; ``SKIP LOCKED`` on
PostgreSQL) and done in the transaction that claims it, in batches, so a
worker killed half-way loses nothing and repeats nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select, update

from ..runtime import gates, notices
from ..store.library import pinned
from ..store import Database
from ..store.models import Task
from ..clock import utcnow

_TASKS = Task.__table__


@dataclass
class TickReport:
    now: str
    opened: int = 0
    reminders: int = 0
    escalations: int = 0
    skipped: int = 0  # notices not sent because their stage was already done

    def as_dict(self) -> dict:
        return asdict(self)


def tick(db: Database, now: dt.datetime | None = None, *, batch: int = 1000) -> TickReport:
    now = now or utcnow()
    report = TickReport(now=now.isoformat())
    while True:
        with db.session() as session:
            claimed, opened = _open_by_date(session, now, batch)
        report.opened += opened
        if claimed < batch:
            break
    while True:
        with db.session() as session:
            fired = notices.fire_due(session, now, limit=batch)
        report.reminders += fired.reminders
        report.escalations += fired.escalations
        report.skipped += fired.skipped
        # Go on while a batch was full, or while firing scheduled notices already due
        # (a worker was down past several moments of one task).
        if fired.handled < batch and not fired.next_due:
            break
    return report


def _open_by_date(session, now: dt.datetime, limit: int) -> tuple[int, int]:
    """Claim tasks whose opening day has come; open those whose whole gate holds."""
    conn = session.connection()
    due = (select(_TASKS.c.id)
           .where(_TASKS.c.opens_pending.is_(True), _TASKS.c.opens_at <= now)
           .order_by(_TASKS.c.opens_at, _TASKS.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = conn.execute(due).scalars().all()
    if not ids:
        return 0, 0
    claimed = conn.execute(
        update(_TASKS).where(_TASKS.c.id.in_(ids), _TASKS.c.opens_pending.is_(True))
        .values(opens_pending=False).returning(*_TASKS.c)).all()
    opened = 0
    for task in claimed:
        d = pinned(session, task.definition_hash)
        # The rest of the gate (after, waits_for) is judged now; if it does not hold,
        # the approval that completes it will open the stage (see runtime/gates.py).
        if gates.try_open(session, task, d, now):
            opened += 1
    return len(ids), opened
