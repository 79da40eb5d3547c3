"""One pass of e-mail work: queue new events, make the digests that are due, send.

`run_once` is what ``aksi worker`` schedules (composed in engine/cli/clock.py) and
what ``aksi email deliver`` runs once. Any number of processes may run it at once.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass
from typing import Any

from ..clock import utcnow
from ..outbox.cursor import DEFAULT_LIMIT
from ..outbox.queue import DEFAULT_LEASE
from ..store import Database
from .config import SmtpSettings
from .delivery import deliver_due
from .outbox import enqueue, make_digests

MAX_ENQUEUE_ROUNDS = 50
DELIVERY_BUDGET = 30.0  # seconds: start no new batch after this long


@dataclass
class MailReport:
    queued: int = 0
    digests: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"{self.queued} diantrekan, {self.digests} ringkasan dibuat, {self.delivered} "
                f"terkirim, {self.failed} gagal (dicoba lagi), {self.dead} mati")


def run_once(db: Database, settings: SmtpSettings, now: dt.datetime | None = None, *,
             enqueue_limit: int = DEFAULT_LIMIT, limit: int = 50,
             lease: dt.timedelta = DEFAULT_LEASE, budget: float = DELIVERY_BUDGET,
             concurrency: int = 1, **delivery: Any) -> MailReport:
    """Queue every new event's e-mails (``enqueue_limit`` events at a time, up to
    `MAX_ENQUEUE_ROUNDS` times), make due digests, then send what is due, in batches of
    ``limit`` while they come back full (none started after ``budget`` s)."""
    report = MailReport()
    last = None
    for _ in range(MAX_ENQUEUE_ROUNDS):
        with db.session() as session:
            batch = enqueue(session, now=now or utcnow(), limit=enqueue_limit)
        report.queued += batch.queued
        # Go on while batches of events come back full (most events e-mail nobody, so
        # the rows queued do not tell), unless the same batch came back: on PostgreSQL
        # a long transaction holds the cursor back (engine/outbox/cursor.py) and the
        # events past it that e-mail nobody are handed out again until it ends.
        if batch.events < enqueue_limit or batch.last == last:
            break
        last = batch.last
    with db.session() as session:
        report.digests = make_digests(session, now=now or utcnow(),
                                      digest_hour=settings.digest_hour)
    started = time.monotonic()
    while True:
        done = deliver_due(db, settings, now=now, limit=limit, lease=lease,
                           concurrency=concurrency, **delivery)
        report.delivered += done.delivered
        report.failed += done.failed
        report.dead += done.dead
        if done.claimed < limit or done.released or time.monotonic() - started > budget:
            return report
