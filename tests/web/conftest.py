"""The web tests run the app on every backend, with the clock fixed at the runtime
tests' `NOW` and passwords set for a few of the standard users."""

from __future__ import annotations

import re

import pytest
import time_machine

from engine.people import add_user
from engine.web import create_app
from runtime.conftest import defs, regions, started  # noqa: F401
from runtime.support import NOW, user

PASSWORD = "rahasia-123"
KEC = "19.01.01"
USERS = [user(role, KEC) for role in ("operator", "verifikator", "approver")] + [
    user("supervisor", "19.01"), user("operator", "19.02.01")]


@pytest.fixture
def app(started, defs):  # noqa: F811
    with started.session() as s:
        for name in USERS:
            add_user(s, defs, name, password=PASSWORD)
    app = create_app({"DATABASE_URL": started.url, "SECRET_KEY": "test", "TESTING": True})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(page: bytes) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, "no CSRF token on the page"
    return found.group(1).decode()


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/masuk")
    return client.post("/masuk", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(page.data)})
