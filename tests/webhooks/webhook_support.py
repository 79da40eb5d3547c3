"""Helpers of the webhook tests; importable by spawned worker processes too."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc
# A fixed clock: 5 January 2026, 10:00 WIB.
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
SECRET = "rahasia-uji-0123456789"


def add_events(db, specs: Iterable[tuple[str, str | None]], *, at: dt.datetime = NOW,
               actor: str = "operator@19.01.01") -> list[int]:
    """Write one event per (kind, region_code) with the engine's `record`; return their ids."""
    from engine.store import events
    from engine.store.models import Event

    with db.session() as session:
        before = session.scalar(select(func.coalesce(func.max(Event.id), 0)))
        for i, (kind, region) in enumerate(specs):
            events.record(session, kind, actor=actor, at=at, region_code=region, level="kecamatan",
                          year=2026, from_state="ready", to_state="submitted",
                          payload={"n": i, "catatan": "data stunting Desa Ăž"})
        return list(session.scalars(select(Event.id).where(Event.id > before).order_by(Event.id)))


def subscription(name: str, url: str, **kw):
    from webhooks import Subscription

    kw.setdefault("secret", SECRET)
    kw.setdefault("events", ("*",))
    return Subscription(name=name, url=url, **kw)


def deliveries(db, **filters):
    from webhooks import list_deliveries

    with db.session() as session:
        return list_deliveries(session, limit=None, **filters)


@dataclass
class Seen:
    key: str
    body: bytes
    headers: dict


@dataclass
class Receiver:
    """A webhook endpoint for pytest-httpserver: answers from ``statuses`` in turn (then the
    last one forever) and records every request it got."""

    statuses: Sequence[int] = (200,)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request):
        from werkzeug import Response

        with self.lock:
            self.seen.append(Seen(request.headers.get("Idempotency-Key"), request.get_data(),
                                  dict(request.headers)))
            status = self.statuses[min(len(self.seen), len(self.statuses)) - 1]
        return Response("ok" if status < 300 else "rusak", status=status)

    def keys(self) -> list[str]:
        with self.lock:
            return [s.key for s in self.seen]


def enqueue_until_done(url: str, subs, limit: int, barrier, writers_done) -> None:
    """A process racing others to enqueue, until the writers are done and nothing is left."""
    from engine.store import Database
    from webhooks import enqueue

    db = Database(url)
    barrier.wait(timeout=60)
    while True:
        finished = writers_done.is_set()
        with db.session() as session:
            queued = enqueue(session, subs, limit, now=NOW)
        if finished and queued < limit:
            break
    db.dispose()
