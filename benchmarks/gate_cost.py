"""Cost of the approval that opens a kab/kota stage: 51 kecamatan versus 2.

Kabupaten Yahukimo (95.03) has 51 kecamatan, Kota Solok (13.72) has 2. In
each, every kecamatan but the last gets `analisis_situasi` approved; then the
last approval, which counts the children and opens the kab/kota stage in the
same transaction, is timed. Repeated on fresh years to take the median.

    python benchmarks/gate_cost.py [--db URL] [--rounds 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

from sqlalchemy import select

from _setup import definitions, fresh_database, url_from_env
from engine.people import add_user
from engine.runtime import act_on
from engine.runtime.years import start_year
from engine.store.models import Region

PARENTS = {"95.03": "Kabupaten Yahukimo", "13.72": "Kota Solok"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    defs = definitions(lifecycle=True)  # the lifecycle path; forms: form_save.py
    db = fresh_database(args.db)  # the whole country: the gate query must not care
    kec = defs.by_tier(3)
    stage = next(s.id for s in kec.stages if not s.after and s.waits_for is None)
    parent_stage = next(s.id for s in defs.by_tier(2).stages
                        if s.waits_for and s.waits_for.stage == stage)
    children = {}
    with db.session() as s:
        for parent in PARENTS:
            children[parent] = s.scalars(select(Region.code).where(
                Region.parent_code == parent).order_by(Region.code)).all()
            for code in children[parent]:
                for role in ("operator", "verifikator", "approver"):
                    add_user(s, defs, f"{role}-{code}", role=role, region=code)
    timings: dict[str, list[float]] = {p: [] for p in PARENTS}
    for round_ in range(args.rounds):
        year = 2030 + round_
        now = dt.datetime(year, 1, 5, tzinfo=dt.timezone.utc)
        with db.session() as s:
            for parent in PARENTS:
                start_year(s, defs, year, province=parent[:2], now=now)
        for parent, kids in children.items():
            for code in kids:
                for trigger, role in (("submit", "operator"), ("verify", "verifikator")):
                    with db.session() as s:
                        act_on(s, code, stage, year, trigger, f"{role}-{code}", now=now)
            for code in kids[:-1]:
                with db.session() as s:
                    act_on(s, code, stage, year, "approve", f"approver-{code}", now=now)
            last = kids[-1]
            t0 = time.perf_counter()
            with db.session() as s:
                result = act_on(s, last, stage, year, "approve", f"approver-{last}", now=now)
            timings[parent].append(time.perf_counter() - t0)
            assert any(o["region"] == parent and o["stage"] == parent_stage
                       for o in result.opened), "the last approval must open the parent stage"
    print(f"database: {db.engine.dialect.name}; {args.rounds} rounds; stage {stage} -> {parent_stage}")
    medians = {}
    for parent, values in timings.items():
        medians[parent] = statistics.median(values)
        print(f"{parent} {PARENTS[parent]} ({len(children[parent])} kecamatan): "
              f"median {medians[parent] * 1000:.2f} ms, min {min(values) * 1000:.2f} ms")
    big, small = medians["95.03"], medians["13.72"]
    print(f"ratio 51 vs 2 children: {big / small:.2f}x")


if __name__ == "__main__":
    main()
