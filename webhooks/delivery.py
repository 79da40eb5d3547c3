"""Delivering queued events: claim, POST outside any transaction, record the outcome.

The lease, the recording, the backoff with jitter and the dead letters are the
channel-neutral ones of engine/outbox/queue.py (shared with e-mail); this module
is the webhook channel: which rows to claim (the subscriptions given), what to
send (the event as signed JSON) and how (httpx). A repeat after a crash carries
the same ``Idempotency-Key`` (the event id) and the same body: receivers drop
repeats by that key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.outbox import queue
from engine.outbox.queue import (
    BACKOFF_BASE, BACKOFF_CAP, DEFAULT_LEASE, STATUSES, DeliveryReport, Outcome, backoff,
)
from engine.store import Database
from engine.store.models import Event, WebhookDelivery

from .config import Subscription
from .signing import signature

USER_AGENT = "aksi-webhooks/1"
ERROR_CHARS = 300  # of a failed response's body kept in last_error

_D = WebhookDelivery.__table__
_E = Event.__table__


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


class WebhookChannel:
    """The webhook channel of the outbox (engine/outbox/queue.py): ``subscriptions``'
    deliveries, POSTed with ``client``."""

    table = _D
    name = "webhook"

    def __init__(self, subscriptions: Iterable[Subscription], client: httpx.Client):
        self.subs = {s.name: s for s in subscriptions}
        self.client = client

    def claim(self, session: Session, *, now: dt.datetime, limit: int,
              lease: dt.timedelta) -> list[Claimed]:
        return claim(session, list(self.subs), now=now, limit=limit, lease=lease)

    def timeout(self, item: Claimed) -> float:
        return self.subs[item.subscription].timeout

    def max_attempts(self, item: Claimed) -> int:
        return self.subs[item.subscription].max_attempts

    def send(self, item: Claimed) -> Outcome:
        return send(self.client, item, self.subs[item.subscription])


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
    flight at once; outcomes are written in groups of ``record_every``
    (engine/outbox/queue.py `deliver`).
    """
    subs = tuple(subscriptions)
    if not subs:
        return DeliveryReport()
    channel = WebhookChannel(subs, client if client is not None else default_client())
    return queue.deliver(db, channel, now=now, limit=limit, lease=lease,
                         concurrency=concurrency, record_every=record_every,
                         backoff_base=backoff_base, backoff_cap=backoff_cap, rng=rng)


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
    ids, lease_until = queue.claim_ids(session, _D, now=now, limit=limit, lease=lease,
                                       where=[_D.c.subscription.in_(subscriptions)])
    if not ids:
        return []
    conn = session.connection()
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
    return queue.record(session, _D, c, outcome, max_attempts=sub.max_attempts, now=now,
                        base=base, cap=cap, rng=rng)


# --- Looking at and retrying deliveries --------------------------------------------------

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
    queue.check_status(status)
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
    return queue.retry(session, _D, ids, now=now)
