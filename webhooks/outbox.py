"""Queueing: the event table is the outbox; each subscription has a cursor into it.

`enqueue` turns new events into ``webhook_deliveries`` rows, one per event and
matching subscription, and moves each subscription's cursor past what it has
scanned - in one transaction of its own, never the transaction that wrote the
events. The cursor (with its handling of late events on PostgreSQL) is the
channel-neutral one of engine/outbox/cursor.py, shared with the e-mail channel;
the unique key (event, subscription) refuses whatever slipped through
(``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import exists, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.outbox.cursor import DEFAULT_LIMIT, cursors, final_event_id, forget_notes, take_new
from engine.store.models import Event, WebhookDelivery

from .config import Subscription

__all__ = ["DEFAULT_LIMIT", "cursors", "enqueue", "forget_notes"]

_EVENTS = Event.__table__
_DELIVERIES = WebhookDelivery.__table__


def enqueue(session: Session, subscriptions: Iterable[Subscription], limit: int = DEFAULT_LIMIT,
            *, now: dt.datetime | None = None) -> int:
    """Queue the new events of every subscription; return how many deliveries were queued.

    At most ``limit`` deliveries per subscription: when the result reaches
    ``limit``, call again. Meant to run in a transaction of its own
    (``with db.session() as s: enqueue(s, subs)``), committed quickly.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    now = now or utcnow()
    subs = sorted(subscriptions, key=lambda s: s.name)  # lock cursors in one order: no deadlock
    if not subs:
        return 0
    is_pg = session.get_bind().dialect.name == "postgresql"
    final = final_event_id(session) if is_pg else None
    queued = 0
    for sub in subs:
        queued += _enqueue_one(session, sub, limit, now, is_pg, final)
    return queued


def _enqueue_one(session: Session, sub: Subscription, limit: int, now: dt.datetime,
                 is_pg: bool, final: int | None) -> int:
    already = exists().where(_DELIVERIES.c.event_id == _EVENTS.c.id,
                             _DELIVERIES.c.subscription == sub.name)
    ids = [r.id for r in take_new(session, sub.name, where=_filters(sub), queued=already,
                                  limit=limit, final=final)]
    if not ids:
        return 0
    insert = postgresql.insert if is_pg else sqlite.insert
    rows = [dict(event_id=i, subscription=sub.name, status="pending", attempts=0,
                 next_attempt_at=now) for i in ids]
    stmt = (insert(_DELIVERIES)
            .on_conflict_do_nothing(index_elements=["event_id", "subscription"])
            .returning(_DELIVERIES.c.id))
    return len(session.connection().execute(stmt, rows).all())


def _filters(sub: Subscription) -> list:
    e = _EVENTS
    where = []
    if not sub.all_kinds:
        where.append(e.c.kind.in_(sub.events))
    if sub.regions:
        # Codes hold digits and dots only (checked in config), so LIKE needs no escaping.
        where.append(or_(*(or_(e.c.region_code == p, e.c.region_code.like(p + ".%"))
                           for p in sub.regions)))
    return where
