"""Whole-process times of commands, beside floors measured in the same run.

- `aksi --help` and `aksi task show` (SQLite) beside `python -c "import click"`, and
  `aksi task show` beside importing click, the SQLAlchemy ORM and aksi's models (what any
  command that reads the database must import: the part of the time aksi cannot shed);
- `aksi check` of the shipped definitions beside reading every one of their files with
  libyaml in one process (the reading any check must do; the checks, the JSON Schema
  validation and the positions are the rest);
- a national `aksi year start` beside a raw ``sqlite3`` process inserting the same rows
  (read from a file, not timed apart) into the same schema, indexes included, in one
  transaction.

Each command runs REPEAT times, interleaved with its floor, as a new process (what a user
waits for: interpreter start, imports, work). Python's bytecode cache is allowed (a wheel
install writes it; PYTHONDONTWRITEBYTECODE is removed from the children's environment) and
warmed by one untimed run. The machine's speed drifts: read the ratios.

    python benchmarks/cli_start.py [--repeat 5] [--skip-year]
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import fresh_database

AKSI = [sys.executable, "-c", "import sys; from engine.cli import main; sys.argv[0] = 'aksi'; main()"]
CLICK = [sys.executable, "-c", "import click"]
# What any command that reads the database imports before its first query: click, the
# SQLAlchemy ORM and aksi's typed models.
ORM = [sys.executable, "-c", "import click, sqlalchemy.orm, engine.store.models"]
# Reading every definition file (workflows and forms) with libyaml: what `aksi check` cannot
# do without.
READ_ALL = [sys.executable, "-c", "import glob, sys, yaml; d = sys.argv[1]; "
            "[yaml.load(open(f, encoding='utf-8'), Loader=yaml.CSafeLoader) "
            "for f in glob.glob(d + '/workflows/*.yaml') + glob.glob(d + '/forms/*')]"]
TABLES = ("cases", "tasks", "events", "notices", "progress_counts")

FLOOR = r'''
import pickle, sqlite3, sys
schema, rows = pickle.load(open(sys.argv[2], "rb"))
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL"); conn.execute("PRAGMA synchronous=NORMAL")
conn.execute("BEGIN IMMEDIATE")
for table, columns, values in rows:
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                     f"({', '.join('?' * len(columns))})", values)
conn.execute("COMMIT")
'''


def timed(command: list[str], env: dict, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[3:]) or command}: exit {done.returncode}\n{done.stderr}")
    return elapsed


def compare(label: str, runs: list[tuple[list[str], Path | None]], floor_label: str,
            floor: list[str], env: dict, cwd: Path, repeat: int,
            prepare=None) -> None:
    ours, base = [], []
    for i in range(repeat + 1):  # the first round warms the bytecode cache; not counted
        for command, _ in runs:
            if prepare:
                prepare()
            t = timed(command, env, cwd)
            if i:
                ours.append(t)
        if prepare:
            prepare()
        t = timed(floor, env, cwd)
        if i:
            base.append(t)
    a, b = statistics.median(ours), statistics.median(base)
    print(f"{label:<44} {a * 1000:8.0f} ms   {floor_label:<34} {b * 1000:8.0f} ms   "
          f"{a / b:5.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-year", action="store_true", help="Only --help and task show.")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    work = Path(tempfile.mkdtemp(prefix="aksi-cli-start-"))
    workflows = str(Path(__file__).resolve().parents[1] / "workflows")

    small = work / "small.db"
    db = fresh_database(f"sqlite:///{small}", province="19")
    db.dispose()
    base = [*AKSI, "--workflows", workflows, "--db", f"sqlite:///{small}"]
    timed([*base, "year", "start", "2026", "--province", "19"], env, work)
    print(f"{'command (whole process, median)':<44} {'':>11}   {'floor':<34}")
    compare("aksi --help", [([*AKSI, "--help"], None)], 'python -c "import click"', CLICK,
            env, work, args.repeat)
    compare("aksi task show 19.01.01 analisis_situasi", [(
        [*base, "task", "show", "19.01.01", "analisis_situasi", "--year", "2026"], None)],
        'python -c "import click"', CLICK, env, work, args.repeat)
    compare("aksi task show 19.01.01 analisis_situasi", [(
        [*base, "task", "show", "19.01.01", "analisis_situasi", "--year", "2026"], None)],
        "import click, ORM, models", ORM, env, work, args.repeat)
    root = str(Path(workflows).parent)
    compare("aksi check", [([*AKSI, "--workflows", workflows, "check"], None)],
            "read every file with libyaml", [*READ_ALL, root], env, work, args.repeat)
    if args.skip_year:
        return

    national = work / "national.db"
    db = fresh_database(f"sqlite:///{national}")
    db.dispose()
    pristine = work / "pristine.db"
    shutil.copy(national, pristine)
    started = work / "started.db"
    shutil.copy(pristine, started)
    timed([*AKSI, "--workflows", workflows, "--db", f"sqlite:///{started}", "year", "start",
           "2026"], env, work)
    rows_file = work / "rows.pickle"
    with sqlite3.connect(started) as conn:
        rows = []
        for table in TABLES:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            rows.append((table, columns, conn.execute(f"SELECT * FROM {table}").fetchall()))
        counts = {t: len(v) for t, _, v in rows}
    with open(rows_file, "wb") as f:
        pickle.dump((None, rows), f)
    print(f"national year start: {', '.join(f'{n:,} {t}' for t, n in counts.items())}")

    def reset() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{national}{suffix}").unlink(missing_ok=True)
        shutil.copy(pristine, national)

    floor = [sys.executable, "-c", FLOOR, str(national), str(rows_file)]
    # The floor inserts into the same database file (regions loaded, schema and indexes in
    # place), reset before every run of either side.
    compare("aksi year start 2026 (national)", [(
        [*AKSI, "--workflows", workflows, "--db", f"sqlite:///{national}", "year", "start",
         "2026"], None)], "raw sqlite3: same rows, same schema", floor, env, work,
        max(2, args.repeat // 2), prepare=reset)


if __name__ == "__main__":
    main()
