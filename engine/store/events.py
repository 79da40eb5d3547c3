"""Writing events: every change appends one, in the transaction of the change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.orm import Session

from .models import Event
from .prepared import Prepared

SYSTEM_ACTOR = "system"
_COLUMNS = ("at", "kind", "actor", "case_id", "task_id", "region_code", "level", "year", "stage",
            "from_state", "to_state", "payload")
# Runs on the driver: events are written by every action and never read back in the
# transaction that writes them.
_INSERT = Prepared(insert(Event.__table__).values({c: bindparam(c) for c in _COLUMNS}))


def record(session: Session, kind: str, *, actor: str, at: dt.datetime, task: Any = None,
           from_state: str | None = None, to_state: str | None = None,
           payload: dict[str, Any] | None = None, case_id: int | None = None,
           region_code: str | None = None, level: str | None = None,
           year: int | None = None) -> None:
    _INSERT.write(session, **dict(
        at=at, kind=kind, actor=actor,
        case_id=task.case_id if task else case_id,
        task_id=task.id if task else None,
        region_code=task.region_code if task else region_code,
        level=task.level if task else level,
        year=task.year if task else year,
        stage=task.stage if task else None,
        from_state=from_state, to_state=to_state, payload=payload,
    ))


def record_all(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many events at once; each row names every column of ``record``'s INSERT."""
    _INSERT.write_many(session, rows)
