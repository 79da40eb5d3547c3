"""Flows that do not lose work: an ended session keeps the click and the input, the task
list opens on the year with open work and lists what needs the person now, a page at a
time; pages are compressed and static files cached for a year."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from urllib.parse import parse_qs, urlsplit

import time_machine

from engine.people import add_user
from engine.runtime import act_on, find_task, start_year
from engine.store.models import Task
from runtime.support import NEXT, YEAR, user
from sqlalchemy import select

from forms.test_parts import year  # noqa: F401 - the juknis definitions with parts
from runtime.conftest import juknis_defs  # noqa: F401

from .conftest import KEC, PASSWORD, csrf_token, sign_in

STAGE = "analisis_situasi"
PAGE = f"/tugas/{YEAR}/{KEC}/{STAGE}"
UTC = dt.timezone.utc



SAME_SITE = {"Origin": "http://localhost"}  # what a browser sends from our own page

def _state(app) -> tuple[str, int]:
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        return task.state, task.version


def _walk_to_done(app, region: str, stage: str) -> None:
    """Submit, verify and approve ``stage`` of ``region`` as its own users."""
    while True:
        with app.extensions["aksi.db"].session() as s:
            task = find_task(s, region, stage, YEAR)
            if task.state not in NEXT:
                return
            trigger, role = NEXT[task.state]
            act_on(s, region, stage, YEAR, trigger, user(role, region),
                   expected_version=task.version)


def _kept(page: str) -> dict | None:
    found = re.search(r'<script type="application/json" id="aksi-kept">(.*?)</script>', page, re.S)
    return json.loads(found.group(1)) if found else None


def test_a_post_after_the_session_ended_returns_to_the_stage_page_with_the_input(app, client, defs):
    sign_in(client, user("verifikator", KEC))
    with app.extensions["aksi.db"].session() as s:
        version = find_task(s, KEC, STAGE, YEAR).version
        act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), expected_version=version)
    token = csrf_token(client.get(PAGE).data)
    before = _state(app)
    # The session ends while the page is open (here: the password was changed elsewhere).
    with app.extensions["aksi.db"].session() as s:
        add_user(s, defs, user("verifikator", KEC), password="sandi-baru-456")
    answer = client.post(f"{PAGE}/return", headers=SAME_SITE, data={
        "csrf_token": token, "version": str(before[1]), "reason": "Desa Air Duren belum diisi"})
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert target.path == "/masuk" and parse_qs(target.query)["next"] == [PAGE]  # not .../return
    assert _state(app) == before  # nothing happened
    login = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Sesi Anda telah berakhir" in login and "tidak ada yang diubah" in login

    signed = client.post(answer.headers["Location"], data={
        "username": user("verifikator", KEC), "password": "sandi-baru-456",
        "csrf_token": csrf_token(login.encode())})
    assert signed.status_code == 302 and signed.headers["Location"] == PAGE
    page = client.get(PAGE).get_data(as_text=True)
    assert _kept(page) == {"action": f"{PAGE}/return",
                           "fields": {"reason": "Desa Air Duren belum diisi"}}
    assert "sudah dikembalikan ke formulir" in page and "restore.js" in page
    assert _kept(client.get(PAGE).get_data(as_text=True)) is None  # given back once only


def test_a_post_after_the_session_cookie_is_gone_is_kept_too(app, client):
    sign_in(client, user("operator", KEC))
    token = csrf_token(client.get(PAGE).data)
    before = _state(app)
    client.delete_cookie("session")  # the browser was closed: its CSRF token is no longer known
    answer = client.post(f"{PAGE}/submit", headers=SAME_SITE,
                         data={"csrf_token": token, "version": str(before[1]), "reason": "catatan"})
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["next"] == [PAGE]
    assert _state(app) == before
    assert sign_in(client, user("operator", KEC)).status_code == 302
    assert _kept(client.get(PAGE).get_data(as_text=True))["fields"] == {"reason": "catatan"}


def test_a_post_from_another_site_is_not_kept(app, client):
    """A form elsewhere posting to a signed-out person's browser: sent to sign in, but its
    text is not given back as if they had typed it."""
    sign_in(client, user("operator", KEC))
    token = csrf_token(client.get(PAGE).data)
    before = _state(app)
    client.delete_cookie("session")
    answer = client.post(f"{PAGE}/submit", headers={"Origin": "https://elsewhere.example"},
                         data={"csrf_token": token, "version": str(before[1]),
                               "reason": "teks orang lain"})
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["next"] == [PAGE]
    assert _state(app) == before
    assert sign_in(client, user("operator", KEC)).status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert _kept(page) is None and "teks orang lain" not in page


def test_input_too_large_for_the_cookie_is_left_to_the_browsers_copy(app, client, defs):
    """The session says which post to give back; the fields come from the copy restore.js
    keeps in the tab. Other pages on the way (the sign-in) tell the script to keep it."""
    sign_in(client, user("operator", KEC))
    token = csrf_token(client.get(PAGE).data)
    with app.extensions["aksi.db"].session() as s:
        add_user(s, defs, user("operator", KEC), password="sandi-baru-456")
    answer = client.post(f"{PAGE}/submit", headers={"Referer": f"http://localhost{PAGE}"},
                         data={"csrf_token": token, "version": "1", "reason": "x" * 5000},
                         follow_redirects=True)
    login = answer.get_data(as_text=True)
    assert "Sesi Anda telah berakhir" in login and _kept(login) == {"waiting": True}
    sign_in(client, user("operator", KEC), "sandi-baru-456")
    assert _kept(client.get(PAGE).get_data(as_text=True)) == {"action": f"{PAGE}/submit",
                                                                "fields": {}}
    assert _kept(client.get(PAGE).get_data(as_text=True)) is None  # once


def test_signing_in_with_a_post_only_next_lands_on_its_stage_page(client):
    page = client.get("/masuk")
    answer = client.post("/masuk", query_string={"next": f"{PAGE}/submit"}, data={
        "username": user("operator", KEC), "password": PASSWORD,
        "csrf_token": csrf_token(page.data)})
    assert answer.status_code == 302 and answer.headers["Location"] == PAGE
    assert client.get(PAGE).status_code == 200


def test_the_login_page_still_refuses_a_post_without_csrf_token(client):
    answer = client.post("/masuk", data={"username": user("operator", KEC), "password": "x"})
    assert answer.status_code == 400 and "kedaluwarsa" in answer.get_data(as_text=True)


def test_the_task_list_opens_on_next_years_cycle_in_december_once_started(app, client, defs):
    december = dt.datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    with time_machine.travel(december, tick=False):
        sign_in(client, user("operator", KEC))
        assert "Tugas saya · 2026" in client.get("/tugas").get_data(as_text=True)
        with app.extensions["aksi.db"].session() as s:
            start_year(s, defs, YEAR + 1, province="19", now=december)
        page = client.get("/tugas").get_data(as_text=True)
        assert f"Tugas saya · {YEAR + 1}" in page
        assert f'href="/tugas?tahun={YEAR}"' in page  # the other year is a click away
        assert "Tugas saya · 2026" in client.get(f"/tugas?tahun={YEAR}").get_data(as_text=True)
    # In November the current year stays first.
    with time_machine.travel(dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC), tick=False):
        sign_in(client, user("operator", KEC))
        assert "Tugas saya · 2026" in client.get("/tugas").get_data(as_text=True)


def test_my_tasks_are_what_needs_me_now_not_what_i_could_reopen(app, client):
    _walk_to_done(app, KEC, STAGE)
    sign_in(client, user("approver", KEC))
    mine = client.get("/tugas").get_data(as_text=True)
    assert f"/tugas/{YEAR}/{KEC}/{STAGE}" not in mine  # approved: reopening is not a task
    everything = client.get("/tugas?lingkup=semua").get_data(as_text=True)
    assert f"/tugas/{YEAR}/{KEC}/{STAGE}" in everything
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, user("supervisor", "19.01"))
    assert "Tidak ada tugas yang menunggu tindakan Anda" in client.get("/tugas").get_data(
        as_text=True)


def test_a_stage_waiting_for_the_camat_is_not_the_verifikators_task(app, client):
    with app.extensions["aksi.db"].session() as s:
        version = find_task(s, KEC, STAGE, YEAR).version
        act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), expected_version=version)
        act_on(s, KEC, STAGE, YEAR, "verify", user("verifikator", KEC),
               expected_version=version + 1)
    link = f'href="/tugas/{YEAR}/{KEC}/{STAGE}"'
    sign_in(client, user("verifikator", KEC))
    assert link not in client.get("/tugas").get_data(as_text=True)  # could only return it
    client.post("/keluar", data={"csrf_token": csrf_token(client.get("/tugas").data)})
    sign_in(client, user("approver", KEC))
    assert link in client.get("/tugas").get_data(as_text=True)


def test_the_list_filters_by_level_stage_state_and_pages(app, client, monkeypatch):
    import engine.web.tasks as pages

    with app.extensions["aksi.db"].session() as s:
        version = find_task(s, KEC, STAGE, YEAR).version
        act_on(s, KEC, STAGE, YEAR, "submit", user("operator", KEC), expected_version=version)
    sign_in(client, user("supervisor", "19.01"))
    submitted = client.get("/tugas?lingkup=semua&status=submitted").get_data(as_text=True)
    assert submitted.count('<th scope="row">') == 1 and f"/{KEC}/{STAGE}" in submitted
    kabkota = client.get("/tugas?lingkup=semua&tingkat=kabkota").get_data(as_text=True)
    assert "/19.01/" in kabkota and "/19.01.01/" not in kabkota
    one_stage = client.get(f"/tugas?lingkup=semua&tingkat=kecamatan&tahap={STAGE}").get_data(
        as_text=True)
    assert one_stage.count('<th scope="row">') == 8  # the 8 kecamatan of Bangka

    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    seen = []
    url = f"/tugas?lingkup=semua&tingkat=kecamatan&tahap={STAGE}"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(rf'href="/tugas/{YEAR}/([\d.]+)/{STAGE}"', page)
        following = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = following.group(1).replace("&amp;", "&") if following else None
    assert len(seen) == 8 and len(set(seen)) == 8  # every kecamatan once, over 3 pages


def test_a_year_out_of_range_is_answered_not_crashed(client):
    sign_in(client, user("operator", KEC))
    supervisor = client.application.test_client()  # /pantau is for supervisors and approvers
    sign_in(supervisor, user("supervisor", "19.01"))
    for who, path in ((client, "/tugas?tahun=99999999999999999999"),
                      (supervisor, "/pantau?tahun=-5")):
        answer = who.get(path)
        assert answer.status_code == 200 and "di luar jangkauan" in answer.get_data(as_text=True)
    assert client.get("/tugas?halaman=999999999999").status_code == 200


def test_pages_are_compressed_and_static_files_cached_for_a_year(client):
    sign_in(client, user("operator", KEC))
    answer = client.get("/tugas", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["Content-Encoding"] == "gzip"
    assert b"Tugas saya" in gzip.decompress(answer.data)
    css = re.search(r'href="(/static/aksi\.css\?v=[0-9a-f]{12})"', answer.get_data(as_text=True)
                    if not answer.headers.get("Content-Encoding")
                    else gzip.decompress(answer.data).decode())
    assert css, "the stylesheet is not fingerprinted"
    cached = client.get(css.group(1))
    assert cached.status_code == 200
    assert cached.cache_control.max_age == 365 * 24 * 3600 and cached.cache_control.immutable
    stale = client.get("/static/aksi.css?v=000000000000")
    assert stale.cache_control.max_age != 365 * 24 * 3600  # an old address is not kept a year


def test_pages_carry_the_accessibility_landmarks(client):
    sign_in(client, user("operator", KEC))
    page = client.get("/tugas").get_data(as_text=True)
    assert '<a class="skip" href="#isi">' in page and '<main id="isi"' in page
    assert re.search(r'<a href="/tugas" aria-current="page">Tugas saya</a>', page)
    assert "<caption" in page and 'scope="col"' in page and 'scope="row"' in page
    wrong = sign_in(client.application.test_client(), user("operator", KEC), "salah")
    assert 'role="alert"' in wrong.get_data(as_text=True)


def test_the_default_task_list_leaves_out_locked_stages(app, client):
    sign_in(client, user("operator", KEC))
    with app.extensions["aksi.db"].session() as s:
        locked = s.scalars(select(Task.stage).where(Task.region_code == KEC,
                                                    Task.state == "locked")).all()
    page = client.get("/tugas").get_data(as_text=True)
    assert locked and not any(f"/{KEC}/{stage}\"" in page for stage in locked)


def test_in_a_stage_split_into_parts_my_tasks_follow_my_units_part(year):  # noqa: F811
    """Analisis situasi in parts (juknis definitions): once the Setcam operator has
    submitted, the stage is theirs no more but the Setcam verifikator's, although the stage
    still waits for Puskesmas and PLKB; the Camat has nothing to do yet."""
    from engine.people import actor
    from engine.runtime import list_tasks, save_on
    from forms.test_parts import KEC as PARTS_KEC, NOW as PARTS_NOW, STAGE as PARTS_STAGE
    from forms.test_parts import name, part_of

    part = part_of(year, "Setcam")
    with year.session() as s:
        save_on(s, PARTS_KEC, PARTS_STAGE, YEAR, name("operator", "Setcam"), part, now=PARTS_NOW)
        act_on(s, PARTS_KEC, PARTS_STAGE, YEAR, "submit", name("operator", "Setcam"),
               now=PARTS_NOW)

    def mine(username: str) -> dict[str, list[str]]:
        with year.session() as s:
            return {v.stage: [t["name"] for t in v.triggers] for v in list_tasks(
                s, user=actor(s, username), year=YEAR, actionable=True, now=PARTS_NOW)}

    assert PARTS_STAGE not in mine(name("operator", "Setcam"))
    assert mine(name("operator", "Puskesmas"))[PARTS_STAGE] == ["Kirim untuk verifikasi"]
    assert mine(name("verifikator", "Setcam"))[PARTS_STAGE] == ["Verifikasi", "Kembalikan"]
    assert PARTS_STAGE not in mine(name("verifikator", "Puskesmas"))
    assert PARTS_STAGE not in mine(name("approver"))  # it could only send parts back
