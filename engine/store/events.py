"""Writing events: every change appends one, in the transaction of the change."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any, Callable, Mapping

from sqlalchemy import bindparam, event, insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from .models import Event
from .prepared import Prepared

SYSTEM_ACTOR = "system"
_COLUMNS = ("at", "kind", "actor", "case_id", "task_id", "region_code", "level", "year", "stage",
            "from_state", "to_state", "payload")
# Runs on the driver: events are written by every action and never read back in the
# transaction that writes them.
_INSERT = Prepared(insert(Event.__table__).values({c: bindparam(c) for c in _COLUMNS}))


# Who hears of committed events (the metrics, engine/web/metrics.py): each listener gets,
# after a transaction commits, how many events of each kind it wrote. Kept on the
# connection the transaction runs on (a session opened by `Database.session` on SQLite
# joins a connection's transaction and never commits itself) and dropped by a rollback.
_PENDING = "aksi.events.pending"
_listeners: list[Callable[[Mapping[str, int]], None]] = []
_listeners_lock = threading.Lock()


def on_committed(listener: Callable[[Mapping[str, int]], None]) -> None:
    """Call ``listener`` with {kind: count} after each commit that wrote events (once per
    listener, however often it is added)."""
    with _listeners_lock:
        if listener not in _listeners:
            _listeners.append(listener)


def _tally(session: Session, kinds: Mapping[str, int]) -> None:
    if _listeners:
        session.connection().info.setdefault(_PENDING, Counter()).update(kinds)


def _committed(conn: Connection) -> None:
    kinds = conn.info.pop(_PENDING, None)
    if kinds:
        for listener in list(_listeners):
            listener(kinds)


def _discarded(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


event.listen(Engine, "commit", _committed)
event.listen(Engine, "rollback", _discarded)


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
    _tally(session, {kind: 1})


def record_all(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append many events at once; each row names every column of ``record``'s INSERT."""
    _INSERT.write_many(session, rows)
    if _listeners:
        _tally(session, Counter(row["kind"] for row in rows))
