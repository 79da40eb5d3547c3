"""Cost of one clock tick over a national year: with nothing due, and with 10,000 reminders due.

    python benchmarks/tick.py [--db URL]

A national year is started a day before it begins (so every reminder and
escalation is scheduled). Then one tick at a moment when nothing is due is
timed, and one at the moment the first reminders of the largest batch come due,
with the pending notices trimmed to exactly 10,000 due ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from sqlalchemy import func, select, update

from _setup import definitions, fresh_database, url_from_env
from engine.worker.tick import tick
from engine.runtime.years import start_year
from engine.store.models import Notice


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--due", type=int, default=10_000)
    args = ap.parse_args()
    defs = definitions()
    db = fresh_database(args.db)
    year = 2026
    with db.session() as s:
        report = start_year(s, defs, year, now=dt.datetime(year - 1, 12, 1, tzinfo=dt.timezone.utc))
    # Open the stages whose day is 1 January first, so the idle tick measures idleness.
    tick(db, dt.datetime(year, 1, 1, 12, tzinfo=dt.timezone.utc))
    idle_at = dt.datetime(year, 1, 2, 12, tzinfo=dt.timezone.utc)
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        idle = tick(db, idle_at)
        runs.append(time.perf_counter() - t0)
    assert idle.opened == idle.reminders == idle.escalations == 0, idle
    with db.session() as s:
        pending = s.scalar(select(func.count()).select_from(Notice).where(Notice.status == "pending"))
        # Make exactly `--due` notices due at one moment: the earliest ones, moved to it.
        moment = dt.datetime(year, 1, 3, 12, tzinfo=dt.timezone.utc)
        ids = s.scalars(select(Notice.id).where(Notice.status == "pending")
                        .order_by(Notice.fire_at, Notice.id).limit(args.due)).all()
        s.execute(update(Notice).where(Notice.id.in_(ids)).values(fire_at=moment))
    t0 = time.perf_counter()
    busy = tick(db, moment)
    busy_s = time.perf_counter() - t0
    print(f"database: {db.engine.dialect.name}; {report.tasks} tasks, {pending} pending notices")
    print(f"tick with nothing due: median {sorted(runs)[2] * 1000:.1f} ms (of 5)")
    print(f"tick with {len(ids)} notices due: {busy_s:.2f} s "
          f"({busy.reminders} reminders, {busy.escalations} escalations, {busy.skipped} skipped)")


if __name__ == "__main__":
    main()
