"""Fixtures of the runtime tests: a fresh database per test on every backend.

Backends: always SQLite (a temporary file); PostgreSQL too when
``AKSI_TEST_DATABASE_URL`` is set - each test then gets a clean ``public`` schema.
An unreachable PostgreSQL server fails the tests: it never skips them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from engine.definitions import DefinitionSet, load
from engine.regions import load_regions
from engine.runtime import start_year
from engine.store import Database

from .support import NOW, TOY, WORKFLOWS, YEAR, add_standard_users

PG_ENV = "AKSI_TEST_DATABASE_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])


def reset_postgresql(url: str) -> None:
    """Drop everything in the ``public`` schema (fails the test if the server is unreachable)."""
    admin = Database(url)
    try:
        with admin.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    except OperationalError as exc:
        pytest.fail(f"{PG_ENV}={url}: PostgreSQL unreachable: {exc}", pytrace=False)
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path) -> str:
    """The URL of an empty database (no schema yet)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/t.db"
    url = os.environ[PG_ENV]
    reset_postgresql(url)
    return url


@pytest.fixture
def raw_db(db_url: str):
    """A `Database` on the empty store, disposed at teardown."""
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def db(raw_db: Database) -> Database:
    """A migrated, empty store."""
    raw_db.upgrade()
    return raw_db


@pytest.fixture(scope="session")
def defs() -> DefinitionSet:
    """The juknis definitions (kecamatan, kabkota, provinsi)."""
    return load(WORKFLOWS)


@pytest.fixture(scope="session")
def toy_defs() -> DefinitionSet:
    """The toy definitions (region tier 1, district tier 2)."""
    return load(TOY / "workflows")


@pytest.fixture
def regions(db: Database) -> Database:
    """The store with Kepulauan Bangka Belitung (19) loaded."""
    with db.session() as s:
        load_regions(s, "19")
    return db


@pytest.fixture
def started(regions: Database, defs: DefinitionSet) -> Database:
    """Year 2026 started for province 19 at `NOW`, with the standard users."""
    with regions.session() as s:
        start_year(s, defs, YEAR, province="19", now=NOW)
        add_standard_users(s, defs)
    return regions
