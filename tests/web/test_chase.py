"""Siapa yang dikejar (/kejar): the overdue list, Ingatkan, extensions and exports, through
the Flask client on every backend, with the clock pinned after the first deadlines."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from sqlalchemy import select

from engine.people import actor as load_actor
from engine.runtime.extensions import extend
from engine.runtime.overdue import Filters, overdue
from engine.store.models import Event, InboxItem, Notice, Task
from runtime.support import YEAR, user
from web.conftest import PASSWORD, csrf_token, sign_in

UTC = dt.timezone.utc
# 20 January 2026, 10:00 WIB: kecamatan "Analisis Situasi" (due 15 January) is 5 days late.
JAN_20 = dt.datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
# 5 March 2026: kab/kota and provinsi stages are late too, locked behind the kecamatan.
MAR_5 = dt.datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
SUPERVISOR = user("supervisor", "19.01")
CAMAT = user("approver", "19.01.01")
STAGE = "analisis_situasi"


@pytest.fixture
def late(app):
    with time_machine.travel(JAN_20, tick=False):
        yield app


@pytest.fixture
def later(app):
    with time_machine.travel(MAR_5, tick=False):
        yield app


def signed_in(app, username):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def db(app):
    return app.extensions["aksi.db"]


def test_operator_gets_403_and_no_menu_link(late):
    client = signed_in(late, user("operator", "19.01.01"))
    assert "Siapa dikejar" not in client.get("/tugas").get_data(as_text=True)
    for url in ("/kejar", "/kejar/unduh.csv", "/kejar/unduh.xlsx",
                f"/kejar/penghambat/{YEAR}/19.01.01/{STAGE}",
                f"/kejar/perpanjang/{YEAR}/19.01.01/{STAGE}"):
        assert client.get(url).status_code == 403, url


def test_supervisor_sees_days_late_whose_turn_and_holders_only_in_scope(late):
    client = signed_in(late, SUPERVISOR)
    page = client.get("/kejar")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Siapa dikejar" in html  # the menu link
    assert html.count("5 hari</strong>") == 8  # the 8 kecamatan of Kabupaten Bangka
    assert "19.02." not in html  # nothing of Kabupaten Belitung
    assert "Operator Kecamatan" in html and "operator@19.01.01" in html
    table = html[html.index("<tbody>"):html.index("</tbody>")]
    assert "analisis_situasi" not in table.replace(f"/{STAGE}", "")  # names, never ids
    assert "Analisis Situasi" in table
    # A region outside the supervisor's is refused, not silently emptied.
    assert client.get("/kejar?wilayah=19.02").status_code == 403


def test_supervisor_of_19_02_sees_nothing_of_19_01(late):
    with db(late).session() as s:
        who = load_actor(s, user("supervisor", "19.02"))
        rows = overdue(s, who, Filters(year=YEAR)).rows
        assert rows and all(r.region_code.startswith("19.02") for r in rows)
        assert overdue(s, who, Filters(year=YEAR, area="19.01")).rows == []


def test_camat_sees_own_kecamatan_only(late):
    client = signed_in(late, CAMAT)
    html = client.get("/kejar").get_data(as_text=True)
    assert html.count("5 hari</strong>") == 1 and "19.01.02" not in html


def test_filters_and_paging(late):
    with db(late).session() as s:
        sup = load_actor(s, SUPERVISOR)
        everything = overdue(s, sup, Filters(year=YEAR))
        assert everything.total == 8 and {r.days_late for r in everything.rows} == {5}
        pages = [overdue(s, sup, Filters(year=YEAR), page=p, per_page=3) for p in (1, 2, 3)]
        codes = [r.region_code for p in pages for r in p.rows]
        assert codes == [r.region_code for r in everything.rows] and pages[0].pages == 3
        assert overdue(s, sup, Filters(year=YEAR, min_days=5)).total == 8
        assert overdue(s, sup, Filters(year=YEAR, min_days=6)).total == 0
        assert overdue(s, sup, Filters(year=YEAR, area="19.01.03")).total == 1
        assert overdue(s, sup, Filters(year=YEAR, level="kabkota")).total == 0
        assert overdue(s, sup, Filters(year=YEAR, state="submitted")).total == 0
        assert overdue(s, sup, Filters(year=YEAR, stage=STAGE, state="ready")).total == 8
    client = signed_in(late, SUPERVISOR)
    html = client.get("/kejar?halaman=999").get_data(as_text=True)
    assert "Tidak ada lagi tahap" in html
    assert client.get("/kejar?min_hari=abc&halaman=-4&wilayah=%00").status_code in (200, 400, 403)


def test_a_page_costs_the_same_queries_whatever_its_rows(late):
    from sqlalchemy import event

    engine = db(late).engine
    statements = []

    def count(*_args):
        statements.append(1)

    def cost(per_page):
        statements.clear()
        with db(late).session() as s:
            rows = overdue(s, sup, Filters(year=YEAR), per_page=per_page).rows
        return len(rows), len(statements)

    with db(late).session() as s:
        sup = load_actor(s, SUPERVISOR)
    event.listen(engine, "before_cursor_execute", count)
    try:
        cost(1)  # definitions read once per process
        (few, few_cost), (many, many_cost) = cost(1), cost(8)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (few, many) == (1, 8) and few_cost == many_cost <= 12


def test_locked_behind_is_listed_apart_with_blockers_followed_down(later):
    with db(later).session() as s:
        sup = load_actor(s, SUPERVISOR)
        work = overdue(s, sup, Filters(year=YEAR))
        locked = overdue(s, sup, Filters(year=YEAR, locked=True))
        assert work.other_total == locked.total and locked.total > 0
        assert not {r.task_id for r in work.rows} & {r.task_id for r in locked.rows}
        assert all(r.state == "locked" for r in locked.rows)
        assert all(r.state != "locked" for r in work.rows)
        kab = next(r for r in locked.rows if r.region_code == "19.01" and r.stage == STAGE)
        assert [b.kind for b in kab.blockers] == ["waits_for"]
    client = signed_in(later, SUPERVISOR)
    html = client.get("/kejar?jenis=terkunci").get_data(as_text=True)
    assert "Rincian: siapa di belakangnya" in html
    tree = client.get(f"/kejar/penghambat/{YEAR}/19.01/{STAGE}").get_data(as_text=True)
    # The kab/kota stage waits for the kecamatan: each of them linked to its stage page.
    for i in range(1, 9):
        assert f'href="/tugas/{YEAR}/19.01.{i:02d}/{STAGE}"' in tree
        assert f"operator@19.01.{i:02d}" in tree  # whose turn there, and who holds it


def test_provinsi_blocker_tree_reaches_the_kecamatan(later, defs):
    from engine.people import add_user

    with db(later).session() as s:
        add_user(s, defs, "pengawas-prov", role="approver", region="19", password=PASSWORD)
    client = signed_in(later, "pengawas-prov")
    tree = client.get(f"/kejar/penghambat/{YEAR}/19/{STAGE}").get_data(as_text=True)
    assert f'href="/tugas/{YEAR}/19.01/{STAGE}"' in tree  # the kab/kota
    assert f'href="/tugas/{YEAR}/19.01.01/{STAGE}"' in tree  # the kecamatan behind it


def _remind(client, region="19.01.01"):
    page = client.get("/kejar")
    return client.post(f"/kejar/ingatkan/{YEAR}/{region}/{STAGE}",
                       data={"csrf_token": csrf_token(page.data), "kembali": "/kejar"})


def test_ingatkan_reaches_exactly_the_waited_for_roles_once_a_day(late):
    client = signed_in(late, SUPERVISOR)
    answer = _remind(client)
    assert answer.status_code == 302 and answer.location.endswith("/kejar")
    with db(late).session() as s:
        task = s.scalar(select(Task).where(Task.region_code == "19.01.01", Task.stage == STAGE))
        items = s.execute(select(InboxItem.role, InboxItem.region_code)
                          .where(InboxItem.task_id == task.id)).all()
        assert items == [("operator", "19.01.01")]
        event = s.scalar(select(Event).where(Event.task_id == task.id, Event.kind == "nudge"))
        assert event.actor == SUPERVISOR and event.payload["days_late"] == 5
        before = (s.query(InboxItem).count(), s.query(Event).count(), s.query(Notice).count())
    listed = client.get("/kejar").get_data(as_text=True)
    assert "Analisis Situasi&#39; Sungailiat terkirim ke Operator Kecamatan" in listed
    assert listed.count("Sudah diingatkan hari ini") == 1 and listed.count(">Ingatkan<") == 7
    inbox = signed_in(late, user("operator", "19.01.01")).get("/kotak-masuk").get_data(as_text=True)
    assert "Diingatkan:</strong> Pengingat dari " + SUPERVISOR in inbox  # not an escalation
    assert "Eskalasi" not in inbox
    again = _remind(client)
    assert again.status_code == 302
    assert "sudah diingatkan hari ini" in client.get("/kejar").get_data(as_text=True)
    with db(late).session() as s:
        assert (s.query(InboxItem).count(), s.query(Event).count(),
                s.query(Notice).count()) == before
    # The next day in the region's zone (WIB): allowed again.
    with time_machine.travel(dt.datetime(2026, 1, 20, 16, 59, tzinfo=UTC), tick=False):
        client = signed_in(late, SUPERVISOR)  # 23.59 WIB: still the same day
        _remind(client)
        assert "sudah diingatkan hari ini" in client.get("/kejar").get_data(as_text=True)
    with time_machine.travel(dt.datetime(2026, 1, 20, 17, 1, tzinfo=UTC), tick=False):
        client = signed_in(late, SUPERVISOR)  # 00.01 WIB on 21 January
        _remind(client)
    with db(late).session() as s:
        assert s.query(InboxItem).count() == before[0] + 1
    # And the operator sees it in their inbox.
    operator = signed_in(late, user("operator", "19.01.01"))
    assert f'href="/tugas/{YEAR}/19.01.01/{STAGE}"' in operator.get("/kotak-masuk").get_data(
        as_text=True)


def test_ingatkan_refused_without_csrf_outside_scope_and_for_operators(late):
    sup = signed_in(late, user("supervisor", "19.01"))
    assert sup.post(f"/kejar/ingatkan/{YEAR}/19.01.01/{STAGE}").status_code == 400
    page = sup.get("/kejar")
    assert sup.post(f"/kejar/ingatkan/{YEAR}/19.02.01/{STAGE}",
                    data={"csrf_token": csrf_token(page.data)}).status_code == 403
    op = signed_in(late, user("operator", "19.01.01"))
    token = csrf_token(op.get("/tugas").data)
    assert op.post(f"/kejar/ingatkan/{YEAR}/19.01.01/{STAGE}",
                   data={"csrf_token": token}).status_code == 403
    with db(late).session() as s:
        assert s.query(InboxItem).count() == 0
        assert s.scalar(select(Event).where(Event.kind == "nudge")) is None


def _extend(client, region, area, until="2026-02-10", reason="banjir di kecamatan"):
    url = f"/kejar/perpanjang/{YEAR}/{region}/{STAGE}"
    form = client.get(url)
    assert form.status_code == 200
    data = {"csrf_token": csrf_token(form.data), "until": until, "area": area, "reason": reason}
    check = client.post(url, data=data)
    assert check.status_code == 200 and "Ya, perpanjang tenggat" in check.get_data(as_text=True)
    return client.post(url, data={**data, "confirmed": "1"})


def _state(session, region):
    task = session.scalar(select(Task).where(Task.region_code == region, Task.stage == STAGE))
    event = session.scalar(select(Event).where(Event.task_id == task.id,
                                               Event.kind == "deadline_extended"))
    pending = session.execute(select(Notice.kind, Notice.rule, Notice.fire_at).where(
        Notice.task_id == task.id, Notice.status == "pending")).all()
    return task.due_at, event.actor, {k: v for k, v in event.payload.items()}, pending


def test_extension_from_the_web_equals_the_cli(late):
    client = signed_in(late, SUPERVISOR)
    with db(late).session() as s:
        assert s.scalar(select(Event).where(Event.kind == "deadline_extended")) is None
    done = _extend(client, "19.01.01", "")
    assert done.status_code == 302
    assert "diperpanjang sampai 10 Februari 2026" in client.get("/kejar").get_data(as_text=True)
    with db(late).session() as s:
        extend(s, area="19.01.02", stage=STAGE, year=YEAR, until=dt.date(2026, 2, 10),
               reason="banjir di kecamatan", username=SUPERVISOR)
    with db(late).session() as s:
        assert _state(s, "19.01.01") == _state(s, "19.01.02")
        assert overdue(s, load_actor(s, SUPERVISOR), Filters(year=YEAR)).total == 6


def test_extension_over_an_area_and_refusals_change_nothing(late):
    client = signed_in(late, SUPERVISOR)
    done = _extend(client, "19.01.03", "19.01")
    assert done.status_code == 302
    assert "untuk 8 wilayah" in client.get("/kejar").get_data(as_text=True)
    with db(late).session() as s:
        dues = set(s.scalars(select(Task.due_at).where(Task.stage == STAGE,
                                                       Task.level == "kecamatan",
                                                       Task.region_code.like("19.01.%"))))
        assert len(dues) == 1 and overdue(s, load_actor(s, SUPERVISOR), Filters(year=YEAR)).total == 0
        events = s.query(Event).count()
    # An earlier date than the deadline now: refused, nothing written.
    refused = _extend(client, "19.01.03", "", until="2026-02-01")
    assert refused.status_code == 302
    assert "Tenggat tidak diperpanjang" in client.get("/kejar").get_data(as_text=True)
    with db(late).session() as s:
        assert s.query(Event).count() == events
    # A Camat may chase but not extend; an area the supervisor does not hold is refused.
    camat = signed_in(late, CAMAT)
    assert camat.get(f"/kejar/perpanjang/{YEAR}/19.01.01/{STAGE}").status_code == 403
    url = f"/kejar/perpanjang/{YEAR}/19.01.01/{STAGE}"
    token = csrf_token(client.get(url).data)
    assert client.post(url, data={"csrf_token": token, "until": "2026-03-01", "area": "19",
                                  "reason": "x", "confirmed": "1"}).status_code in (200, 403)
    with db(late).session() as s:
        assert s.query(Event).count() == events


def test_exports_hold_the_list_and_nothing_outside_scope(late, defs, monkeypatch):
    from engine.people import add_user

    monkeypatch.setattr("engine.web.chase.MAX_PER_PAGE", 3)  # 8 rows: 3 queries, all kept
    with db(late).session() as s:
        add_user(s, defs, user("supervisor", "19.02"), password=PASSWORD)
    client = signed_in(late, SUPERVISOR)
    answer = client.get("/kejar/unduh.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "terlambat-semua-2026.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Wilayah", "Kode wilayah", "Wilayah induk", "Tingkat"]
    assert sorted(r[1] for r in rows[1:]) == [f"19.01.{i:02d}" for i in range(1, 9)]
    assert {r[6] for r in rows[1:]} == {"15 Januari 2026, 23.59 WIB"}
    assert {r[7] for r in rows[1:]} == {"5"} and all("Operator Kecamatan" in r[8] for r in rows[1:])
    book = openpyxl.load_workbook(io.BytesIO(client.get("/kejar/unduh.xlsx?wilayah=19.01.02")
                                             .get_data()))
    values = [[c.value for c in row] for row in book.active.iter_rows()]
    assert len(values) == 2 and values[1][1] == "19.01.02" and values[1][7] == 5
    assert client.get("/kejar/unduh.pdf").status_code == 404
    assert client.get("/kejar/unduh.csv?wilayah=19.02").status_code == 403
    other = signed_in(late, user("supervisor", "19.02"))
    text = other.get("/kejar/unduh.csv").get_data().decode("utf-8-sig")
    assert "19.01" not in text
