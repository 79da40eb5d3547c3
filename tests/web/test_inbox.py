"""The inbox page: the stage's state now, read state per user (one holder of a role
marking an item read leaves it unread for another), the menu's unread count, paging,
scope, CSRF and malformed input."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from engine.worker.tick import tick
from engine.people import actor, add_user
from engine.runtime.inbox import inbox_for
from engine.runtime.reads import mark_read, unread_count
from engine.store.models import InboxItem, InboxRead

from runtime.support import NOW, user
from .conftest import KEC, PASSWORD, csrf_token, sign_in

UTC = dt.timezone.utc
REMINDERS = dt.datetime(2026, 1, 8, 2, tzinfo=UTC)  # 7-day reminders of 15 January (08:00 WIB)
SECOND_OPERATOR = "operator2@" + KEC


def _count_in_menu(page: str) -> str | None:
    found = re.search(r'Kotak masuk <span class="badge count"[^>]*><span aria-hidden="true">'
                      r'([^<]+)</span>', page)
    return found.group(1) if found else None


def _items(app, username: str) -> list[dict]:
    db = app.extensions["aksi.db"]
    with db.session() as s:
        return inbox_for(s, actor(s, username), limit=1000)


def _second_operator(app, defs):
    with app.extensions["aksi.db"].session() as s:
        add_user(s, defs, SECOND_OPERATOR, role="operator", region=KEC, password=PASSWORD, now=NOW)


def test_marking_read_is_per_user_and_the_menu_counts_unread(app, client, defs):
    _second_operator(app, defs)
    tick(app.extensions["aksi.db"], REMINDERS)
    operator = user("operator", KEC)
    mine = _items(app, operator)
    assert mine and not any(i["read"] for i in mine)
    sign_in(client, operator)
    page = client.get("/kotak-masuk").get_data(as_text=True)
    assert _count_in_menu(page) == str(len(mine))
    assert _count_in_menu(client.get("/tugas").get_data(as_text=True)) == str(len(mine))
    first = mine[0]["id"]
    answer = client.post("/kotak-masuk/dibaca",
                         data={"item": first, "csrf_token": csrf_token(page.encode())})
    assert answer.status_code == 302
    after = {i["id"]: i["read"] for i in _items(app, operator)}
    assert after[first] and sum(after.values()) == 1
    page = client.get("/kotak-masuk").get_data(as_text=True)
    assert _count_in_menu(page) == (str(len(mine) - 1) if len(mine) > 1 else None)
    assert "Sudah dibaca" in page
    # The other holder of the role still has it unread.
    assert not any(i["read"] for i in _items(app, SECOND_OPERATOR))
    # Mark all: up to the newest on screen; nothing left unread for this user.
    client.post("/kotak-masuk/dibaca", data={"sampai": mine[0]["id"],
                                             "csrf_token": csrf_token(page.encode())})
    assert all(i["read"] for i in _items(app, operator))
    assert _count_in_menu(client.get("/kotak-masuk").get_data(as_text=True)) is None
    assert not any(i["read"] for i in _items(app, SECOND_OPERATOR))


def test_the_inbox_shows_the_stage_state_now_and_links_to_the_stage(app, client):
    tick(app.extensions["aksi.db"], REMINDERS)
    sign_in(client, user("operator", KEC))
    page = client.get("/kotak-masuk").get_data(as_text=True)
    assert "Status tahap kini" in page and '<span class="badge open">Siap diisi</span>' in page
    assert f'href="/tugas/2026/{KEC}/analisis_situasi"' in page


def test_marking_is_refused_without_csrf_and_for_bad_input_and_changes_nothing(app, client):
    tick(app.extensions["aksi.db"], REMINDERS)
    sign_in(client, user("operator", KEC))
    page = client.get("/kotak-masuk")
    token = csrf_token(page.data)
    first = _items(app, user("operator", KEC))[0]["id"]
    assert client.post("/kotak-masuk/dibaca", data={"item": first}).status_code == 400
    for bad in ({"item": "x"}, {"item": "-1"}, {"item": "9" * 30}, {},
                {"item": first, "sampai": first}, {"sampai": "1e3"}):
        answer = client.post("/kotak-masuk/dibaca", data={**bad, "csrf_token": token})
        assert answer.status_code == 400, bad
    assert client.get("/kotak-masuk?sebelum=abc").status_code == 400
    with app.extensions["aksi.db"].session() as s:
        assert s.scalars(select(InboxRead)).all() == []


def test_an_item_of_another_region_cannot_be_marked_and_is_not_shown(app, client):
    tick(app.extensions["aksi.db"], REMINDERS)
    others = _items(app, user("operator", "19.02.01"))
    assert others
    sign_in(client, user("operator", KEC))
    page = client.get("/kotak-masuk").get_data(as_text=True)
    assert "19.02.01" not in page
    client.post("/kotak-masuk/dibaca", data={"item": others[0]["id"],
                                             "csrf_token": csrf_token(page.encode())})
    client.post("/kotak-masuk/dibaca", data={"sampai": others[0]["id"] + 10_000,
                                             "csrf_token": csrf_token(page.encode())})
    with app.extensions["aksi.db"].session() as s:
        read = set(s.scalars(select(InboxRead.item_id)))
        theirs = set(s.scalars(select(InboxItem.id).where(InboxItem.region_code == "19.02.01")))
    assert read and not read & theirs  # the user's own were marked, never another region's


def test_paging_walks_every_item_once(app, client, monkeypatch):
    from engine.web import inbox as inbox_page

    monkeypatch.setattr(inbox_page, "PAGE", 2)
    tick(app.extensions["aksi.db"], REMINDERS)
    tick(app.extensions["aksi.db"], dt.datetime(2026, 1, 31, 2, tzinfo=UTC))  # January's
    operator = user("operator", KEC)
    expected = [i["id"] for i in _items(app, operator)]
    assert len(expected) > 2  # more than a page
    sign_in(client, operator)
    seen, url = [], "/kotak-masuk"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += [int(x) for x in re.findall(r'<tr id="pesan-(\d+)"', page)]
        older = re.search(r'href="(/kotak-masuk\?sebelum=\d+)">Lebih lama', page)
        url = older.group(1) if older else None
    assert seen == expected


def test_unread_count_is_capped_and_marking_nothing_twice(app, defs):
    db = app.extensions["aksi.db"]
    tick(db, REMINDERS)
    with db.session() as s:
        who = actor(s, user("operator", KEC))
        total = unread_count(s, who)
        assert total >= 1 and unread_count(s, who, cap=1) == 1
        assert mark_read(s, who, up_to=10 ** 9, now=NOW) == total
        assert mark_read(s, who, up_to=10 ** 9, now=NOW) == 0
        assert unread_count(s, who) == 0


def test_an_item_for_one_units_part_shows_to_that_unit_and_names_it(app, client, defs):
    """An item addressed to units' parts (a part returned, ingatkan of a part) is on the
    page of those units' holders of the role, named with the units, and not on another
    unit's; the JSON carries the units."""
    from engine.runtime.notices import Recipient, write_inbox
    from engine.store.models import Notice

    db = app.extensions["aksi.db"]
    with db.session() as s:
        for unit in ("Puskesmas", "Setcam"):
            add_user(s, defs, f"op-{unit.lower()}", role="operator", region=KEC, unit=unit,
                     password=PASSWORD, now=NOW)
    tick(db, REMINDERS)
    with db.session() as s:
        notice = s.scalars(select(Notice).where(Notice.status == "fired")).first()
        write_inbox(s, notice_id=notice.id, task_id=notice.task_id, now=REMINDERS,
                    recipients=[Recipient("operator", KEC, ("PLKB", "Puskesmas"))],
                    message="Data gizi desa belum lengkap")
    mine = [i for i in _items(app, "op-puskesmas") if i["units"]]
    assert [(i["units"], i["message"]) for i in mine] == [(["PLKB", "Puskesmas"],
                                                           "Data gizi desa belum lengkap")]
    assert not any(i["units"] for i in _items(app, "op-setcam"))
    assert any(i["units"] for i in _items(app, user("operator", KEC)))  # held for no unit
    sign_in(client, "op-puskesmas")
    page = client.get("/kotak-masuk").get_data(as_text=True)
    assert "Untuk Operator Kecamatan (PLKB, Puskesmas)" in page
    client.post("/keluar", data={"csrf_token": csrf_token(page.encode())})
    sign_in(client, "op-setcam")
    assert "(Puskesmas)" not in client.get("/kotak-masuk").get_data(as_text=True)
