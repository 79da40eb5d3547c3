"""Server-side sessions: the cookie carries only a session's secret; signing out, a
password set and a deactivation end sessions at once; idle and absolute expiry; the
last-seen time is written at most once a minute; an ended session still keeps the input."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.cli import main
from engine.people import add_user, issue_token
from engine.runtime import find_task
from engine.store.models import WebSession
from engine.web import create_app
from runtime.support import NOW, YEAR, user

from .conftest import KEC, PASSWORD, csrf_token, sign_in

OPERATOR = user("operator", KEC)
PAGE = f"/tugas/{YEAR}/{KEC}/analisis_situasi"


@pytest.fixture
def short(app):
    """An app on the same store whose sessions last 30 idle minutes, 2 hours in all."""
    other = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test",
                        "TESTING": True, "SESSION_IDLE_MINUTES": 30, "SESSION_MAX_HOURS": 2})
    yield other
    other.extensions["aksi.db"].dispose()


def at(minutes: float):
    return time_machine.travel(NOW + dt.timedelta(minutes=minutes), tick=False)


def sessions(app) -> list[WebSession]:
    with app.extensions["aksi.db"].session() as s:
        return list(s.scalars(select(WebSession)))


def cookie(client) -> str:
    return client.get_cookie("session").value


def sign_out(client):
    return client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})


def test_the_cookie_carries_only_a_secret_the_store_keeps_hashed(app, client):
    sign_in(client, OPERATOR)
    signed = app.session_interface.get_signing_serializer(app).loads(cookie(client))
    secret = signed["_user_id"]
    assert OPERATOR not in json.dumps(signed) and len(secret) >= 40
    [row] = sessions(app)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (row.created_at, row.last_seen_at) == (NOW, NOW)


def test_after_signing_out_the_same_cookie_is_refused(app, client):
    sign_in(client, OPERATOR)
    kept = cookie(client)
    assert sign_out(client).status_code == 302
    assert sessions(app) == []
    client.set_cookie("session", kept)  # replayed, e.g. copied before signing out
    answer = client.get("/tugas")
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


def test_an_idle_session_ends(short):
    client = short.test_client()
    sign_in(client, OPERATOR)
    with at(29):
        assert client.get("/tugas").status_code == 200  # seen: idle from here
    with at(58):
        assert client.get("/tugas").status_code == 200
    with at(87.5):
        assert client.get("/tugas").status_code == 200
    with at(118):  # 30.5 idle minutes
        assert client.get("/tugas").status_code == 302


def test_a_session_ends_after_its_lifetime_however_busy(short):
    client = short.test_client()
    sign_in(client, OPERATOR)
    for minutes in range(20, 120, 20):
        with at(minutes):
            assert client.get("/tugas").status_code == 200
    with at(120):
        assert client.get("/tugas").status_code == 302
    with at(120):
        sign_in(client, OPERATOR)  # a new one
        assert client.get("/tugas").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(app, client):
    sign_in(client, OPERATOR)
    with at(0.5):
        client.get("/tugas")
    assert sessions(app)[0].last_seen_at == NOW  # not yet a minute: no write
    with at(1):
        client.get("/tugas")
    assert sessions(app)[0].last_seen_at == NOW + dt.timedelta(minutes=1)
    with at(1.9):
        client.get("/tugas")
    assert sessions(app)[0].last_seen_at == NOW + dt.timedelta(minutes=1)


def test_a_password_set_ends_every_session_of_that_user(app, defs):
    phone, office, other = app.test_client(), app.test_client(), app.test_client()
    sign_in(phone, OPERATOR)
    sign_in(office, OPERATOR)
    sign_in(other, user("verifikator", KEC))
    with app.extensions["aksi.db"].session() as s:
        add_user(s, defs, OPERATOR, password="sandi-baru-456")
    assert phone.get("/tugas").status_code == 302
    assert office.get("/tugas").status_code == 302
    assert other.get("/tugas").status_code == 200  # somebody else's session goes on
    assert len(sessions(app)) == 1
    assert sign_in(office, OPERATOR, PASSWORD).status_code == 401
    assert sign_in(office, OPERATOR, "sandi-baru-456").status_code == 302


def test_deactivating_ends_sessions_and_tokens_until_undone(app, client):
    url = app.config["DATABASE_URL"]
    sign_in(client, OPERATOR)
    with app.extensions["aksi.db"].session() as s:
        token = issue_token(s, OPERATOR, "sistem-lain")
    api = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=api).status_code == 200
    result = CliRunner().invoke(main, ["--db", url, "users", "deactivate", OPERATOR])
    assert result.exit_code == 0, result.output
    assert "dinonaktifkan" in result.output
    assert sessions(app) == []
    assert client.get("/tugas").status_code == 302
    assert app.test_client().get("/api/v1/tasks", headers=api).status_code == 401
    assert sign_in(client, OPERATOR).status_code == 401
    result = CliRunner().invoke(main, ["--db", url, "users", "deactivate", OPERATOR, "--undo"])
    assert result.exit_code == 0, result.output
    assert app.test_client().get("/api/v1/tasks", headers=api).status_code == 200
    assert sign_in(client, OPERATOR).status_code == 302
    unknown = CliRunner().invoke(main, ["--db", url, "users", "deactivate", "tidak-ada"])
    assert unknown.exit_code == 1 and "tidak ada" in unknown.output


def test_expired_sessions_are_pruned_by_sign_ins(short):
    for _ in range(3):
        sign_in(short.test_client(), OPERATOR)
    with at(31):
        sign_in(short.test_client(), user("verifikator", KEC))
        assert [row.created_at for row in sessions(short)] == [NOW + dt.timedelta(minutes=31)]


def test_an_idle_session_still_gives_the_input_back(short):
    """The page stayed open past the idle timeout: the post is kept, the person signs in,
    the stage page gets the typed text back."""
    client = short.test_client()
    sign_in(client, OPERATOR)
    page = client.get(PAGE)
    with short.extensions["aksi.db"].session() as s:
        version = find_task(s, KEC, "analisis_situasi", YEAR).version
    with at(45):
        answer = client.post(f"{PAGE}/submit", headers={"Origin": "http://localhost"}, data={
            "csrf_token": csrf_token(page.data), "version": str(version),
            "reason": "catatan panjang"})
        assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]
        with short.extensions["aksi.db"].session() as s:
            assert find_task(s, KEC, "analisis_situasi", YEAR).version == version
        login = client.get(answer.headers["Location"])
        assert "Sesi Anda telah berakhir" in login.get_data(as_text=True)
        signed = client.post(answer.headers["Location"], data={
            "username": OPERATOR, "password": PASSWORD, "csrf_token": csrf_token(login.data)})
        assert signed.headers["Location"] == PAGE
        kept = re.search(r'id="aksi-kept">(.*?)</script>', client.get(PAGE).get_data(as_text=True),
                         re.S)
        assert json.loads(kept.group(1))["fields"] == {"reason": "catatan panjang"}


def test_sign_in_counts_are_not_kept_in_the_session_table(app, client):
    sign_in(client, OPERATOR, "salah")
    with app.extensions["aksi.db"].session() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
