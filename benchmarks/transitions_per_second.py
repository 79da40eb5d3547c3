"""Persisted transitions per second in one process.

Each transition is one `act_on` in its own transaction (find the task, check the
user's roles, UPDATE with the version check, event row, gate evaluation on
approval, commit), as a person's click is: every kecamatan of a province
submits, verifies and approves one stage. On SQLite each round ends with a
checkpoint of the write-ahead log, so the pages its transitions left there are
paid for inside the timing.

One round per province (default: the three Java provinces with the most
kecamatan), all in one database: the spread between rounds shows the machine's
noise. On SQLite each round is followed by its floor, in the same database: a raw
``sqlite3`` connection (the same pragmas) making the same number of bare transitions,
each its own transaction - find the stage, UPDATE it with the version check, INSERT its
event, COMMIT - with none of the roles, rules, gates, notices or counters.

    python benchmarks/transitions_per_second.py [--province 32 --province 33 ...] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import statistics
import time

from sqlalchemy import select

from _setup import definitions, fresh_database, settle, url_from_env
from engine.people import add_user
from engine.regions import load_regions
from engine.runtime import act_on
from engine.runtime.years import start_year
from engine.store.models import Region

STEPS = [("submit", "operator"), ("verify", "verifikator"), ("approve", "approver")]


def floor_seconds(path: str, codes: list[str], stage: str, now: dt.datetime) -> float:
    """Seconds a raw sqlite3 connection takes for len(STEPS) bare transitions per code."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    at = now.replace(tzinfo=None).isoformat(sep=" ")
    start = time.perf_counter()
    for step, (trigger, role) in enumerate(STEPS):
        for code in codes:
            conn.execute("BEGIN IMMEDIATE")
            task_id, case_id, version, state = conn.execute(
                "SELECT id, case_id, version, state FROM tasks WHERE region_code = ? AND "
                "stage = ? AND year = 2026", (code, stage)).fetchone()
            done = conn.execute("UPDATE tasks SET state = ?, version = version + 1 "
                                "WHERE id = ? AND version = ?",
                                (f"floor{step}", task_id, version)).rowcount
            assert done == 1
            conn.execute("INSERT INTO events (at, kind, actor, case_id, task_id, region_code, "
                         "level, year, stage, from_state, to_state, payload) VALUES "
                         "(?, ?, ?, ?, ?, ?, 'kecamatan', 2026, ?, ?, ?, ?)",
                         (at, trigger, f"{role}-{code}", case_id, task_id, code, stage, state,
                          f"floor{step}", json.dumps({"roles": [role]})))
            conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--province", action="append",
                    help="province whose kecamatan act, one round each (default 32, 33, 35)")
    ap.add_argument("--db", default=url_from_env())
    args = ap.parse_args()
    provinces = args.province or ["32", "33", "35"]
    defs = definitions(lifecycle=True)  # the lifecycle path; forms: form_save.py
    db = fresh_database(args.db, province=provinces[0])
    now = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    kecamatan: dict[str, list[str]] = {}
    with db.session() as s:
        for province in provinces[1:]:
            load_regions(s, province)
        for province in provinces:
            start_year(s, defs, 2026, province=province, now=now)
            kecamatan[province] = s.scalars(select(Region.code).where(
                Region.tier == 3, Region.code.startswith(province + "."))).all()
            for code in kecamatan[province]:
                for _, role in STEPS:
                    add_user(s, defs, f"{role}-{code}", role=role, region=code)
    stage = defs.by_tier(3).stages[0].id
    print(f"database: {db.engine.dialect.name}; stage {stage}, one round per province")
    rates, per_trigger = [], {trigger: 0.0 for trigger, _ in STEPS}
    total_count = total_seconds = 0.0
    floors: list[float] = []
    for province in provinces:
        kecs = kecamatan[province]
        settle(db)
        seconds = 0.0
        for trigger, role in STEPS:
            start = time.perf_counter()
            for code in kecs:
                with db.session() as s:
                    act_on(s, code, stage, 2026, trigger, f"{role}-{code}", now=now)
            spent = time.perf_counter() - start
            per_trigger[trigger] += spent
            seconds += spent
        start = time.perf_counter()
        settle(db)  # the write-ahead log this round left behind
        checkpoint = time.perf_counter() - start
        seconds += checkpoint
        count = len(kecs) * len(STEPS)
        rates.append(count / seconds)
        total_count += count
        total_seconds += seconds
        print(f"  province {province}: {count} transitions ({len(kecs)} kecamatan x "
              f"{len(STEPS)}) in {seconds:.2f} s (final checkpoint {checkpoint * 1000:.0f} ms): "
              f"{count / seconds:.0f} per second")
        if db.engine.dialect.name == "sqlite":
            floor = floor_seconds(db.engine.url.database, kecs, stage, now)
            floors.append(seconds / floor)
            print(f"    floor: the same {count} bare transitions in raw sqlite3: {floor:.2f} s, "
                  f"{count / floor:.0f} per second; aksi takes {seconds / floor:.2f}x")
    for trigger, seconds in per_trigger.items():
        print(f"  {trigger}: {total_count / len(STEPS) / seconds:.0f} per second")
    print(f"rounds: median {statistics.median(rates):.0f}, "
          f"range {min(rates):.0f}-{max(rates):.0f} per second")
    print(f"persisted transitions per second: {total_count / total_seconds:.0f}")
    if floors:
        print(f"beside the raw sqlite3 floor: median {statistics.median(floors):.2f}x, "
              f"range {min(floors):.2f}-{max(floors):.2f}x")


if __name__ == "__main__":
    main()
