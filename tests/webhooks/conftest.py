"""Fixtures of the webhook tests: receivers (the database fixtures, on every backend,
are in tests/conftest.py).

This directory has no ``__init__.py`` on purpose: as a package it would be named
``webhooks`` and shadow the package under test. Its modules therefore carry
unique names (``test_webhooks_*``, ``webhook_support``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

import webhooks
from webhooks.outbox import forget_notes

REPO = Path(__file__).resolve().parents[2]

# The package under test, not this directory.
assert Path(webhooks.__file__).resolve().parent == REPO / "webhooks", webhooks.__file__


@pytest.fixture(autouse=True)
def _fresh_notes():
    """Each test starts with no remembered PostgreSQL snapshots (see webhooks/outbox.py)."""
    forget_notes()


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
