"""Fixtures of the webhook tests: a fresh database per test on every backend, and receivers.

Backends: always SQLite (a temporary file); PostgreSQL too when
``AKSI_TEST_DATABASE_URL`` is set - each test then gets a clean ``public`` schema.
An unreachable PostgreSQL server fails the tests: it never skips them.

This directory has no ``__init__.py`` on purpose: as a package it would be named
``webhooks`` and shadow the package under test. Its modules therefore carry
unique names (``test_webhooks_*``, ``webhook_support``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy.exc import OperationalError

import webhooks
from engine.store import Database
from webhooks.outbox import forget_notes

PG_ENV = "AKSI_TEST_DATABASE_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
REPO = Path(__file__).resolve().parents[2]

# The package under test, not this directory.
assert Path(webhooks.__file__).resolve().parent == REPO / "webhooks", webhooks.__file__


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
    forget_notes()
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/t.db"
    url = os.environ[PG_ENV]
    reset_postgresql(url)
    return url


@pytest.fixture
def db(db_url: str):
    """A migrated, empty store, disposed at teardown."""
    database = Database(db_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver on the IPv4 loopback (not whatever "localhost" resolves to)."""
    return ("127.0.0.1", 0)


@pytest.fixture
def threaded_httpserver():
    """A receiver that serves requests concurrently (a handler may block)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch):
    monkeypatch.delenv("AKSI_WEBHOOKS", raising=False)
    monkeypatch.delenv("AKSI_DATABASE_URL", raising=False)
