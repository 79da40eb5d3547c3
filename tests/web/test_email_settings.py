"""The e-mail settings page: a user sets their own address and preference (CSRF
required, invalid input refused and nothing changed), as `aksi users email` does."""

from __future__ import annotations

from sqlalchemy import select

from engine.people.audit import KINDS
from engine.store.models import AuditEntry, User

from runtime.support import user
from .conftest import KEC, csrf_token, sign_in

OPERATOR = user("operator", KEC)


def _stored(app, username=OPERATOR):
    with app.extensions["aksi.db"].session() as s:
        return s.execute(select(User.email, User.email_pref)
                         .where(User.username == username)).one()


def test_user_sets_address_and_digest_then_none(app, client):
    sign_in(client, OPERATOR)
    page = client.get("/pengaturan/surel")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Pengaturan surel" in text and "ringkasan harian" in text and "tidak ada" in text
    assert 'href="/pengaturan/surel"' in text  # reached from the menu (the username)
    answer = client.post("/pengaturan/surel", data={
        "email": "op@puskesmas.example.go.id", "pref": "digest",
        "csrf_token": csrf_token(page.data)})
    assert answer.status_code == 302
    assert tuple(_stored(app)) == ("op@puskesmas.example.go.id", "digest")
    page = client.get("/pengaturan/surel")
    assert "Pengaturan surel disimpan." in page.get_data(as_text=True)
    assert 'value="op@puskesmas.example.go.id"' in page.get_data(as_text=True)
    client.post("/pengaturan/surel", data={"email": "", "pref": "none",
                                           "csrf_token": csrf_token(page.data)})
    assert tuple(_stored(app)) == (None, "none")
    with app.extensions["aksi.db"].session() as s:
        audited = s.scalars(select(AuditEntry).where(AuditEntry.kind == "email_set")).all()
    assert [a.actor for a in audited] == [OPERATOR, OPERATOR] and "email_set" in KINDS


def test_invalid_input_and_missing_csrf_change_nothing(app, client):
    sign_in(client, OPERATOR)
    page = client.get("/pengaturan/surel")
    before = tuple(_stored(app))
    bad = client.post("/pengaturan/surel", data={"email": "bukan alamat", "pref": "each",
                                                 "csrf_token": csrf_token(page.data)})
    assert bad.status_code == 400 and "tidak sah" in bad.get_data(as_text=True)
    odd = client.post("/pengaturan/surel", data={"email": "a@b.example.go.id", "pref": "semua",
                                                 "csrf_token": csrf_token(page.data)})
    assert odd.status_code == 400
    forged = client.post("/pengaturan/surel", data={"email": "a@b.example.go.id",
                                                    "pref": "each"})
    assert forged.status_code == 400
    assert tuple(_stored(app)) == before


def test_signed_out_is_sent_to_sign_in(client):
    answer = client.get("/pengaturan/surel")
    assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]
