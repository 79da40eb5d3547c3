"""Helpers of the clock tests; importable by spawned worker processes."""

from __future__ import annotations

import datetime as dt

UTC = dt.timezone.utc


def tick_through(url: str, moments: list[str], seed: int, barrier) -> None:
    """A worker: tick at each moment (in order), as fast as it can, racing the others."""
    import random

    from engine.worker.tick import tick
    from engine.store import Database

    db = Database(url)
    rng = random.Random(seed)
    barrier.wait()
    for iso in moments:
        tick(db, dt.datetime.fromisoformat(iso), batch=rng.choice([7, 50, 1000]))
    db.dispose()
