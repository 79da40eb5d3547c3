"""Region scoping on a PostgreSQL database whose default collation ignores punctuation,
as glibc's en_US does on many servers (here ICU en-US with shifted punctuation, which
every PostgreSQL with ICU has): the dots of region codes must still count when a range
of codes is compared. Runs when ``AKSI_TEST_DATABASE_URL`` is set, on a scratch database
created beside it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from engine.definitions import load
from engine.regions import load_regions
from engine.runtime import list_tasks, progress, start_year
from engine.store import Database
from engine.store.database import normalise_url

from .support import NOW, WORKFLOWS, YEAR

PG = os.environ.get("AKSI_TEST_DATABASE_URL")
NAME = "aksi_test_icu"


@pytest.fixture
def icu_db():
    admin = create_engine(normalise_url(PG), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {NAME} TEMPLATE template0 LOCALE_PROVIDER icu "
                                 "ICU_LOCALE 'en-US-u-ka-shifted' LOCALE 'C.UTF-8'")
        db = Database(make_url(normalise_url(PG)).set(database=NAME).render_as_string(False))
        db.upgrade()
        yield db
        db.dispose()
    finally:
        admin.dispose()


@pytest.mark.skipif(not PG, reason="needs AKSI_TEST_DATABASE_URL (set by .ci/run)")
def test_region_ranges_hold_under_a_linguistic_collation(icu_db):
    defs = load(WORKFLOWS)
    with icu_db.session() as s:
        collation = s.connection().exec_driver_sql(
            "SELECT datlocprovider FROM pg_database WHERE datname = current_database()").scalar()
        assert collation == "i"  # the database really is ICU
        load_regions(s, "19", with_desa=False)
        report = start_year(s, defs, YEAR, province="19", now=NOW)
        assert report.cases["kecamatan"] > 40  # the province's kecamatan were in scope
        below = list_tasks(s, year=YEAR, region="19.01", level="kecamatan",
                           stage="analisis_situasi", now=NOW)
        rows = progress(s, ["19.01"], YEAR, now=NOW)
    assert len(below) == 8 and all(t.region.startswith("19.01.") for t in below)
    kec = next(r for r in rows if r.level == "kecamatan" and r.stage == "analisis_situasi")
    assert kec.total == 8
