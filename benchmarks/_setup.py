"""Shared set-up for the benchmark scripts: a fresh store with regions loaded."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from engine.definitions import default_directory, load
from engine.definitions.variants import lifecycle_only
from engine.regions import kemendagri_regions, load_regions
from engine.store import Database


def fresh_database(url: str | None = None, *, province: str | None = None,
                   with_desa: bool = False) -> Database:
    """A migrated database with regions: a temporary SQLite file unless ``url`` is given.

    A PostgreSQL URL is wiped first (its public schema is dropped): use a scratch database.
    """
    if url is None:
        path = Path(tempfile.mkdtemp(prefix="aksi-bench-")) / "bench.db"
        url = f"sqlite:///{path}"
    db = Database(url)
    if db.is_postgresql:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    db.upgrade()
    with db.session() as session:
        load_regions(session, province, with_desa=with_desa)
    return db


def definitions(directory: str | None = None, *, lifecycle: bool = False):
    """The definitions; with ``lifecycle``, their lifecycles and gates only, with forms
    that take any data (engine.definitions.variants): what the hot-path benchmarks time."""
    if lifecycle:
        source = Path(directory) if directory else default_directory()
        return load(lifecycle_only(source, Path(tempfile.mkdtemp(prefix="aksi-lifecycle-"))))
    return load(Path(directory) if directory else None)


def url_from_env() -> str | None:
    return os.environ.get("AKSI_BENCH_DATABASE_URL")


def settle(db: Database) -> None:
    """Checkpoint SQLite's write-ahead log, so set-up writes are not paid inside a timing."""
    if db.engine.dialect.name == "sqlite":
        raw = db.engine.raw_connection()  # outside any transaction (ours BEGIN IMMEDIATE)
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def largest_kecamatan() -> tuple[str, int]:
    """(code, number of desa/kelurahan) of the kecamatan with the most of them."""
    counts = Counter(code.rsplit(".", 1)[0] for code, _ in kemendagri_regions()
                     if code.count(".") == 3)
    return counts.most_common(1)[0]


def median_ms(fn, rounds: int) -> float:
    """The median time of ``rounds`` calls of ``fn``, in milliseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
