"""What changed since a part's last submission, and returns with marked cells, on every
backend: a submission keeps the part as submitted; after a return, the next submission
names exactly the cells the operator changed, with before and after; marked cells are
checked against the part sent back, and a refused return changes nothing."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidForm, NotPermitted
from engine.forms import changes
from engine.runtime.send_back import send_back as send_back_marked
from engine.forms.entry import context_for
from engine.forms.sample import sample_document
from engine.people import actor as actor_of
from engine.runtime import act_on, find_task, list_tasks, save_on, view
from engine.store.library import pinned
from engine.store.models import Event, FormPart, User
from forms.test_parts import D1, D2, FORM, KEC, STAGE, UNITS, YEAR, name, part_of, year  # noqa: F401

NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.timezone.utc)
LATER = NOW + dt.timedelta(hours=2)
WHOLE_STAGE = "penandaan_apbd_berjalan"  # a stage without parts: one document
WHOLE_FORM = "kec_penandaan_apbd_berjalan"


def cell(row: str, field: str, section: str = "desa", form: str = FORM) -> str:
    return changes.cell_key(form, section, row, field)


def reviews(db, stage: str = STAGE) -> dict[str, changes.PartReview]:
    with db.session() as s:
        return changes.reviews_of(s, find_task(s, KEC, stage, YEAR).id)


def snapshot(db) -> tuple:
    """Everything a refused return must leave as it was."""
    with db.session() as s:
        task = find_task(s, KEC, STAGE, YEAR)
        rows = s.execute(select(FormPart.unit, FormPart.state, FormPart.version, FormPart.note,
                                FormPart.sent_back).where(FormPart.task_id == task.id)
                         .order_by(FormPart.unit)).all()
        return task.state, task.version, [tuple(r) for r in rows], s.scalar(
            select(func.count()).select_from(Event))


def submit_all(db, parts: dict) -> None:
    for unit in UNITS:
        with db.session() as s:
            save_on(s, KEC, STAGE, YEAR, name("operator", unit), parts[unit], now=NOW)
            act_on(s, KEC, STAGE, YEAR, "submit", name("operator", unit), now=NOW)


def send_back(db, username: str, *, cells=(), unit=None, reason="Periksa lagi",
              stage: str = STAGE, trigger: str = "return", now=LATER):
    with db.session() as s:
        task = find_task(s, KEC, stage, YEAR)
        return send_back_marked(s, task=task, trigger=trigger, user=actor_of(s, username),
                                reason=reason, cells=cells, unit=unit, now=now)


def test_after_a_return_the_resubmission_names_exactly_the_cells_changed(year):  # noqa: F811
    parts = {unit: part_of(year, unit) for unit in UNITS}
    submit_all(year, parts)
    first = reviews(year)
    assert first["Puskesmas"].submitted == parts["Puskesmas"]
    assert first["Puskesmas"].changes["cells"] is None  # a first submission: nothing to compare
    row1 = parts["Puskesmas"][FORM]["desa"][D1]
    marked = [cell(D1, "jumlah_ibu_hamil_kek"), cell(D2, "jumlah_ibu_hamil_kek")]
    send_back(year, name("verifikator", "Puskesmas"), cells=marked,
              reason="Data ibu hamil KEK belum sesuai")
    back = reviews(year)["Puskesmas"]
    assert back.state == "returned"
    assert back.returned == {"trigger": "return", "by": name("verifikator", "Puskesmas"),
                             "at": LATER.isoformat(), "reason": "Data ibu hamil KEK belum sesuai",
                             "cells": sorted(marked)}
    assert reviews(year)["Setcam"].returned is None  # the other units' parts are untouched

    old_posyandu, old_dokter = row1["jumlah_posyandu"], \
        parts["Puskesmas"][FORM]["desa"][D2]["jumlah_dokter"]
    fix = {FORM: {"desa": {D1: {"jumlah_posyandu": old_posyandu + 1,
                                "bumil_kek_makanan_tambahan": row1["bumil_kek_makanan_tambahan"]},
                           D2: {"jumlah_dokter": old_dokter + 2}}}}
    with year.session() as s:
        save_on(s, KEC, STAGE, YEAR, name("operator", "Puskesmas"), fix, now=LATER)
    draft = reviews(year)["Puskesmas"]  # what the operator has changed so far, not yet sent
    with year.session() as s:
        d = pinned(s, find_task(s, KEC, STAGE, YEAR).definition_hash)
    expected = [[cell(D1, "jumlah_posyandu"), old_posyandu, old_posyandu + 1],
                [cell(D2, "jumlah_dokter"), old_dokter, old_dokter + 2]]
    assert [c.as_list() for c in changes.diff(d, draft.submitted, draft.data)] == expected
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Puskesmas"), now=LATER)
    again = reviews(year)["Puskesmas"]
    # Exactly the two cells whose value changed (the one re-typed with its old value is not).
    assert again.changes["cells"] == expected
    assert again.changes["since"] == NOW.isoformat() and again.changes["at"] == LATER.isoformat()
    assert again.changes["answered"]["reason"] == "Data ibu hamil KEK belum sesuai"
    assert again.returned is None and again.submitted[FORM]["desa"][D1][
        "jumlah_posyandu"] == old_posyandu + 1
    assert reviews(year)["Setcam"].changes["cells"] is None  # Setcam was never sent back


def test_the_operator_sees_the_return_in_the_task_list_until_they_submit_again(year):  # noqa: F811
    parts = {unit: part_of(year, unit) for unit in UNITS}
    submit_all(year, parts)
    send_back(year, name("verifikator", "PLKB"), cells=[cell(D1, "jumlah_calon_pengantin")],
              reason="Catin desa Sungailiat belum diisi benar")
    with year.session() as s:
        operator = s.scalar(select(User).where(User.username == name("operator", "PLKB")))
        row = next(t for t in list_tasks(s, user=operator, year=YEAR, now=LATER)
                   if t.stage == STAGE)
        page = view(s, find_task(s, KEC, STAGE, YEAR), now=LATER)
    assert row.state_name == "Dikembalikan"
    for shown in (row.returned, page.returned, page.as_dict()["sent_back"]):
        assert shown["reason"] == "Catin desa Sungailiat belum diisi benar"
        assert (shown["unit"], shown["by"], shown["at"]) == ("PLKB", name("verifikator", "PLKB"),
                                                            LATER.isoformat())
        assert shown["cells"] == [cell(D1, "jumlah_calon_pengantin")] and shown["name"] == "Kembalikan"
    with year.session() as s:
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "PLKB"), now=LATER)
        assert view(s, find_task(s, KEC, STAGE, YEAR), now=LATER).returned is None


def test_a_part_returned_while_the_stage_waits_for_the_others_shows_too(year):  # noqa: F811
    part = part_of(year, "Setcam")
    with year.session() as s:
        save_on(s, KEC, STAGE, YEAR, name("operator", "Setcam"), part, now=NOW)
        act_on(s, KEC, STAGE, YEAR, "submit", name("operator", "Setcam"), now=NOW)
    send_back(year, name("verifikator", "Setcam"), reason="Jumlah penduduk belum mutakhir")
    with year.session() as s:
        shown = view(s, find_task(s, KEC, STAGE, YEAR), history=False, now=LATER)
    assert shown.state == "ready"  # the stage waits for Puskesmas and PLKB
    assert (shown.returned["unit"], shown.returned["reason"], shown.returned["cells"]) == (
        "Setcam", "Jumlah penduduk belum mutakhir", [])


def test_the_camat_returning_every_part_marks_each_cell_on_its_owners_part(year):  # noqa: F811
    parts = {unit: part_of(year, unit) for unit in UNITS}
    submit_all(year, parts)
    for unit in UNITS:
        with year.session() as s:
            act_on(s, KEC, STAGE, YEAR, "verify", name("verifikator", unit), now=NOW)
    send_back(year, name("approver"), reason="Ulangi semua",
              cells=[cell(D1, "jumlah_penduduk"), cell(D2, "jumlah_calon_pengantin")])
    got = reviews(year)
    assert got["Setcam"].returned["cells"] == [cell(D1, "jumlah_penduduk")]
    assert got["PLKB"].returned["cells"] == [cell(D2, "jumlah_calon_pengantin")]
    assert got["Puskesmas"].returned["cells"] == []
    assert {u: r.returned["reason"] for u, r in got.items()} == {u: "Ulangi semua" for u in UNITS}


@pytest.mark.parametrize("bad, says", [
    ("desa/jumlah_calon_pengantin", "bukan alamat sel"),
    (f"{FORM}/desa/{D1}/jumlah_penduduk", "milik bagian unit Setcam"),
    (f"{FORM}/desa/19.02.01.2001/jumlah_ibu_hamil_kek", "tidak termasuk baris"),
    (f"{FORM}/desa/{D1}/tidak_ada", "tidak ada di"),
    (f"kec_pra_musrenbang/desa/{D1}/jumlah_ibu_hamil_kek", "bukan keluaran tahap ini"),
])
def test_unknown_marked_cells_are_refused_and_nothing_changes(year, bad, says):  # noqa: F811
    parts = {unit: part_of(year, unit) for unit in UNITS}
    submit_all(year, parts)
    before = snapshot(year)
    with pytest.raises(InvalidForm) as refused:
        send_back(year, name("verifikator", "Puskesmas"),
                  cells=[cell(D1, "jumlah_ibu_hamil_kek"), bad])
    assert "tidak ada yang diubah" in refused.value.message
    assert len(refused.value.problems) == 1 and says in refused.value.problems[0]
    assert snapshot(year) == before


def test_a_return_refused_by_the_lifecycle_stores_no_cells(year):  # noqa: F811
    parts = {unit: part_of(year, unit) for unit in UNITS}
    submit_all(year, parts)
    before = snapshot(year)
    with pytest.raises(NotPermitted):  # an operator may not return
        send_back(year, name("operator", "Puskesmas"), cells=[cell(D1, "jumlah_ibu_hamil_kek")])
    with pytest.raises(InvalidForm):  # approve is no send-back
        send_back(year, name("approver"), trigger="approve")
    assert snapshot(year) == before


def test_a_stage_without_parts_keeps_its_whole_document(year):  # noqa: F811
    with year.session() as s:
        task = find_task(s, KEC, WHOLE_STAGE, YEAR)
        d = pinned(s, task.definition_hash)
        doc = sample_document(d, WHOLE_FORM, context_for(s, d, task), rng=random.Random(3))
    assert doc["penandaan"], "the sample has programme rows"
    with year.session() as s:
        save_on(s, KEC, WHOLE_STAGE, YEAR, name("operator"), {WHOLE_FORM: doc}, now=NOW)
        act_on(s, KEC, WHOLE_STAGE, YEAR, "submit", name("operator"), now=NOW)
    whole = reviews(year, WHOLE_STAGE)[changes.WHOLE]
    assert whole.submitted == {WHOLE_FORM: doc} and whole.changes["cells"] is None
    uraian = changes.cell_key(WHOLE_FORM, "penandaan", 1, "uraian_belanja")
    with pytest.raises(InvalidForm) as refused:  # a row the list does not have
        send_back(year, name("verifikator", "Setcam"), stage=WHOLE_STAGE,
                  cells=[changes.cell_key(WHOLE_FORM, "penandaan", 99, "uraian_belanja")])
    assert "tidak punya baris 99" in refused.value.problems[0]
    send_back(year, name("verifikator", "Setcam"), stage=WHOLE_STAGE, reason="Uraian belanja kurang jelas",
              cells=[uraian, changes.cell_key(WHOLE_FORM, "evaluasi", "-", "hasil_evaluasi")])
    with year.session() as s:
        shown = view(s, find_task(s, KEC, WHOLE_STAGE, YEAR), history=False, now=LATER)
    assert shown.state == "returned" and shown.returned["unit"] is None
    assert shown.returned["reason"] == "Uraian belanja kurang jelas"
    rows = [dict(r) for r in doc["penandaan"]]
    rows[0]["uraian_belanja"] = "Belanja makanan tambahan balita (diperjelas)"
    with year.session() as s:
        save_on(s, KEC, WHOLE_STAGE, YEAR, name("operator"), {WHOLE_FORM: {"penandaan": rows}},
                now=LATER)
        act_on(s, KEC, WHOLE_STAGE, YEAR, "submit", name("operator"), now=LATER)
    whole = reviews(year, WHOLE_STAGE)[changes.WHOLE]
    assert whole.changes["cells"] == [
        [uraian, doc["penandaan"][0]["uraian_belanja"], rows[0]["uraian_belanja"]]]
    assert whole.returned is None


def test_cell_keys_cover_every_kind_of_section():
    assert changes.split_cell("f/s/-/x") == ("f", "s", "-", "x")
    assert changes.split_cell("f/s/x") is None and changes.split_cell("f//1/x") is None
    assert changes.cell_key("f", "s", None, "x") == "f/s/-/x"
    assert changes.cell_key("f", "s", 3, "x") == "f/s/3/x"
