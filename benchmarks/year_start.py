"""National `year start`: time and peak memory to create every case and stage of a year.

    python benchmarks/year_start.py [--db URL] [--year 2026]

Regions are loaded first (not timed); then one `start_year` in one transaction
creates ~7,837 cases and their stages, as `aksi year start` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

from sqlalchemy import func, select

from _setup import definitions, fresh_database, url_from_env
from engine.runtime.years import start_year
from engine.store.models import Case, Event, Task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--year", type=int, default=2026)
    args = ap.parse_args()
    defs = definitions()
    db = fresh_database(args.db)
    now = dt.datetime(args.year, 1, 2, tzinfo=dt.timezone.utc)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with db.session() as s:
        report = start_year(s, defs, args.year, now=now)
    elapsed = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with db.session() as s:
        cases = s.scalar(select(func.count()).select_from(Case))
        tasks = s.scalar(select(func.count()).select_from(Task))
        events = s.scalar(select(func.count()).select_from(Event))
    start = time.perf_counter()
    with db.session() as s:
        again = start_year(s, defs, args.year, now=now)
    rerun = time.perf_counter() - start
    print(f"database: {db.engine.dialect.name}")
    print(f"cases: {cases} ({report.cases}), tasks: {tasks}, events: {events}, opened: {report.opened}")
    print(f"year start: {elapsed:.2f} s")
    print(f"peak RSS of the process: {rss_after / 1024:.0f} MB (before year start: {rss_before / 1024:.0f} MB)")
    print(f"second run (idempotent, adds {sum(again.cases.values())} cases): {rerun:.2f} s")


if __name__ == "__main__":
    main()
