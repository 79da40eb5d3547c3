"""Persisted transitions per second in one process.

Each transition is one `act_on` in its own transaction (find the task, check the
user's roles, UPDATE with the version check, event row, gate evaluation on
approval, commit), as a person's click is: every kecamatan of a province
submits, verifies and approves one stage.

    python benchmarks/transitions_per_second.py [--province 19] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from sqlalchemy import select

from _setup import definitions, fresh_database, settle, url_from_env
from engine.people import add_user
from engine.runtime import act_on
from engine.store.models import Region
from engine.runtime.years import start_year


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--province", default="32", help="province whose kecamatan act (default 32, Jawa Barat)")
    ap.add_argument("--db", default=url_from_env())
    args = ap.parse_args()
    defs = definitions()
    db = fresh_database(args.db, province=args.province)
    now = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    with db.session() as s:
        start_year(s, defs, 2026, province=args.province, now=now)
        kecs = s.scalars(select(Region.code).where(Region.tier == 3)).all()
        for code in kecs:
            for role in ("operator", "verifikator", "approver"):
                add_user(s, defs, f"{role}-{code}", role=role, region=code)
    stage = defs.by_tier(3).stages[0].id
    steps = [("submit", "operator"), ("verify", "verifikator"), ("approve", "approver")]
    settle(db)
    per_trigger = {}
    for trigger, role in steps:
        start = time.perf_counter()
        for code in kecs:
            with db.session() as s:
                act_on(s, code, stage, 2026, trigger, f"{role}-{code}", now=now)
        per_trigger[trigger] = time.perf_counter() - start
    count, elapsed = len(kecs) * len(steps), sum(per_trigger.values())
    print(f"database: {db.engine.dialect.name}")
    print(f"transitions: {count} ({len(kecs)} kecamatan x {len(steps)} triggers, stage {stage})")
    for trigger, seconds in per_trigger.items():
        print(f"  {trigger}: {len(kecs) / seconds:.0f} per second")
    print(f"elapsed: {elapsed:.2f} s")
    print(f"persisted transitions per second: {count / elapsed:.0f}")


if __name__ == "__main__":
    main()
