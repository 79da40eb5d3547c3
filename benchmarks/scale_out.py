"""Scaling out on PostgreSQL: aggregate transitions per second of N processes beside one.

Every kecamatan of the given provinces walks one stage through submit, verify and approve
(each action its own transaction, as a click is). First one process does a share of the
kecamatan; then N processes at once, each its own equal share (released together by a
barrier), on the same database. Both runs use the same number of kecamatan per process,
so the ratio of the aggregate rates is the speed-up N processes give. The machine bounds
it: the CPU one transition costs (the client process's, and every PostgreSQL process's,
read from /proc during the one-process run) says how many transitions per second its
cores could do at most, printed as the ceiling beside the speed-up; and the time the N
processes' server backends spent waiting for row locks (sampled from pg_stat_activity)
is what they lost to each other. Correctness under racing processes is the business of
tests/runtime/test_scale_out.py.

    AKSI_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_pg \\
        python benchmarks/scale_out.py [--processes 8] [--per-process 120]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select, text

from _setup import definitions, fresh_database, url_from_env
from engine.people import add_user
from engine.regions import load_regions
from engine.runtime.years import start_year
from engine.store.models import Region

STEPS = [("submit", "operator"), ("verify", "verifikator"), ("approve", "approver")]
NOW = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


def walk(url: str, codes: list[str], stage: str, barrier, results, finished) -> None:
    """One process: every stage of ``codes`` through the lifecycle; (actions, seconds)."""
    sys.path.insert(0, os.path.dirname(__file__))
    from engine.runtime import act_on
    from engine.store import Database

    db = Database(url)
    with db.session() as s:  # connect and warm up before the clock starts
        s.execute(select(Region.code).limit(1)).all()
    barrier.wait(timeout=120)
    start, cpu = time.perf_counter(), time.process_time()
    for trigger, role in STEPS:
        for code in codes:
            with db.session() as s:
                act_on(s, code, stage, 2026, trigger, f"{role}-{code}", now=NOW)
    results.put((len(codes) * len(STEPS), time.perf_counter() - start,
                 time.process_time() - cpu))
    finished.wait(timeout=300)  # the server's CPU is read while its backends still run
    db.dispose()


def server_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL process on this machine (user + system),
    from /proc; 0 where there is no /proc."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if "postgres" in (stat.parent / "comm").read_text():
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return total / tick


class LockWaits(threading.Thread):
    """Samples, every 50 ms, how many of the database's backends wait for a lock."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.samples, self.waiting, self.busy = url, 0, 0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        engine = create_engine(self.url)
        query = text("SELECT wait_event_type FROM pg_stat_activity WHERE datname = "
                     "current_database() AND state = 'active' AND pid <> pg_backend_pid()")
        with engine.connect() as conn:
            while not self.stop.wait(0.05):
                kinds = conn.execute(query).scalars().all()
                conn.rollback()
                self.samples += 1
                self.busy += len(kinds)
                self.waiting += sum(k == "Lock" for k in kinds)
        engine.dispose()


@dataclass
class Run:
    transitions: int
    wall: float
    client_cpu: float  # every client process's
    server_cpu: float  # every PostgreSQL process's
    lock_share: float  # of the active backends sampled, the share waiting for a lock

    @property
    def rate(self) -> float:
        return self.transitions / self.wall


def run(url: str, shares: list[list[str]], stage: str) -> Run:
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(shares) + 1), ctx.Queue()
    finished = ctx.Barrier(len(shares) + 1)
    procs = [ctx.Process(target=walk, args=(url, share, stage, barrier, results, finished))
             for share in shares]
    for p in procs:
        p.start()
    waits = LockWaits(url)
    waits.start()
    barrier.wait(timeout=300)
    start, server = time.perf_counter(), server_cpu()
    done = [results.get(timeout=1800) for _ in procs]
    wall, server = time.perf_counter() - start, server_cpu() - server
    finished.wait(timeout=300)
    waits.stop.set()
    waits.join()
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            sys.exit(f"a process failed (exit {p.exitcode})")
    return Run(sum(n for n, _, _ in done), wall, sum(c for _, _, c in done), server,
               waits.waiting / max(1, waits.busy))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--per-process", type=int, default=120, help="kecamatan per process")
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
    one = run(args.db, [codes[:per]], stage)
    shares = [codes[per * (i + 1): per * (i + 2)] for i in range(args.processes)]
    many = run(args.db, shares, stage)
    cores = os.cpu_count() or 1
    cpu_each = (one.client_cpu + one.server_cpu) / one.transitions
    ceiling = cores / cpu_each  # transitions/s with every core busy, nothing waiting
    print(f"PostgreSQL, stage {stage}; this machine has {cores} cores "
          f"(the server runs on them too)")
    for label, r in (("1 process ", one), (f"{args.processes} processes", many)):
        print(f"{label}: {r.transitions:6,} transitions in {r.wall:6.2f} s: {r.rate:7,.0f} "
              f"per second; CPU per transition {1000 * r.client_cpu / r.transitions:.2f} ms "
              f"client + {1000 * r.server_cpu / r.transitions:.2f} ms server; "
              f"{100 * r.lock_share:.0f} % of the busy backends waiting for a lock")
    print(f"aggregate speed-up: {many.rate / one.rate:.2f}x (goal >= 4x with >= 8 cores); "
          f"this machine's ceiling at the one process's CPU per transition: "
          f"{ceiling:,.0f} per second, {ceiling / one.rate:.2f}x the one process "
          f"({many.rate / ceiling:.0%} of it reached)")


if __name__ == "__main__":
    main()
