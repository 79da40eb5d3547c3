"""One pass of webhook work: queue new events, then deliver what is due.

`run_once` is what ``aksi worker`` schedules (composed in engine/cli/clock.py, scheduled by engine/worker/scheduler.py) and
what ``aksi webhooks deliver`` runs once. Any number of processes may run it
at the same time.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass
from typing import Any, Iterable

import httpx

from engine.clock import utcnow
from engine.store import Database

from .config import Subscription
from .delivery import DEFAULT_LEASE, deliver_due
from .outbox import DEFAULT_LIMIT, enqueue

MAX_ENQUEUE_ROUNDS = 50  # per run: up to 50 x limit events per subscription
DELIVERY_BUDGET = 30.0  # seconds: start no new batch after this long


@dataclass
class RunReport:
    queued: int = 0
    delivered: int = 0
    failed: int = 0  # failed attempts that will be retried
    dead: int = 0  # deliveries that used their last attempt in this run

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"{self.queued} diantrekan, {self.delivered} terkirim, {self.failed} gagal "
                f"(dicoba lagi), {self.dead} mati")


def run_once(db: Database, subscriptions: Iterable[Subscription], now: dt.datetime | None = None,
             client: httpx.Client | None = None, *, enqueue_limit: int = DEFAULT_LIMIT,
             limit: int = 100, lease: dt.timedelta = DEFAULT_LEASE,
             budget: float = DELIVERY_BUDGET, **delivery: Any) -> RunReport:
    """Queue every new event for ``subscriptions``, then deliver what is due.

    Deliveries go in batches of ``limit`` (one `deliver_due` each) while batches
    come back full, starting no new batch after ``budget`` seconds; what is left
    waits for the next run. ``delivery`` passes further keywords to `deliver_due`
    (``concurrency``, ``rng``, ...).
    """
    subs = tuple(subscriptions)
    report = RunReport()
    if not subs:
        return report
    for _ in range(MAX_ENQUEUE_ROUNDS):
        with db.session() as session:
            queued = enqueue(session, subs, enqueue_limit, now=now or utcnow())
        report.queued += queued
        if queued < enqueue_limit:
            break
    started = time.monotonic()
    while True:
        done = deliver_due(db, subs, now=now, client=client, limit=limit, lease=lease,
                           **delivery)
        report.delivered += done.delivered
        report.failed += done.failed
        report.dead += done.dead
        # Stop when the queue is drained, when nothing could be sent (released claims
        # would be claimed again at once), or when the time is up.
        if done.claimed < limit or done.released or time.monotonic() - started > budget:
            return report
