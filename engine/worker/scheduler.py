"""Running a worker's periodic jobs in a process with APScheduler (3.x).

Which jobs run is the caller's choice (``aksi worker`` and ``aksi serve`` compose them:
engine/cli/clock.py); this module only schedules them. APScheduler only triggers the
jobs: its job store stays in memory and is never shared between processes (its FAQ: a
shared store duplicates or loses jobs). Exactly-once comes from the jobs themselves, which
claim their work in the database; so any number of workers, restarted at any time, are
safe.
Coalescing folds missed runs into one; a run missed by more than the grace
time is skipped, and the next one catches up on everything due.
"""

from __future__ import annotations

import datetime as dt
import signal
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

Job = Callable[[], object]


def _schedule(scheduler, jobs: list[tuple[str, Job]], interval: int) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    for name, job in jobs:
        scheduler.add_job(job, "interval", seconds=interval, id=name, next_run_time=now,
                          coalesce=True, max_instances=1, misfire_grace_time=interval)


def run_worker(jobs: list[tuple[str, Job]], *, interval: int = 60) -> None:
    """Block, running ``jobs`` every ``interval`` seconds, until SIGINT or SIGTERM."""
    scheduler = BlockingScheduler(timezone=dt.timezone.utc)
    _schedule(scheduler, jobs, interval)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def start_background(jobs: list[tuple[str, Job]], *, interval: int = 60) -> BackgroundScheduler:
    """The same on a background thread (for `aksi serve`)."""
    scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
    _schedule(scheduler, jobs, interval)
    scheduler.start()
    return scheduler
