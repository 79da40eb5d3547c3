"""Queueing: the event table is the outbox; each subscription has a cursor into it.

`enqueue` turns new events into ``webhook_deliveries`` rows, one per event and
matching subscription, and moves each subscription's cursor past what it has
scanned - in one transaction of its own, never the transaction that wrote the
events: an event exists for delivery once its change has committed, and a
rolled-back change never reaches anybody.

Running `enqueue` twice, or from several processes at once, queues nothing
twice: the cursor row is locked while it is read and moved (``FOR UPDATE`` on
PostgreSQL; SQLite runs every write transaction under ``BEGIN IMMEDIATE``),
events that already have a delivery row are skipped, and the unique key
(event, subscription) refuses whatever slipped through (``ON CONFLICT DO NOTHING``).

Late events on PostgreSQL
-------------------------
Event ids come from a sequence, drawn when a row is inserted, but rows become
visible when their transaction commits. A transaction that drew id 10 and
commits after another one that drew id 11 makes 10 appear *behind* 11: a
cursor moved to 11 as soon as 11 was seen would never look at 10 again. A
national `start_year` writes hundreds of thousands of events in one transaction
lasting minutes, so re-scanning a fixed number of ids or seconds would not do.

What is done instead (SQLite needs none of it: its writers run one at a time,
so ids become visible in order):

- the scan always starts at the cursor and skips events already queued, so
  nothing beyond the cursor is missed, whatever the cursor's position;
- the cursor only moves up to an id below which every event is *final*
  (committed or rolled back). That is known from transaction ids, not clocks:
  at each call we note, from ``pg_current_snapshot()``, the highest visible event
  id ``M`` and the snapshot's ``xmax`` (every transaction that could still hold an
  invisible id below ``M`` has a transaction id below ``xmax``). Once a later
  snapshot's ``xmin`` - the oldest transaction still running - has reached that
  ``xmax``, all those transactions have ended, and the cursor may move to ``M``.
  When nothing else is running at all, the current ``M`` is final at once.

The notes are kept in this process's memory, per database (and per ``events``
table, so a recreated table forgets them); a new process starts without any,
and its cursor just lags until its first notes qualify, which costs some
re-scanning and never an event. A long transaction holds the cursor back while
it runs, and only the cursor: events committed meanwhile are queued as usual.
(One gap remains: a transaction whose *first* write is the events INSERT has
no transaction id for the microseconds between drawing the id and writing the
row. The engine writes events after the change they record, so it does not
happen there.)
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Iterable

from sqlalchemy import exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.store.models import Event, WebhookCursor, WebhookDelivery

from .config import Subscription

DEFAULT_LIMIT = 1000  # events queued per subscription per call

_EVENTS = Event.__table__
_DELIVERIES = WebhookDelivery.__table__
_CURSORS = WebhookCursor.__table__


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
    final = _final_event_id(session) if is_pg else None
    queued = 0
    for sub in subs:
        queued += _enqueue_one(session, sub, limit, now, is_pg, final)
    return queued


def _enqueue_one(session: Session, sub: Subscription, limit: int, now: dt.datetime,
                 is_pg: bool, final: int | None) -> int:
    conn = session.connection()
    insert = postgresql.insert if is_pg else sqlite.insert
    conn.execute(insert(_CURSORS).values(subscription=sub.name, last_event_id=0)
                 .on_conflict_do_nothing(index_elements=["subscription"]))
    cursor_q = select(_CURSORS.c.last_event_id).where(_CURSORS.c.subscription == sub.name)
    if is_pg:
        cursor_q = cursor_q.with_for_update()
    cursor = conn.execute(cursor_q).scalar_one()

    # The top first, the scan after: on PostgreSQL the scan's snapshot is the later one,
    # so whatever was visible up to `top` is seen by the scan.
    top = conn.execute(select(func.max(_EVENTS.c.id))).scalar()
    e = _EVENTS
    queued_already = exists().where(_DELIVERIES.c.event_id == e.c.id,
                                    _DELIVERIES.c.subscription == sub.name)
    scan = (select(e.c.id).where(e.c.id > cursor, *_filters(sub), ~queued_already)
            .order_by(e.c.id).limit(limit))
    ids = conn.execute(scan).scalars().all()
    queued = 0
    if ids:
        rows = [dict(event_id=i, subscription=sub.name, status="pending", attempts=0,
                     next_attempt_at=now) for i in ids]
        stmt = (insert(_DELIVERIES)
                .on_conflict_do_nothing(index_elements=["event_id", "subscription"])
                .returning(_DELIVERIES.c.id))
        queued = len(conn.execute(stmt, rows).all())

    covered = ids[-1] if len(ids) == limit else (top or cursor)
    if is_pg:
        covered = min(covered, final or 0)
    if covered > cursor:
        conn.execute(update(_CURSORS).where(_CURSORS.c.subscription == sub.name)
                     .values(last_event_id=covered))
    return queued


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


# --- PostgreSQL: how far the event table is final (see the module docstring) -------------

_notes_lock = threading.Lock()
# (database url, events table oid) -> [(snapshot xmax, highest visible event id)]
_notes: dict[tuple[str, int], list[tuple[int, int]]] = {}
_MAX_NOTES = 512

_SNAPSHOT = text(
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint, "
    "(SELECT max(id) FROM events), 'events'::regclass::oid::bigint "
    "FROM pg_current_snapshot() AS s")


def _final_event_id(session: Session) -> int:
    """The highest event id below which no event can still appear (PostgreSQL)."""
    xmin, xmax, top, oid = session.connection().execute(_SNAPSHOT).one()
    key = (str(session.get_bind().url), oid)
    with _notes_lock:
        notes = _notes.setdefault(key, [])
        final = max((m for x, m in notes if xmin >= x), default=0)
        if xmin >= xmax and top is not None:  # nothing else running: final now
            final = max(final, top)
        # Keep the notes not yet final, and the best final one (as a floor).
        notes[:] = [(x, m) for x, m in notes if xmin < x and m > final]
        if final:
            notes.append((0, final))
        if top is not None and top > final:
            notes.append((xmax, top))
        del notes[:-_MAX_NOTES]
    return final


def forget_notes() -> None:
    """Drop this process's notes (tests that recreate databases may call it)."""
    with _notes_lock:
        _notes.clear()


def cursors(session: Session) -> dict[str, int]:
    """subscription -> last event id scanned (for display and tests)."""
    return dict(session.execute(select(_CURSORS.c.subscription, _CURSORS.c.last_event_id)).all())
