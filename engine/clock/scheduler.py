"""Running the clock in a process with APScheduler (3.x).

APScheduler only triggers the tick here: its job store stays in memory and is
never shared between processes (its FAQ: a shared store duplicates or loses
jobs). Exactly-once comes from the tick itself, which claims its work in the
database; so any number of workers, restarted at any time, are safe.
Coalescing folds missed runs into one; a run missed by more than the grace
time is skipped, and the next one catches up on everything due.
"""

from __future__ import annotations

import datetime as dt
import signal
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from ..store import Database
from .tick import tick

Job = Callable[[], object]


def jobs_for(db: Database, echo: Callable[[str], None] | None = None) -> list[tuple[str, Job]]:
    """The periodic work of a worker: the tick, then webhook delivery when configured."""

    def run_tick() -> None:
        report = tick(db)
        if echo and (report.opened or report.reminders or report.escalations):
            echo(f"tick {report.now}: {report.opened} dibuka, {report.reminders} pengingat, "
                 f"{report.escalations} eskalasi")

    jobs: list[tuple[str, Job]] = [("tick", run_tick)]
    deliver = _webhook_job(db, echo)
    if deliver is not None:
        jobs.append(("webhooks", deliver))
    return jobs


def _webhook_job(db: Database, echo: Callable[[str], None] | None) -> Job | None:
    try:
        from webhooks import load_subscriptions, run_once
    except ImportError:  # delivery not installed in this build
        return None
    subscriptions = load_subscriptions()
    if not subscriptions:
        return None

    def deliver() -> None:
        result = run_once(db, subscriptions)
        if echo and any(getattr(result, k, 0) for k in ("delivered", "failed", "dead")):
            echo(f"webhooks: {result}")

    return deliver


def _schedule(scheduler, jobs: list[tuple[str, Job]], interval: int) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    for name, job in jobs:
        scheduler.add_job(job, "interval", seconds=interval, id=name, next_run_time=now,
                          coalesce=True, max_instances=1, misfire_grace_time=interval)


def run_worker(db: Database, *, interval: int = 60,
               echo: Callable[[str], None] | None = None) -> None:
    """Block, ticking every ``interval`` seconds, until SIGINT or SIGTERM."""
    scheduler = BlockingScheduler(timezone=dt.timezone.utc)
    _schedule(scheduler, jobs_for(db, echo), interval)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    if echo:
        echo(f"worker: tick setiap {interval} detik pada {db.url} (Ctrl-C untuk berhenti)")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def start_background(db: Database, *, interval: int = 60,
                     echo: Callable[[str], None] | None = None) -> BackgroundScheduler:
    """The same jobs on a background thread (for `aksi serve`)."""
    scheduler = BackgroundScheduler(timezone=dt.timezone.utc)
    _schedule(scheduler, jobs_for(db, echo), interval)
    scheduler.start()
    return scheduler
