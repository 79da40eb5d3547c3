"""The cursor over the event table: how far each consumer of the outbox has looked.

The event table is the outbox: every change appends an event in its own
transaction. A *consumer* (a webhook subscription, the e-mail channel) keeps a
cursor into it - a row of ``outbox_cursors`` named after it - and `take_new`
hands it the events past its cursor that it has not queued yet, moving the
cursor past what it scanned. Callers queue delivery rows for those events in the
same transaction (their own, never the one that wrote the events): an event
exists for delivery once its change has committed, and a rolled-back change
never reaches anybody.

Running it twice, or from several processes at once, hands nothing out twice:
the cursor row is locked while it is read and moved (``FOR UPDATE`` on
PostgreSQL; SQLite runs every write transaction under ``BEGIN IMMEDIATE``),
events that already have a delivery row are skipped (the caller's ``queued``
condition), and the caller's unique key refuses whatever slipped through.

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

import threading
from typing import Any, Sequence

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..store.models import Event, OutboxCursor

DEFAULT_LIMIT = 1000  # events handed out per consumer per call

_EVENTS = Event.__table__
_CURSORS = OutboxCursor.__table__


def take_new(session: Session, consumer: str, *, where: Sequence = (), queued: Any = None,
             limit: int = DEFAULT_LIMIT, final: int | None = None,
             columns: Sequence = ()) -> list:
    """Up to ``limit`` events past ``consumer``'s cursor (oldest first) that match
    ``where`` and are not ``queued`` (a condition on the events table: "this event
    already has a delivery row of mine"); moves the cursor past what was scanned.

    Returns rows of the event id and ``columns``. ``final`` is `final_event_id`
    on PostgreSQL (computed once per transaction), None on SQLite. Call in the
    transaction that queues the deliveries of what is returned.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    conn = session.connection()
    is_pg = conn.dialect.name == "postgresql"
    insert = postgresql.insert if is_pg else sqlite.insert
    conn.execute(insert(_CURSORS).values(consumer=consumer, last_event_id=0)
                 .on_conflict_do_nothing(index_elements=["consumer"]))
    cursor_q = select(_CURSORS.c.last_event_id).where(_CURSORS.c.consumer == consumer)
    if is_pg:
        cursor_q = cursor_q.with_for_update()
    cursor = conn.execute(cursor_q).scalar_one()

    # The top first, the scan after: on PostgreSQL the scan's snapshot is the later one,
    # so whatever was visible up to `top` is seen by the scan.
    top = conn.execute(select(func.max(_EVENTS.c.id))).scalar()
    e = _EVENTS
    skip = [~queued] if queued is not None else []
    scan = (select(e.c.id, *columns).where(e.c.id > cursor, *where, *skip)
            .order_by(e.c.id).limit(limit))
    rows = conn.execute(scan).all()
    covered = rows[-1].id if len(rows) == limit else (top or cursor)
    if is_pg:
        covered = min(covered, final or 0)
    if covered > cursor:
        conn.execute(update(_CURSORS).where(_CURSORS.c.consumer == consumer)
                     .values(last_event_id=covered))
    return rows


# --- PostgreSQL: how far the event table is final (see the module docstring) -------------

_notes_lock = threading.Lock()
# (database url, events table oid) -> [(snapshot xmax, highest visible event id)]
_notes: dict[tuple[str, int], list[tuple[int, int]]] = {}
_MAX_NOTES = 512

_SNAPSHOT = text(
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint, "
    "(SELECT max(id) FROM events), 'events'::regclass::oid::bigint "
    "FROM pg_current_snapshot() AS s")


def final_event_id(session: Session) -> int:
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
    """consumer -> last event id scanned (for display and tests)."""
    return dict(session.execute(select(_CURSORS.c.consumer, _CURSORS.c.last_event_id)).all())
