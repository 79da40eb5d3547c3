"""Delivery rows: claim with a lease, send outside any transaction, record, retry.

Every channel of the outbox (webhooks, e-mail) keeps its deliveries in a table of
its own with the same columns - ``id``, ``status`` (pending, delivered, dead, and
whatever a channel adds), ``attempts``, ``next_attempt_at``, ``lease_until``,
``last_error``, ``delivered_at`` - and this module works any of them through a
`Channel`, which says how to load a claimed row and how to send it.

A delivery is *claimed* by setting its ``lease_until`` in a short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers take different rows;
SQLite serialises the claim under ``BEGIN IMMEDIATE``). Sending happens with no
transaction open. Outcomes are written in other short transactions (a few at a
time), each only while the lease is still ours (the lease value is the claim's
token): a worker that was too slow cannot overwrite its successor's.

A worker that dies mid-delivery leaves its claims leased; once the lease has
expired any worker claims them again and sends the same thing again, with the
same key (a webhook's ``Idempotency-Key``, an e-mail's ``Message-ID``). Delivery
is therefore *at least once*, and a repeat is recognisable. A worker sends only
what it can finish before its lease runs out, so no two workers send one
delivery at the same time. Order is not guaranteed (retries overtake).

Failures back off exponentially with full jitter: after the n-th failed attempt
the next one comes ``uniform(0, min(cap, base * 2**(n-1)))`` seconds later; after
``max_attempts`` attempts the delivery is *dead* until somebody retries it.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Protocol, Sequence

from sqlalchemy import Table, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..store import Database

DEFAULT_LEASE = dt.timedelta(seconds=60)
BACKOFF_BASE = 30.0  # seconds: the first retry comes within 30 s
BACKOFF_CAP = 3600.0  # seconds: no wait longer than an hour
# Pauses (seconds) before writing outcomes again after a transient refusal; None: give up.
RECORD_PAUSES = (0.2, 1.0, 3.0, None)
STATUSES = ("pending", "delivered", "dead")

_rng = random.Random()


@dataclass(frozen=True)
class Outcome:
    """What one attempt to send came to."""

    ok: bool
    error: str | None = None
    status_code: int | None = None


@dataclass
class DeliveryReport:
    """What one `deliver` call did."""

    claimed: int = 0
    delivered: int = 0
    failed: int = 0  # failed attempts that will be retried
    dead: int = 0  # failed attempts that were the last allowed
    released: int = 0  # claimed but not sent: the lease would have run out first

    def as_dict(self) -> dict:
        return asdict(self)


class Item(Protocol):
    """A claimed delivery as a channel loads it."""

    id: int
    attempts: int  # before this attempt
    lease_until: dt.datetime


class Channel(Protocol):
    """One way out of the outbox: its delivery table, how to load and send a claimed row."""

    table: Table
    name: str  # names its sending threads

    def claim(self, session: Session, *, now: dt.datetime, limit: int,
              lease: dt.timedelta) -> Sequence[Item]: ...

    def timeout(self, item: Any) -> float: ...

    def max_attempts(self, item: Any) -> int: ...

    def send(self, item: Any) -> Outcome: ...


def backoff(attempts: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
            rng: random.Random | None = None) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: full jitter under a capped exponential."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=(rng or _rng).uniform(0, ceiling))


def claim_ids(session: Session, table: Table, *, now: dt.datetime, limit: int = 100,
              lease: dt.timedelta = DEFAULT_LEASE,
              where: Sequence = ()) -> tuple[list[int], dt.datetime]:
    """Lease up to ``limit`` due deliveries of ``table`` (matching ``where``) to the
    caller: their ids, oldest due first, and the lease's end (the claim's token)."""
    conn = session.connection()
    t = table.c
    due = (select(t.id)
           .where(t.status == "pending", t.next_attempt_at <= now,
                  or_(t.lease_until.is_(None), t.lease_until <= now), *where)
           .order_by(t.next_attempt_at, t.id).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(conn.execute(due).scalars().all())
    lease_until = now + lease
    if ids:
        conn.execute(update(table).where(t.id.in_(ids)).values(lease_until=lease_until))
    return ids, lease_until


def record(session: Session, table: Table, item: Item, outcome: Outcome, *, max_attempts: int,
           now: dt.datetime, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
           rng: random.Random | None = None) -> str | None:
    """Write one attempt's outcome; return the new status, or None if the lease was lost."""
    t = table.c
    attempts = item.attempts + 1
    mine = (t.id == item.id, t.status == "pending", t.lease_until == item.lease_until)
    if outcome.ok:
        values: dict[str, Any] = dict(status="delivered", attempts=attempts, delivered_at=now,
                                      lease_until=None)
    elif attempts >= max_attempts:
        values = dict(status="dead", attempts=attempts, last_error=outcome.error,
                      lease_until=None)
    else:
        values = dict(attempts=attempts, last_error=outcome.error, lease_until=None,
                      next_attempt_at=now + backoff(attempts, base=base, cap=cap, rng=rng))
    changed = session.execute(update(table).where(*mine).values(**values)).rowcount
    return values.get("status", "pending") if changed else None


def release(session: Session, table: Table, items: Iterable[Item]) -> None:
    """Give back claims that were not sent (still ours): due again at once."""
    t = table.c
    for item in items:
        session.execute(update(table).where(t.id == item.id, t.status == "pending",
                                            t.lease_until == item.lease_until)
                        .values(lease_until=None))


def deliver(db: Database, channel: Channel, *, now: dt.datetime | None = None,
            limit: int = 100, lease: dt.timedelta = DEFAULT_LEASE, concurrency: int = 4,
            record_every: int = 20, backoff_base: float = BACKOFF_BASE,
            backoff_cap: float = BACKOFF_CAP,
            rng: random.Random | None = None) -> DeliveryReport:
    """Claim up to ``limit`` due deliveries of ``channel``, send them, record what happened.

    ``now`` (default: the current time) decides what is due and is the base of
    leases and retry times. ``concurrency`` sends are in flight at once. Outcomes
    are written in groups of up to ``record_every`` (a group older than half a
    second is written with the next answer): a crash before a group is written
    only means its deliveries are sent again.
    """
    report = DeliveryReport()
    fixed_now = now
    started = time.monotonic()
    with db.session() as session:
        claimed = list(channel.claim(session, now=fixed_now or utcnow(), limit=limit,
                                     lease=lease))
    report.claimed = len(claimed)
    if not claimed:
        return report
    deadline = started + lease.total_seconds()

    def attempt(item: Item) -> Outcome | None:
        # Send only if the answer can come back before the lease runs out; otherwise
        # another worker may claim it meanwhile and the receiver gets it twice at once.
        if time.monotonic() + channel.timeout(item) > deadline:
            return None
        return channel.send(item)

    done: list[tuple[Item, Outcome]] = []
    released: list[Item] = []
    oldest = 0.0

    def flush() -> None:
        if not done:
            return
        # What was sent must be written: if it is not, the lease runs out and another
        # worker sends it again. A transient refusal (SQLite's busy timeout, a PostgreSQL
        # deadlock or serialization failure) is tried again while the lease lasts.
        for pause in RECORD_PAUSES:
            try:
                with db.session() as session:
                    statuses = [record(session, channel.table, item, outcome,
                                       max_attempts=channel.max_attempts(item),
                                       now=fixed_now or utcnow(), base=backoff_base,
                                       cap=backoff_cap, rng=rng) for item, outcome in done]
                break
            except OperationalError:
                if pause is None or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
        report.delivered += statuses.count("delivered")
        report.failed += statuses.count("pending")
        report.dead += statuses.count("dead")
        done.clear()

    workers = max(1, min(concurrency, len(claimed)))
    pool = (ThreadPoolExecutor(workers, thread_name_prefix=f"aksi-{channel.name}")
            if workers > 1 else None)
    try:
        results = pool.map(attempt, claimed) if pool else map(attempt, claimed)
        for item, outcome in zip(claimed, results):
            if outcome is None:
                released.append(item)
                continue
            if not done:
                oldest = time.monotonic()
            done.append((item, outcome))
            if len(done) >= record_every or time.monotonic() - oldest > 0.5:
                flush()
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
        flush()
    if released:
        with db.session() as session:
            release(session, channel.table, released)
        report.released = len(released)
    return report


def check_status(status: str | None, statuses: Sequence[str] = STATUSES) -> None:
    if status is not None and status not in statuses:
        raise ValueError(f"status must be one of {', '.join(statuses)}")


def retry(session: Session, table: Table, ids: Iterable[int] | None = None, *,
          now: dt.datetime | None = None) -> list[int]:
    """Put dead deliveries of ``table`` back in the queue (``ids``, or every dead one);
    return their ids.

    Their attempts start again from zero and they are due at ``now``. Ids that
    are unknown or not dead are left alone (and not returned).
    """
    t = table.c
    stmt = update(table).where(t.status == "dead")
    if ids is not None:
        ids = list(ids)
        if not ids:
            return []
        stmt = stmt.where(t.id.in_(ids))
    stmt = stmt.values(status="pending", attempts=0, next_attempt_at=now or utcnow(),
                       lease_until=None).returning(t.id)
    return sorted(session.execute(stmt).scalars().all())
