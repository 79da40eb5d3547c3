"""`unique` rules: no two rows of a section alike in the named fields (R-G-03, R-K3-05,
R-T-06), checked as data, named by row, and checked in the rules file by `aksi check`."""

from __future__ import annotations

from engine.definitions import load
from engine.forms import check_document
from engine.definitions.forms.rules import parse
from engine.forms.validate import FormContext
from helpers import only

DEFINITIONS = load(None)
KEC = DEFINITIONS["kecamatan"]
CTX = FormContext("19.01.04", 2026, {"19.01.04.2001": "Petaling"},
                  tuple(s.id for s in KEC.stages))


def regulation(jenis: str, nomor: str, tahun: int) -> dict:
    return {"jenis_dokumen": jenis, "nomor_regulasi": nomor, "tentang_regulasi": "Percepatan",
            "tahun_regulasi": tahun, "tingkat": "kecamatan"}


def unique_problems(form: str, doc: dict) -> list:
    return [p for p in check_document(KEC, form, doc, CTX, phase="draft")
            if p.rule in {u.id for u in parse(KEC.form_rules.get(form)).unique}]


def test_the_same_regulation_twice_is_an_error_on_the_later_row():
    jenis = next(iter(KEC.forms["kec_regulasi"]["properties"]["regulasi"]["items"]
                      ["properties"]["jenis_dokumen"]["enum"]))
    doc = {"regulasi": [regulation(jenis, "12/2026", 2026), regulation(jenis, "13/2026", 2026),
                        regulation(jenis, " 12/2026 ", 2026), regulation(jenis, "12/2026", 2025)]}
    found = unique_problems("kec_regulasi", doc)
    label = KEC.forms["kec_regulasi"]["properties"]["regulasi"]["items"]["properties"][
        "jenis_dokumen"]["x-labels"][jenis]
    assert [(p.severity, p.row, p.rule, p.fields) for p in found] == [
        ("error", 3, "R-G-03", ("jenis_dokumen", "nomor_regulasi", "tahun_regulasi"))]
    title = found[0].message.split(":")[0]
    assert found[0].message == (
        f"{title}: sama dengan baris 1 («Jenis Dokumen» '{label}', «Nomor Regulasi» "
        f"' 12/2026 ', «Tahun Regulasi» 2026)")
    doc["regulasi"][2]["nomor_regulasi"] = "12/2026-a"
    assert unique_problems("kec_regulasi", doc) == []
    del doc["regulasi"][0]["nomor_regulasi"]  # not judged until every field is filled
    doc["regulasi"][2]["nomor_regulasi"] = ""
    assert unique_problems("kec_regulasi", doc) == []


def test_ranks_twice_are_a_warning():
    doc = {"rencana": [{"prioritas": 1}, {"prioritas": 2}, {"prioritas": 1}, {"prioritas": 2}]}
    found = unique_problems("kec_pra_musrenbang", doc)
    assert [(p.severity, p.row, p.rule) for p in found] == [
        ("warning", 3, "R-K3-05"), ("warning", 4, "R-K3-05")]
    assert found[1].message.endswith(": sama dengan baris 2 («Prioritas intervensi» 2)")


def test_a_message_of_the_rules_file_is_used_with_the_values():
    rules = parse({"form": "x", "unique": [{"id": "U", "section": "s", "fields": ["a", "b"],
                                            "message": "Kode {a} dipakai dua kali"}]})
    assert [(u.id, u.fields, u.severity, u.message) for u in rules.unique] == [
        ("U", ("a", "b"), "error", "Kode {a} dipakai dua kali")]


def test_the_checker_names_a_unique_rule_that_points_nowhere(toy):
    from test_checker import _survey, _write_form

    rows = {"type": "array", "title": "Baris", "items": {"type": "object", "properties": {
        "kode": {"type": "string", "title": "Kode"}}}}
    schema = _survey()
    schema["properties"]["baris"] = rows
    _write_form(toy, "district_survey", schema)
    path = toy.forms / "district_survey.rules.yaml"
    path.write_text("form: district_survey\nunique:\n  - {id: U1, section: baris, fields: [kode]}\n",
                    encoding="utf-8")
    assert [f for f in toy.check() if f.file == str(path)] == []
    path.write_text("form: district_survey\nunique:\n  - {id: U1, section: baris, fields: [kod]}\n",
                    encoding="utf-8")
    f = only(toy.check(), "unknown-field")
    assert "isian 'kod' tidak ada di bagian 'baris'" in f.message and "kode" in f.message
    path.write_text("form: district_survey\nunique:\n  - {id: U1, section: isian, fields: [note]}\n",
                    encoding="utf-8")
    f = only(toy.check(), "form-rules")
    assert "bagian 'isian' tidak berbaris" in f.message
    path.write_text("form: district_survey\nunique:\n  - {id: U1, section: baris}\n",
                    encoding="utf-8")
    f = only(toy.check(), "form-rules")
    assert "fields" in f.message
