"""The task list in a browser's place: sign-in, scope, CSRF, acting, refusals, conflicts."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.runtime import find_task
from engine.store.models import Event
from runtime.support import YEAR, user

from .conftest import KEC, csrf_token, sign_in

STAGE = "analisis_situasi"
PAGE = f"/tugas/{YEAR}/{KEC}/{STAGE}"


def _state(app) -> tuple[str, int]:
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        return task.state, task.version


def _events(app) -> int:
    with app.extensions["aksi.db"].session() as s:
        return s.scalar(select(func.count()).select_from(Event))


def _act(client, trigger: str, *, version: int, reason: str | None = None, token: str | None = None):
    page = client.get(PAGE)
    data = {"version": str(version), "csrf_token": token or csrf_token(page.data)}
    if reason is not None:
        data["reason"] = reason
    return client.post(f"{PAGE}/{trigger}", data=data, follow_redirects=True)


def test_health_needs_no_sign_in(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json["status"] == "ok"


def test_health_costs_a_signed_in_client_what_it_costs_anyone(app, client):
    """/healthz is the floor the benchmarks measure pages against: no user is loaded and
    no menu is prepared for it, signed in or not."""
    from sqlalchemy import event
    engine = app.extensions["aksi.db"].engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get("/healthz")
        anonymous = len(seen)
        assert sign_in(client, user("supervisor", "19.01")).status_code == 302
        seen.clear()
        assert client.get("/healthz").status_code == 200
        assert len(seen) == anonymous, seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_every_page_asks_for_a_sign_in_first(client):
    for path in ("/", "/tugas", PAGE):
        answer = client.get(path)
        assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]


def test_a_wrong_password_is_refused_in_bahasa(client):
    answer = sign_in(client, user("operator", KEC), "salah")
    assert answer.status_code == 401
    assert "kata sandi salah" in answer.get_data(as_text=True)
    assert client.get("/tugas").status_code == 302  # still signed out


def test_sign_in_without_csrf_token_is_refused(client):
    answer = client.post("/masuk", data={"username": user("operator", KEC), "password": "x"})
    assert answer.status_code == 400
    assert "kedaluwarsa" in answer.get_data(as_text=True)


def test_operator_sees_their_tasks_with_local_deadlines(client):
    sign_in(client, user("operator", KEC))
    page = client.get("/tugas").get_data(as_text=True)
    assert "Tugas saya" in page and "Analisis Situasi" in page
    assert KEC in page and "19.01.02" not in page  # only their own kecamatan
    assert "15 Januari 2026, 23.59 WIB" in page  # due 15 January, end of day in WIB
    everything = client.get("/tugas?lingkup=semua").get_data(as_text=True)
    assert everything.count("<tr") > page.count("<tr")  # locked stages too


def test_submit_verify_approve_through_the_pages(app, client):
    state, version = _state(app)
    assert state == "ready"
    sign_in(client, user("operator", KEC))
    page = client.get(PAGE).get_data(as_text=True)
    assert "Kirim untuk verifikasi" in page and "Setujui" not in page
    answer = _act(client, "submit", version=version)
    assert "Berhasil" in answer.get_data(as_text=True)
    assert _state(app) == ("submitted", version + 1)

    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, user("verifikator", KEC))
    _act(client, "verify", version=version + 1)
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, user("approver", KEC))
    _act(client, "approve", version=version + 2)
    state, _ = _state(app)
    assert state == "approved"
    history = client.get(PAGE).get_data(as_text=True)
    assert "Setujui oleh approver@19.01.01" in history


def test_a_post_without_csrf_token_changes_nothing(app, client):
    sign_in(client, user("operator", KEC))
    before, events = _state(app), _events(app)
    answer = client.post(f"{PAGE}/submit", data={"version": str(before[1])})
    assert answer.status_code == 400
    assert _state(app) == before and _events(app) == events


def test_a_stale_version_is_a_conflict_and_changes_nothing(app, client):
    sign_in(client, user("operator", KEC))
    state, version = _state(app)
    answer = _act(client, "submit", version=version - 1)
    assert "diubah orang lain" in answer.get_data(as_text=True)
    assert _state(app) == (state, version)


def test_return_without_reason_is_refused_and_with_reason_recorded(app, client):
    sign_in(client, user("operator", KEC))
    _act(client, "submit", version=_state(app)[1])
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, user("verifikator", KEC))
    state, version = _state(app)
    answer = _act(client, "return", version=version, reason="   ")
    assert "memerlukan alasan" in answer.get_data(as_text=True)
    assert _state(app) == (state, version)
    answer = _act(client, "return", version=version, reason="Data desa Air Duren belum lengkap")
    assert _state(app)[0] == "returned"
    assert "Data desa Air Duren belum lengkap" in client.get(PAGE).get_data(as_text=True)


def test_a_trigger_the_user_may_not_fire_is_refused(app, client):
    sign_in(client, user("verifikator", KEC))
    before = _state(app)
    answer = _act(client, "submit", version=before[1])  # operators submit
    assert "tidak berhak" in answer.get_data(as_text=True)
    assert _state(app) == before


def test_regions_outside_the_users_scope_are_forbidden(app, client):
    sign_in(client, user("operator", "19.02.01"))
    assert client.get(PAGE).status_code == 403
    before = _state(app)
    token = csrf_token(client.get("/tugas").data)
    answer = client.post(f"{PAGE}/submit", data={"version": str(before[1]), "csrf_token": token})
    assert answer.status_code == 403
    assert _state(app) == before
    assert client.get(f"/tugas/{YEAR}/19.02.01/tidak_ada").status_code == 404


def test_a_supervisor_sees_the_kecamatan_below_but_cannot_submit_for_them(app, client):
    sign_in(client, user("supervisor", "19.01"))
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Kirim untuk verifikasi" not in page.get_data(as_text=True)
    listing = client.get("/tugas?lingkup=semua").get_data(as_text=True)
    assert "19.01.01" in listing and "19.01.02" in listing and "19.02.01" not in listing


def test_a_locked_stage_says_what_holds_it(client):
    sign_in(client, user("supervisor", "19.01"))
    page = client.get(f"/tugas/{YEAR}/19.01/analisis_situasi").get_data(as_text=True)
    assert "Belum dapat dibuka karena" in page
    assert "19.01.01" in page  # a kecamatan still to approve, by code


def test_sign_out_ends_the_session(client):
    sign_in(client, user("operator", KEC))
    assert client.get("/tugas").status_code == 200
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    assert client.get("/tugas").status_code == 302


def test_after_sign_in_only_local_paths_are_followed(client):
    for target, expected in (("https://evil.example/", "/"), ("//evil.example/", "/"),
                             ("/\\evil.example/", "/"), ("/\t/evil.example", "/"),
                             ("/\n/evil.example", "/"), (PAGE, PAGE)):
        page = client.get("/masuk")
        answer = client.post("/masuk", query_string={"next": target}, data={
            "username": user("operator", KEC), "password": "rahasia-123",
            "csrf_token": csrf_token(page.data)})
        assert answer.status_code == 302 and answer.headers["Location"] == expected, target
        client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})


def test_the_supervisors_overview_counts_and_links_the_overdue(app, client):
    import time_machine

    from runtime.support import BANGKA_KECAMATAN

    sign_in(client, user("supervisor", "19.01"))
    page = client.get("/pantau").get_data(as_text=True)
    assert "Pantauan Kabupaten Bangka · 2026" in page and "Analisis Situasi" in page
    assert "0 dari 0 tahap yang sudah jatuh tempo selesai" in page  # nothing due yet
    with time_machine.travel("2026-01-20T03:00:00Z", tick=False):
        sign_in(client, user("supervisor", "19.01"))  # 15 days on: that session has expired
        late = client.get("/pantau").get_data(as_text=True)
        assert "tahap lewat tenggat" in late
        listing = client.get("/tugas?lingkup=semua&terlambat=1&tahun=2026&tingkat=kecamatan"
                             "&tahap=analisis_situasi").get_data(as_text=True)
    assert listing.count("terlambat 5 hari") == len(BANGKA_KECAMATAN)
    assert "19.02" not in listing


def test_the_inbox_shows_reminders_for_the_users_roles_only(app, client):
    from engine.worker.tick import tick

    db = app.extensions["aksi.db"]
    import datetime as dt

    tick(db, dt.datetime(2026, 1, 8, 2, tzinfo=dt.timezone.utc))  # 7-day reminders (08:00 WIB)
    sign_in(client, user("operator", KEC))
    page = client.get("/kotak-masuk").get_data(as_text=True)
    assert "Pengingat" in page and f"Untuk Operator Kecamatan · Sungailiat · {KEC}" in page
    assert "19.01.02" not in page
    assert f"/tugas/{YEAR}/{KEC}/analisis_situasi" in page
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, user("operator", "19.02.01"))  # reminders for 19.02.01 fired too, not 19.01.01's
    other = client.get("/kotak-masuk").get_data(as_text=True)
    assert f"· {KEC}" not in other


def test_a_version_that_is_not_a_number_is_refused_without_a_crash(app, client):
    sign_in(client, user("operator", KEC))
    before = _state(app)
    token = csrf_token(client.get(PAGE).data)
    answer = client.post(f"{PAGE}/submit", data={"version": "²", "csrf_token": token},
                         follow_redirects=True)
    assert answer.status_code == 200 and "Formulir tidak lengkap" in answer.get_data(as_text=True)
    assert _state(app) == before


def test_an_unexpected_failure_is_a_page_in_bahasa(app, client, monkeypatch):
    import engine.web.tasks as pages

    def broken(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(pages, "list_tasks", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    sign_in(client, user("operator", KEC))
    answer = client.get("/tugas")
    assert answer.status_code == 500
    assert "tidak ada yang diubah" in answer.get_data(as_text=True)


def test_the_app_needs_a_secret_key_and_takes_a_numeric_one_as_text(started, monkeypatch):
    import pytest

    from engine.web import create_app

    monkeypatch.delenv("AKSI_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="AKSI_SECRET_KEY"):
        create_app({"DATABASE_URL": started.url})
    monkeypatch.setenv("AKSI_SECRET_KEY", "1234567890" * 4)
    app = create_app({"DATABASE_URL": started.url})
    assert app.config["SECRET_KEY"] == "1234567890" * 4
    app.extensions["aksi.db"].dispose()


def test_a_changed_password_or_a_deactivated_user_ends_the_session(app, client, defs):
    from engine.people import add_user
    from engine.store.models import User

    sign_in(client, user("operator", KEC))
    assert client.get("/tugas").status_code == 200
    with app.extensions["aksi.db"].session() as s:
        add_user(s, defs, user("operator", KEC), password="sandi-baru-456")
    assert client.get("/tugas").status_code == 302  # signed out
    sign_in(client, user("operator", KEC), "sandi-baru-456")
    assert client.get("/tugas").status_code == 200
    with app.extensions["aksi.db"].session() as s:
        s.scalars(select(User).where(User.username == user("operator", KEC))).one().active = False
    assert client.get("/tugas").status_code == 302


def test_too_many_refused_sign_ins_lock_the_username_for_a_while(app, client):
    import time_machine

    from engine.people.users import MAX_FAILURES

    name = user("operator", KEC)
    for _ in range(MAX_FAILURES):
        assert sign_in(client, name, "tebakan").status_code == 401
    locked = sign_in(client, name)  # the right password, too late
    assert locked.status_code == 429 and "terlalu banyak" in locked.get_data(as_text=True)
    assert client.get("/tugas").status_code == 302
    assert sign_in(client, user("verifikator", KEC)).status_code == 302  # others unaffected
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    with time_machine.travel("2026-01-05T03:16:00Z", tick=False):  # the window has passed
        assert sign_in(client, name).status_code == 302
