"""National `year start` with and without a desa/kelurahan level: cost per stage.

    python benchmarks/year_start_desa.py [--db URL] [--rounds 3] [--year 2026]

Every region down to the desa (tier 4, 83,762 of them) is loaded once, not timed. Two
definition sets are started alternately (A B B A A B ...) on the same regions:

- without: the shipped levels (provinsi, kab/kota, kecamatan), lifecycle only
  (engine.definitions.variants.lifecycle_only), as `year_start.py` times them;
- with: the same plus a desa level (tier 4, `DESA_LEVEL` below: four stages, one of them
  after another, reminders and escalations like the kecamatan's).

Before each start the cases, stages, events and notices are removed (the regions stay),
so every start fills empty tables. (On PostgreSQL the TRUNCATE is not followed by ANALYZE:
with statistics saying the tables are empty, the desa cases' INSERT ... SELECT ran for
minutes instead of seconds, a plan problem still to explain; fresh tables, as
`aksi db upgrade` leaves them, start as fast as the run without a desa level.) The figure is the time of `start_year` divided by the
stages it created, wall clock and this process's CPU time (the machine is shared: CPU time
is the steadier figure on SQLite, where the database runs in the process). The goal: the
set with a desa level costs at most 1.2x per stage what the set without it costs (year
start stays linear in the number of stages). Both are printed side by side from the same
run, with the ratio per round and its median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete

from _setup import fresh_database, settle, url_from_env
from engine.definitions import default_directory, load
from engine.definitions.variants import lifecycle_only
from engine.runtime.years import start_year
from engine.store.models import Case, DefinitionRow, Event, Notice, ProgressCount, Task

# A desa level for the benchmark (not the juknis: the book has no desa-level cycle).
DESA_LEVEL = """\
level: desa
version: "bench-1"
title: Desa (benchmark)
source: "benchmarks/year_start_desa.py"
tier: 4
groups:
  data: Data
  laporan: Laporan
roles:
  operator: {name: Operator Desa, count: 2}
  approver: {name: Kepala Desa, count: 1}
lifecycle:
  initial: locked
  opens_with: open
  done: approved
  states:
    locked: {name: Terkunci}
    ready: {name: Siap diisi}
    submitted: {name: Menunggu persetujuan}
    approved: {name: Disetujui}
    returned: {name: Dikembalikan}
  triggers:
    open: {name: Buka, from: locked, to: ready, by: system}
    submit: {name: Kirim, from: [ready, returned], to: submitted, by: operator}
    approve: {name: Setujui, from: submitted, to: approved, by: approver, not_by: submit}
    return: {name: Kembalikan, from: submitted, to: returned, by: approver, reason: true}
defaults:
  reminders:
    - {before: 7, to: [operator]}
    - {before: 1, to: [operator, approver]}
  escalations:
    - {after: 3, to: [approver, "parent:approver"]}
stages:
  - id: pendataan
    name: Pendataan Sasaran
    group: data
    kind: utama
    due: "01-20"
    outputs: [desa_pendataan]
  - {id: rembuk, name: Rembuk Stunting Desa, group: data, kind: utama, opens: "02-01", due: "03", after: [pendataan]}
  - {id: laporan_1, name: Laporan Semester 1, group: laporan, kind: utama, opens: "06-01", due: "07-15"}
  - {id: laporan_2, name: Laporan Semester 2, group: laporan, kind: pendukung, opens: "12-01", due: "12-20"}
"""


def definition_sets() -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="aksi-desa-"))
    with_desa = root / "source"
    shutil.copytree(default_directory(), with_desa)
    (with_desa / "desa.yaml").write_text(DESA_LEVEL, encoding="utf-8")
    return {"without": load(lifecycle_only(default_directory(), root / "without")),
            "with": load(lifecycle_only(with_desa, root / "with"))}


def wipe(db) -> None:
    """Remove what year start writes; keep the regions."""
    with db.session() as s:
        if db.is_postgresql:
            s.connection().exec_driver_sql(
                "TRUNCATE notices, events, progress_counts, tasks, cases, definitions CASCADE")
        else:
            for model in (Notice, Event, ProgressCount, Task, Case, DefinitionRow):
                s.execute(delete(model))
    if not db.is_postgresql:  # TRUNCATE leaves PostgreSQL's tables empty and unmeasured
        raw = db.engine.raw_connection()  # outside any transaction: VACUUM refuses one
        try:
            raw.driver_connection.execute("VACUUM")
        finally:
            raw.close()
    settle(db)


def one_start(db, defs, year: int) -> tuple[float, float, int, dict]:
    """(wall seconds, CPU seconds of this process, stages created, cases per level)."""
    wipe(db)
    now = dt.datetime(year, 1, 2, tzinfo=dt.timezone.utc)
    start, cpu = time.perf_counter(), time.process_time()
    with db.session() as s:
        report = start_year(s, defs, year, now=now)
    return time.perf_counter() - start, time.process_time() - cpu, report.tasks, report.cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--year", type=int, default=2026)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sets = definition_sets()
    started = time.perf_counter()
    db = fresh_database(args.db, with_desa=True)
    print(f"database: {db.engine.dialect.name}; regions with desa loaded in "
          f"{time.perf_counter() - started:.0f} s (not timed below)")
    wall: dict[str, list[float]] = {"without": [], "with": []}
    cpu: dict[str, list[float]] = {"without": [], "with": []}
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    for r in range(args.rounds):
        order = ("without", "with") if r % 2 == 0 else ("with", "without")
        for name in order:
            seconds, cpu_seconds, tasks, cases = one_start(db, sets[name], args.year)
            wall[name].append(seconds / tasks * 1e6)
            cpu[name].append(cpu_seconds / tasks * 1e6)
            print(f"round {r + 1} {name:>7} desa level: {seconds:6.2f} s wall, "
                  f"{cpu_seconds:6.2f} s CPU, {tasks:7,} stages, {sum(cases.values()):6,} "
                  f"cases: {wall[name][-1]:5.1f} us wall, {cpu[name][-1]:5.1f} us CPU per stage")
        ratios["wall"].append(wall["with"][-1] / wall["without"][-1])
        ratios["cpu"].append(cpu["with"][-1] / cpu["without"][-1])
        print(f"round {r + 1}: with / without, per stage: wall {ratios['wall'][-1]:.2f}x, "
              f"CPU {ratios['cpu'][-1]:.2f}x")
    for what, figures in (("wall", wall), ("CPU", cpu)):
        key = what.lower()
        print(f"median {what} per stage: without {statistics.median(figures['without']):.1f} us, "
              f"with {statistics.median(figures['with']):.1f} us; ratio per round "
              f"{', '.join(f'{x:.2f}' for x in ratios[key])}; median "
              f"{statistics.median(ratios[key]):.2f}x (goal <= 1.20x)")
    print("(CPU is this process's: on PostgreSQL the server's work is in wall time only)")
    db.dispose()


if __name__ == "__main__":
    main()
