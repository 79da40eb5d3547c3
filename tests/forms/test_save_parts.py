"""Several units' parts saved in one go (`entry.save_parts`), as an import of a spreadsheet
of the whole stage does: every share checked as its own save would be, the document checked
once, every part written or none.

A real kecamatan (Mendo Barat, 15 desa/kelurahan) on the shipped definitions, every backend.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidForm, NotPermitted, Refused
from engine.forms import spreadsheet
from engine.definitions.forms.spec import spec_of
from engine.forms.entry import PartSave, save_parts, stage_documents
from engine.forms.parts import parts_of
from engine.forms.sample import sample_document
from engine.people import actor
from engine.runtime import act_on, find_task, save_on
from engine.store.library import pinned
from engine.store.models import Event
from runtime.support import NOW, YEAR

from .conftest import SHEET_KEC, UNITS, unit_user
from .test_spreadsheet import FORM, STAGE, Setting

D1 = f"{SHEET_KEC}.2001"


@pytest.fixture
def setting(juknis_year) -> Setting:
    return Setting(juknis_year)


def whole_stage_shares(setting: Setting, seed: int = 3) -> tuple[dict, dict]:
    """(sample document, unit -> its share) of a template of every unit, pre-filled with a
    complete sample and read back as an import reads it."""
    doc = sample_document(setting.definition, FORM, setting.ctx, rng=random.Random(seed))
    content = setting.template(None, data=doc)
    patch = setting.read(content, None)
    return doc, spreadsheet.by_unit(spec_of(setting.definition, FORM), patch)


def saves(s, shares: dict, **versions) -> list[PartSave]:
    return [PartSave(actor(s, unit_user(unit)), {FORM: share}, unit, versions.get(unit))
            for unit, share in shares.items()]


def stored(db) -> dict:
    with db.session() as s:
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        return {u: (p.version, p.state, p.data) for u, p in parts_of(s, task.id).items()}


def save_events(db) -> list[tuple[str, str]]:
    with db.session() as s:
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        rows = s.scalars(select(Event).where(Event.task_id == task.id, Event.kind == "save")
                         .order_by(Event.id)).all()
        return [(e.actor, e.payload["unit"]) for e in rows]


def test_by_unit_gives_each_unit_the_fields_it_owns(setting):
    _, shares = whole_stage_shares(setting)
    spec = spec_of(setting.definition, FORM)
    assert set(shares) == set(UNITS)
    for unit, share in shares.items():
        for name, value in share.items():
            section = spec.section(name)
            if section.kind == "rows":
                assert section.units == {unit}
                continue
            rows = value.values() if section.kind == "per_region" else [value]
            assert all(section.field(f).unit == unit for row in rows for f in row)
    assert shares["Setcam"]["desa"][D1]["jumlah_penduduk"] > 0
    assert "jumlah_penduduk" not in shares["Puskesmas"]["desa"][D1]


def test_a_whole_stage_import_writes_every_part_at_once(juknis_year, setting):
    doc, shares = whole_stage_shares(setting)
    with juknis_year.session() as s:
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        results = save_parts(s, task=task, definition=setting.definition, now=NOW,
                             saves=saves(s, shares))
    assert [(r.unit, r.version) for r in results] == [(u, 1) for u in shares]
    assert not [p for p in results[0].problems if p.is_error and p.rule is None]
    assert all(r.problems == results[0].problems for r in results)
    parts = stored(juknis_year)
    assert {u: (v, state) for u, (v, state, _) in parts.items()} == {u: (1, "ready") for u in UNITS}
    assert {u: data for u, (_, _, data) in parts.items()} == {u: {FORM: shares[u]} for u in UNITS}
    assert save_events(juknis_year) == [(unit_user(u), u) for u in shares]
    with juknis_year.session() as s:
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        merged = stage_documents(s, pinned(s, task.definition_hash), task)[FORM]
    assert merged["desa"] == doc["desa"]
    with juknis_year.session() as s:  # again: every part one version on
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        again = save_parts(s, task=task, definition=setting.definition, now=NOW,
                           saves=saves(s, shares, Setcam=1, Puskesmas=1, PLKB=1))
    assert [r.version for r in again] == [2, 2, 2]


def test_an_error_in_one_units_share_refuses_every_part(juknis_year, setting):
    _, shares = whole_stage_shares(setting)
    shares["PLKB"]["desa"][D1]["jumlah_calon_pengantin"] = "banyak"
    with juknis_year.session() as s:
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        with pytest.raises(InvalidForm) as refused:
            save_parts(s, task=task, definition=setting.definition, now=NOW,
                       saves=saves(s, shares))
    assert refused.value.problems == [
        f"Desa Petaling ({D1}): «Jumlah Calon Pengantin»: harus bilangan bulat, bukan 'banyak'"]
    assert stored(juknis_year) == {} and save_events(juknis_year) == []


def test_each_share_is_checked_as_its_own_save_would_be(juknis_year, setting):
    _, shares = whole_stage_shares(setting)
    with juknis_year.session() as s:
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        mixed = saves(s, shares)
        mixed[1] = PartSave(mixed[1].actor, mixed[0].data)  # Puskesmas sends Setcam's fields
        with pytest.raises(NotPermitted) as foreign:
            save_parts(s, task=task, definition=setting.definition, now=NOW, saves=mixed)
        assert "unit Puskesmas tidak berhak mengisi: «" in foreign.value.message
        twice = saves(s, {"Setcam": shares["Setcam"]}) * 2
        with pytest.raises(InvalidForm, match="bagian unit Setcam disimpan lebih dari sekali"):
            save_parts(s, task=task, definition=setting.definition, now=NOW, saves=twice)
        other = [PartSave(actor(s, unit_user("Setcam")), {FORM: shares["PLKB"]}, "PLKB")]
        with pytest.raises(NotPermitted, match="mengisi bagian unit Setcam, bukan PLKB"):
            save_parts(s, task=task, definition=setting.definition, now=NOW, saves=other)
    assert stored(juknis_year) == {}
    with juknis_year.session() as s:
        save_on(s, SHEET_KEC, STAGE, YEAR, unit_user("PLKB"), {FORM: shares["PLKB"]}, now=NOW)
    with juknis_year.session() as s:  # a stale version of one part refuses them all
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        with pytest.raises(Conflict):
            save_parts(s, task=task, definition=setting.definition, now=NOW,
                       saves=saves(s, shares, PLKB=0))
    with juknis_year.session() as s:  # a submitted part cannot be written, nor the others
        act_on(s, SHEET_KEC, STAGE, YEAR, "submit", unit_user("PLKB"), now=NOW)
    with juknis_year.session() as s:
        task = find_task(s, SHEET_KEC, STAGE, YEAR)
        with pytest.raises(Refused, match="bagian unit PLKB berstatus"):
            save_parts(s, task=task, definition=setting.definition, now=NOW,
                       saves=saves(s, shares))
    assert set(stored(juknis_year)) == {"PLKB"}
    assert save_events(juknis_year) == [(unit_user("PLKB"), "PLKB")]
