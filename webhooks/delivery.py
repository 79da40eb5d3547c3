"""Delivering queued events: claim, POST outside any transaction, record the outcome.

A delivery is *claimed* by setting its ``lease_until`` in a short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers take different rows;
SQLite serialises the claim under ``BEGIN IMMEDIATE``). The POST happens with
no transaction open. Outcomes are written in other short transactions (a few
at a time), each only while the lease is still ours (the lease value is the
claim's token): a worker that was too slow cannot overwrite its successor's.

A worker that dies mid-delivery leaves its claims leased; once the lease has
expired any worker claims them again and sends the same event with the same
``Idempotency-Key``. Delivery is therefore *at least once*: receivers drop
repeats by that key. Order is not guaranteed either (retries overtake).

Failures back off exponentially with full jitter: after the n-th failed attempt
the next one comes ``uniform(0, min(cap, base * 2**(n-1)))`` seconds later; after
``max_attempts`` attempts the delivery is *dead* until somebody retries it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.store import Database
from engine.store.models import Event, WebhookDelivery

from .config import Subscription
from .signing import signature

DEFAULT_LEASE = dt.timedelta(seconds=60)
BACKOFF_BASE = 30.0  # seconds: the first retry comes within 30 s
BACKOFF_CAP = 3600.0  # seconds: no wait longer than an hour
USER_AGENT = "aksi-webhooks/1"
ERROR_CHARS = 300  # of a failed response's body kept in last_error

_D = WebhookDelivery.__table__
_E = Event.__table__
_rng = random.Random()


@dataclass
class DeliveryReport:
    """What one `deliver_due` call did."""

    claimed: int = 0
    delivered: int = 0
    failed: int = 0  # failed attempts that will be retried
    dead: int = 0  # failed attempts that were the last allowed
    released: int = 0  # claimed but not sent: the lease would have run out first

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery with its event: everything needed to send it."""

    id: int
    event_id: int
    subscription: str
    attempts: int  # before this attempt
    lease_until: dt.datetime
    kind: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None
    status_code: int | None = None


def event_document(row: Any) -> dict:
    """The JSON document sent for an event row."""
    return {
        "id": row.id, "kind": row.kind, "at": row.at.isoformat(), "actor": row.actor,
        "region_code": row.region_code, "level": row.level, "year": row.year,
        "stage": row.stage, "from_state": row.from_state, "to_state": row.to_state,
        "payload": row.payload,
    }


def event_body(row: Any) -> bytes:
    """The exact request body for an event: the same bytes on every attempt."""
    return json.dumps(event_document(row), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str).encode("utf-8")


def backoff(attempts: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
            rng: random.Random | None = None) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: full jitter under a capped exponential."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=(rng or _rng).uniform(0, ceiling))


def headers_for(claimed: Claimed, sub: Subscription, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": str(claimed.event_id),
        "X-Aksi-Event": claimed.kind,
        "X-Aksi-Subscription": sub.name,
        "X-Aksi-Delivery": str(claimed.id),
        "X-Aksi-Attempt": str(claimed.attempts + 1),
        "X-Aksi-Timestamp": str(timestamp),
        "X-Aksi-Signature": signature(sub.secret, timestamp, claimed.body),
    }


def send(client: httpx.Client, claimed: Claimed, sub: Subscription) -> Outcome:
    """POST one delivery; any 2xx is success, everything else a failure to retry."""
    timestamp = int(time.time())  # the receiver's clock judges it: always the real time
    try:
        with client.stream("POST", sub.url, content=claimed.body,
                           headers=headers_for(claimed, sub, timestamp),
                           timeout=sub.timeout) as response:
            if 200 <= response.status_code < 300:
                _drain(response)
                return Outcome(True, status_code=response.status_code)
            snippet = _drain(response, keep=ERROR_CHARS)
            error = f"HTTP {response.status_code} {response.reason_phrase or ''}".strip()
            return Outcome(False, f"{error}: {snippet}" if snippet.strip() else error,
                           response.status_code)
    except httpx.TimeoutException as exc:
        return Outcome(False, f"waktu habis ({type(exc).__name__}, {sub.timeout:g} s): {exc}")
    except httpx.HTTPError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a broken transport must not stop the other deliveries
        return Outcome(False, f"{type(exc).__name__}: {exc}")


def _drain(response: httpx.Response, keep: int = 0, limit: int = 65536) -> str:
    """Read (a bounded part of) the body so the connection can be reused; return its start."""
    kept = b""
    seen = 0
    for chunk in response.iter_bytes():
        if len(kept) < keep:
            kept += chunk[:keep - len(kept)]
        seen += len(chunk)
        if seen > limit:
            break  # closing an unread response drops the connection: fine
    return kept.decode("utf-8", "replace").replace("\n", " ")


def deliver_due(db: Database, subscriptions: Iterable[Subscription], *,
                now: dt.datetime | None = None, client: httpx.Client | None = None,
                limit: int = 100, lease: dt.timedelta = DEFAULT_LEASE, concurrency: int = 4,
                record_every: int = 20, backoff_base: float = BACKOFF_BASE,
                backoff_cap: float = BACKOFF_CAP,
                rng: random.Random | None = None) -> DeliveryReport:
    """Claim up to ``limit`` due deliveries, send them, record what happened.

    ``now`` (default: the current time) decides what is due and is the base of
    leases and retry times; request timestamps always use the real clock.
    ``client`` is any `httpx.Client` (e.g. with an `httpx.MockTransport`); by
    default this process's shared client is used (keep-alive across calls; each
    request gets its subscription's timeout). ``concurrency`` requests are in
    flight at once. Outcomes are written in groups of up to ``record_every`` (a
    group older than half a second is written with the next answer): a crash
    before a group is written only means its deliveries are sent again.
    """
    subs = {s.name: s for s in subscriptions}
    report = DeliveryReport()
    if not subs:
        return report
    fixed_now = now
    started = time.monotonic()
    with db.session() as session:
        claimed = claim(session, list(subs), now=fixed_now or utcnow(), limit=limit, lease=lease)
    report.claimed = len(claimed)
    if not claimed:
        return report
    deadline = started + lease.total_seconds()
    http = client if client is not None else default_client()

    def attempt(c: Claimed) -> Outcome | None:
        # Send only if the answer can come back before the lease runs out; otherwise
        # another worker may claim it meanwhile and the receiver gets it twice at once.
        if time.monotonic() + subs[c.subscription].timeout > deadline:
            return None
        return send(http, c, subs[c.subscription])

    done: list[tuple[Claimed, Outcome]] = []
    released: list[Claimed] = []
    oldest = 0.0

    def flush() -> None:
        if not done:
            return
        with db.session() as session:
            statuses = [record(session, c, outcome, subs[c.subscription],
                               now=fixed_now or utcnow(), base=backoff_base, cap=backoff_cap,
                               rng=rng) for c, outcome in done]
        report.delivered += statuses.count("delivered")
        report.failed += statuses.count("pending")
        report.dead += statuses.count("dead")
        done.clear()

    workers = max(1, min(concurrency, len(claimed)))
    pool = ThreadPoolExecutor(workers, thread_name_prefix="aksi-webhook") if workers > 1 else None
    try:
        results = pool.map(attempt, claimed) if pool else map(attempt, claimed)
        for c, outcome in zip(claimed, results):
            if outcome is None:
                released.append(c)
                continue
            if not done:
                oldest = time.monotonic()
            done.append((c, outcome))
            if len(done) >= record_every or time.monotonic() - oldest > 0.5:
                flush()
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
        flush()
    if released:
        with db.session() as session:
            for c in released:
                session.execute(update(_D).where(_D.c.id == c.id, _D.c.status == "pending",
                                                 _D.c.lease_until == c.lease_until)
                                .values(lease_until=None))
        report.released = len(released)
    return report


_client_lock = threading.Lock()
_client: tuple[int, httpx.Client] | None = None


def default_client() -> httpx.Client:
    """This process's shared client (made again after a fork: connections are not shared)."""
    global _client
    with _client_lock:
        if _client is None or _client[0] != os.getpid():
            _client = (os.getpid(), httpx.Client(follow_redirects=False,
                                                 headers={"User-Agent": USER_AGENT},
                                                 limits=httpx.Limits(max_connections=64)))
        return _client[1]


def claim(session: Session, subscriptions: Sequence[str], *, now: dt.datetime, limit: int = 100,
          lease: dt.timedelta = DEFAULT_LEASE) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of ``subscriptions`` to the caller, with events."""
    conn = session.connection()
    due = (select(_D.c.id)
           .where(_D.c.status == "pending", _D.c.next_attempt_at <= now,
                  or_(_D.c.lease_until.is_(None), _D.c.lease_until <= now),
                  _D.c.subscription.in_(subscriptions))
           .order_by(_D.c.next_attempt_at, _D.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = conn.execute(due).scalars().all()
    if not ids:
        return []
    lease_until = now + lease
    conn.execute(update(_D).where(_D.c.id.in_(ids)).values(lease_until=lease_until))
    rows = conn.execute(
        select(_D.c.id.label("delivery_id"), _D.c.subscription, _D.c.attempts, _E)
        .join(_E, _E.c.id == _D.c.event_id)
        .where(_D.c.id.in_(ids)).order_by(_D.c.next_attempt_at, _D.c.id)).all()
    return [Claimed(id=r.delivery_id, event_id=r.id, subscription=r.subscription,
                    attempts=r.attempts, lease_until=lease_until, kind=r.kind,
                    body=event_body(r)) for r in rows]


def record(session: Session, c: Claimed, outcome: Outcome, sub: Subscription, *,
           now: dt.datetime, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
           rng: random.Random | None = None) -> str | None:
    """Write one attempt's outcome; return the new status, or None if the lease was lost."""
    attempts = c.attempts + 1
    mine = (_D.c.id == c.id, _D.c.status == "pending", _D.c.lease_until == c.lease_until)
    if outcome.ok:
        values: dict[str, Any] = dict(status="delivered", attempts=attempts, delivered_at=now,
                                      lease_until=None)
    elif attempts >= sub.max_attempts:
        values = dict(status="dead", attempts=attempts, last_error=outcome.error,
                      lease_until=None)
    else:
        values = dict(attempts=attempts, last_error=outcome.error, lease_until=None,
                      next_attempt_at=now + backoff(attempts, base=base, cap=cap, rng=rng))
    changed = session.execute(update(_D).where(*mine).values(**values)).rowcount
    return values.get("status", "pending") if changed else None


# --- Looking at and retrying deliveries --------------------------------------------------

STATUSES = ("pending", "delivered", "dead")


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event_id: int
    kind: str
    region_code: str | None
    subscription: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime
    lease_until: dt.datetime | None
    delivered_at: dt.datetime | None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                for k, v in asdict(self).items()}


def list_deliveries(session: Session, *, status: str | None = None,
                    subscription: str | None = None, limit: int | None = 100) -> list[DeliveryRow]:
    """Deliveries, oldest first, with their event's kind and region."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    q = (select(_D.c.id, _D.c.event_id, _E.c.kind, _E.c.region_code, _D.c.subscription,
                _D.c.status, _D.c.attempts, _D.c.last_error, _D.c.next_attempt_at,
                _D.c.lease_until, _D.c.delivered_at)
         .join(_E, _E.c.id == _D.c.event_id).order_by(_D.c.id))
    if status is not None:
        q = q.where(_D.c.status == status)
    if subscription is not None:
        q = q.where(_D.c.subscription == subscription)
    if limit is not None:
        q = q.limit(limit)
    return [DeliveryRow(**r._mapping) for r in session.execute(q)]


def retry(session: Session, ids: Iterable[int] | None = None, *,
          now: dt.datetime | None = None) -> list[int]:
    """Put dead deliveries back in the queue (``ids``, or every dead one); return their ids.

    Their attempts start again from zero and they are due at ``now``. Ids that
    are unknown or not dead are left alone (and not returned).
    """
    stmt = update(_D).where(_D.c.status == "dead")
    if ids is not None:
        ids = list(ids)
        if not ids:
            return []
        stmt = stmt.where(_D.c.id.in_(ids))
    stmt = stmt.values(status="pending", attempts=0, next_attempt_at=now or utcnow(),
                       lease_until=None).returning(_D.c.id)
    return sorted(session.execute(stmt).scalars().all())
