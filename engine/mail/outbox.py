"""Queueing e-mail: who gets which event, and the daily digests.

The e-mail channel is a consumer of the outbox (engine/outbox): its cursor
(``@email``) walks the events and picks those that put something in the inbox -
reminders, escalations, nudges and returns (the action's own event, whatever its
trigger is called), whose payload names their ``notice`` - and queues one row per event and addressed user, in ``email_deliveries``. The users
are the inbox's own readers of the notice's items (`runtime.reads.holders`),
those with an address whose preference is not "none": "each" queues a message
(sent like a webhook delivery), "digest" an item held for the day's digest.

`make_digests` gathers, once per user and local day (from ``digest_hour`` in the
time zone of the user's region), every held item into one digest row, sent like
a message. The unique key (user, day) makes it once however many workers run.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..outbox.cursor import DEFAULT_LIMIT, final_event_id, take_new
from ..runtime.reads import holders
from ..store.models import Assignment, EmailDelivery, Event, Region, User

CONSUMER = "@email"  # its cursor's name (webhook subscription names start with a letter)
DEFAULT_ZONE = "Asia/Jakarta"

_M = EmailDelivery.__table__
_E = Event.__table__


def _insert(session: Session):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql"
            else sqlite.insert)


@dataclass(frozen=True)
class Enqueued:
    """What one `enqueue` did: how many events it took past the cursor (as many as its
    ``limit``: there may be more, call again), the last one's id, and how many rows it
    queued for them."""

    events: int
    last: int | None
    queued: int  # messages and digest items


def enqueue(session: Session, *, now: dt.datetime | None = None,
            limit: int = DEFAULT_LIMIT) -> Enqueued:
    """Queue the e-mails of up to ``limit`` new events. Most events e-mail nobody (an
    opening, a notice to people without an address), so whether to call again is told
    by the events taken, not by the rows queued. Call in a transaction of its own."""
    now = now or utcnow()
    is_pg = session.get_bind().dialect.name == "postgresql"
    already = exists().where(_M.c.event_id == _E.c.id)
    rows = take_new(session, CONSUMER, queued=already,
                    limit=limit, final=final_event_id(session) if is_pg else None,
                    columns=[_E.c.payload])
    return Enqueued(len(rows), rows[-1].id if rows else None, _queue(session, rows, now))


def _queue(session: Session, rows, now: dt.datetime) -> int:
    """Queue the e-mails of the events ``rows`` (id, payload); return how many rows."""
    event_of = {r.payload["notice"]: r.id for r in rows
                if isinstance(r.payload, dict) and isinstance(r.payload.get("notice"), int)}
    if not event_of:
        return 0
    readers = holders(session, event_of)
    prefs = dict(session.execute(
        select(User.id, User.email_pref).where(
            User.id.in_({u for _, u in readers}), User.email.is_not(None),
            User.email_pref != "none")).all())
    queued = [dict(kind="message" if prefs[user] == "each" else "item", user_id=user,
                   event_id=event_of[notice],
                   status="pending" if prefs[user] == "each" else "held", attempts=0,
                   next_attempt_at=now)
              for notice, user in sorted(readers) if user in prefs]
    if not queued:
        return 0
    stmt = (_insert(session)(_M).on_conflict_do_nothing(index_elements=["user_id", "event_id"])
            .returning(_M.c.id))
    return len(session.connection().execute(stmt, queued).all())


def zones(session: Session, user_ids) -> dict[int, str]:
    """The time zone of each user: of the (first) region they hold a role in."""
    rows = session.execute(
        select(Assignment.user_id, func.min(Region.timezone))
        .join(Region, Region.code == Assignment.region_code)
        .where(Assignment.user_id.in_(list(user_ids))).group_by(Assignment.user_id)).all()
    return {u: z for u, z in rows}


def make_digests(session: Session, *, now: dt.datetime | None = None,
                 digest_hour: int = 7) -> int:
    """Gather each user's held items into the digest of their local day, when that day's
    ``digest_hour`` has come and it has no digest yet; return how many digests were made."""
    now = now or utcnow()
    waiting = session.scalars(select(_M.c.user_id).distinct()
                              .where(_M.c.kind == "item", _M.c.status == "held")).all()
    if not waiting:
        return 0
    zone_of = zones(session, waiting)
    made = 0
    for user in sorted(waiting):
        local = now.astimezone(ZoneInfo(zone_of.get(user, DEFAULT_ZONE)))
        if local.hour < digest_hour:
            continue
        digest = session.execute(
            _insert(session)(_M).values(kind="digest", user_id=user, day=local.date(),
                                        status="pending", attempts=0, next_attempt_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "day"])
            .returning(_M.c.id)).scalar()
        if digest is None:
            continue  # today's went already (or another worker made it just now)
        session.execute(update(_M).where(_M.c.user_id == user, _M.c.kind == "item",
                                         _M.c.status == "held")
                        .values(status="digested", digest_id=digest))
        made += 1
    return made


def digest_events(session: Session, digest_ids) -> dict[int, list[int]]:
    """digest id -> the event ids it carries, oldest first."""
    out: dict[int, list[int]] = defaultdict(list)
    for digest, event in session.execute(
            select(_M.c.digest_id, _M.c.event_id).where(_M.c.digest_id.in_(list(digest_ids)))
            .order_by(_M.c.event_id)):
        out[digest].append(event)
    return out
