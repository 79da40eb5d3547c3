"""The dashboard of a region over a national year: the national page, a provinsi's and a
kab/kota's, rendered through the Flask test client (the whole request: sign-in cookie,
scope checks, counter queries, template), beside /healthz as the floor.

Every kecamatan of province 32 (Jawa Barat) has approved its first stage, some late,
so the counters hold done rows too. The goal: the national page at most 2x the kab/kota
one, because the counters keep its cost from growing with the tasks below.

    python benchmarks/dashboard.py [--db URL] [--times 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import time_machine
from sqlalchemy import select

from _setup import definitions, fresh_database, url_from_env
from engine.people import add_user
from engine.runtime import act_on
from engine.runtime.years import start_year
from engine.store.models import Region, Task
from engine.web import create_app

PASSWORD = "rahasia-bench-123"
STEPS = [("submit", "operator"), ("verify", "verifikator"), ("approve", "approver")]


def _median_ms(client, url: str, times: int) -> float:
    assert client.get(url).status_code == 200, url  # warm, and it must be a page
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        response = client.get(url)
        spent.append(time.perf_counter() - start)
        assert response.status_code == 200
    return statistics.median(spent) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--times", type=int, default=15)
    ap.add_argument("--profile", metavar="URL", help="also profile five requests of URL")
    args = ap.parse_args()
    defs = definitions(lifecycle=True)
    db = fresh_database(args.db)
    year = 2026
    start = dt.datetime(year, 1, 5, tzinfo=dt.timezone.utc)
    now = dt.datetime(year, 3, 10, 3, tzinfo=dt.timezone.utc)
    with db.session() as s:
        start_year(s, defs, year, now=start)
        provinces = s.scalars(select(Region.code).where(Region.tier == 1)).all()
        for code in provinces:  # the ministry: supervisor of every provinsi
            add_user(s, defs, "kementerian", role="supervisor", region=code, now=start,
                     password=PASSWORD if code == provinces[0] else None)
        kecamatan = s.scalars(select(Region.code).where(Region.tier == 3,
                                                        Region.code.startswith("32."))).all()
        for code in kecamatan:
            for _, role in STEPS:
                add_user(s, defs, f"{role}-{code}", role=role, region=code, now=start)
    stage = defs.by_tier(3).stages[0].id
    with db.session() as s:
        for i, code in enumerate(kecamatan):
            when = start if i % 3 else dt.datetime(year, 1, 20, tzinfo=dt.timezone.utc)
            for trigger, role in STEPS:
                act_on(s, code, stage, year, trigger, f"{role}-{code}", now=when)
        tasks = s.query(Task).count()
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "bench", "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    with time_machine.travel(now, tick=False):
        client = app.test_client()
        assert client.post("/masuk", data={"username": "kementerian",
                                           "password": PASSWORD}).status_code == 302
        floor = _median_ms(client, "/healthz", args.times)
        national = _median_ms(client, f"/pantau/{year}/nasional", args.times)
        province = _median_ms(client, f"/pantau/{year}/32", args.times)
        kabkota = _median_ms(client, f"/pantau/{year}/32.01", args.times)
        if args.profile:
            import cProfile
            cProfile.runctx("for _ in range(5): client.get(url)", globals(),
                            {"client": client, "url": args.profile}, sort="cumtime")
    print(f"database: {db.engine.dialect.name}; {tasks:,} tasks in {len(provinces)} provinces; "
          f"median of {args.times} requests")
    print(f"/healthz (floor): {floor:.1f} ms")
    print(f"national dashboard: {national:.1f} ms")
    print(f"provinsi 32: {province:.1f} ms")
    print(f"kab/kota 32.01: {kabkota:.1f} ms")
    print(f"national / kab/kota: {national / kabkota:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
