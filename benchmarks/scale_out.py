"""Scaling out on PostgreSQL: aggregate transitions per second of N processes beside one.

Every kecamatan of the given provinces walks one stage through submit, verify and approve
(each action its own transaction, as a click is). First one process does a share of the
kecamatan; then N processes at once, each its own equal share (released together by a
barrier), on the same database. Both runs use the same number of kecamatan per process,
so the ratio of the aggregate rates is the speed-up N processes give; the machine's core
count bounds it (printed). Correctness under racing processes is the business of
tests/runtime/test_scale_out.py.

    AKSI_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_pg \\
        python benchmarks/scale_out.py [--processes 8] [--per-process 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import time

from sqlalchemy import select

from _setup import definitions, fresh_database, url_from_env
from engine.people import add_user
from engine.regions import load_regions
from engine.runtime.years import start_year
from engine.store.models import Region

STEPS = [("submit", "operator"), ("verify", "verifikator"), ("approve", "approver")]
NOW = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


def walk(url: str, codes: list[str], stage: str, barrier, results) -> None:
    """One process: every stage of ``codes`` through the lifecycle; (actions, seconds)."""
    sys.path.insert(0, os.path.dirname(__file__))
    from engine.runtime import act_on
    from engine.store import Database

    db = Database(url)
    with db.session() as s:  # connect and warm up before the clock starts
        s.execute(select(Region.code).limit(1)).all()
    barrier.wait(timeout=120)
    start = time.perf_counter()
    for trigger, role in STEPS:
        for code in codes:
            with db.session() as s:
                act_on(s, code, stage, 2026, trigger, f"{role}-{code}", now=NOW)
    results.put((len(codes) * len(STEPS), time.perf_counter() - start))
    db.dispose()


def run(url: str, shares: list[list[str]], stage: str) -> tuple[int, float]:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(shares) + 1), ctx.Queue()
    procs = [ctx.Process(target=walk, args=(url, share, stage, barrier, results))
             for share in shares]
    for p in procs:
        p.start()
    barrier.wait(timeout=300)
    start = time.perf_counter()
    done = [results.get(timeout=1800) for _ in procs]
    wall = time.perf_counter() - start
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            sys.exit(f"a process failed (exit {p.exitcode})")
    return sum(n for n, _ in done), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--per-process", type=int, default=40, help="kecamatan per process")
    ap.add_argument("--province", action="append", help="default 32 and 33 (Jawa Barat, Tengah)")
    ap.add_argument("--db", default=url_from_env())
    args = ap.parse_args()
    if not args.db or not args.db.startswith("postgres"):
        sys.exit("give a scratch PostgreSQL database (--db or AKSI_BENCH_DATABASE_URL)")
    provinces = args.province or ["32", "33"]
    defs = definitions(lifecycle=True)
    db = fresh_database(args.db, province=provinces[0])
    with db.session() as s:
        for province in provinces[1:]:
            load_regions(s, province)
        codes = []
        for province in provinces:
            start_year(s, defs, 2026, province=province, now=NOW)
            codes += s.scalars(select(Region.code).where(
                Region.tier == 3, Region.code.startswith(province + "."))).all()
        needed = args.per_process * (args.processes + 1)
        if len(codes) < needed:
            sys.exit(f"{len(codes)} kecamatan; need {needed}: add --province")
        codes = codes[:needed]
        for code in codes:
            for _, role in STEPS:
                add_user(s, defs, f"{role}-{code}", role=role, region=code)
    db.dispose()
    stage = defs.by_tier(3).stages[0].id
    per = args.per_process
    one_n, one_s = run(args.db, [codes[:per]], stage)
    shares = [codes[per * (i + 1): per * (i + 2)] for i in range(args.processes)]
    many_n, many_s = run(args.db, shares, stage)
    one_rate, many_rate = one_n / one_s, many_n / many_s
    print(f"PostgreSQL, stage {stage}; this machine has {os.cpu_count()} cores "
          f"(the server runs on them too)")
    print(f"1 process : {one_n:6,} transitions in {one_s:6.2f} s: {one_rate:7,.0f} per second")
    print(f"{args.processes} processes: {many_n:6,} transitions in {many_s:6.2f} s: "
          f"{many_rate:7,.0f} per second")
    print(f"aggregate speed-up: {many_rate / one_rate:.2f}x (goal >= 4x with >= 8 cores)")


if __name__ == "__main__":
    main()
