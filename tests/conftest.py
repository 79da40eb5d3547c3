"""Fixtures shared by the tests; the helpers themselves live in helpers.py.

Database fixtures run every test that uses them on every backend: always SQLite (a
temporary file), and PostgreSQL too when ``AKSI_TEST_DATABASE_URL`` is set - each test
then gets a clean ``public`` schema. An unreachable PostgreSQL server fails the tests:
it never skips them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from engine.store import Database
from chromium import chromium
from helpers import ToyCopy

PG_ENV = "AKSI_TEST_DATABASE_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])


@pytest.fixture
def toy(tmp_path: Path) -> ToyCopy:
    """A writable copy of tests/fixtures/toy to break."""
    return ToyCopy(tmp_path / "toy")


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


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright (tests/chromium.py), one per test module."""
    with chromium() as launched:
        yield launched
