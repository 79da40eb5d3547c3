"""The supervisors' overview over a national year: one `progress` query for a ministry
user (every province) and for one province, and the overdue list of one kab/kota.

    python benchmarks/overview.py [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from sqlalchemy import select

from _setup import definitions, fresh_database, url_from_env
from engine.runtime import list_tasks, progress
from engine.runtime.years import start_year
from engine.people import actor, add_user
from engine.store.models import Region


def _median_ms(run, times: int = 5) -> float:
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    args = ap.parse_args()
    defs = definitions()
    db = fresh_database(args.db)
    year = 2026
    late = dt.datetime(year, 1, 20, 3, tzinfo=dt.timezone.utc)
    with db.session() as s:
        start_year(s, defs, year, now=dt.datetime(year, 1, 2, tzinfo=dt.timezone.utc))
        provinces = s.scalars(select(Region.code).where(Region.tier == 1)).all()
        add_user(s, defs, "pengawas-3201", role="supervisor", region="32.01")
    with db.session() as s:
        national = progress(s, provinces, year, now=late)
        stages = sum(r.total for r in national)
        nat_ms = _median_ms(lambda: progress(s, provinces, year, now=late))
        prov_ms = _median_ms(lambda: progress(s, ["32"], year, now=late))
        who = actor(s, "pengawas-3201")
        overdue = list_tasks(s, user=who, year=year, overdue=True, now=late)
        list_ms = _median_ms(lambda: list_tasks(s, user=who, year=year, overdue=True, now=late))
    print(f"database: {db.engine.dialect.name}; {stages} stages in {len(provinces)} provinces")
    print(f"overview of every province: median {nat_ms:.0f} ms ({len(national)} rows)")
    print(f"overview of one province (32): median {prov_ms:.0f} ms")
    print(f"overdue list of one kab/kota (32.01, {len(overdue)} stages): median {list_ms:.0f} ms")


if __name__ == "__main__":
    main()
