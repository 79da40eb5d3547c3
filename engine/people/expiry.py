"""Removing rows whose time has passed, a batch at a time, as part of normal operation.

``DELETE ... WHERE key IN (SELECT key ... LIMIT n FOR UPDATE SKIP LOCKED)``: on
PostgreSQL two requests pruning at once never wait for each other's rows (so they cannot
deadlock, whatever order their scans take), and a row another transaction is renewing
meanwhile is skipped, or found renewed and kept (READ COMMITTED re-checks the condition on
the row's newest version). SQLite has no row locks (its writers queue on the database
lock), and SQLAlchemy leaves ``FOR UPDATE`` out there. A batch bounds the work one
request does; the requests that add rows also prune, so the table cannot outgrow them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

BATCH = 500


def delete_expired(session: Session, key: InstrumentedAttribute, expired: ColumnElement[bool],
                   batch: int = BATCH) -> int:
    """Delete up to ``batch`` rows of ``key``'s table matching ``expired``; how many."""
    doomed = select(key).where(expired).limit(batch).with_for_update(skip_locked=True)
    return session.execute(delete(key.class_).where(key.in_(doomed)),
                           execution_options={"preserve_rowcount": True,
                                              "synchronize_session": False}).rowcount
