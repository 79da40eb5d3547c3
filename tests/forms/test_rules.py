"""Checking documents against the shipped forms: every rule kind passes and fails, and says so
in Bahasa Indonesia with the desa, the labels and the values. No database: the context is
built by hand (a kecamatan of two desa)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.definitions import load
from engine.forms import DRAFT, SUBMIT, FormContext, check_document
from engine.definitions.forms.spec import spec_of
from engine.definitions.forms.logic import compile_logic, type_problems
from engine.forms.sample import sample_document
from engine.forms.validate import owned_by

REPO = Path(__file__).resolve().parents[2]
KEC = "19.01.01"
DESA = {f"{KEC}.2001": "AIR ANYIR", f"{KEC}.1002": "SINAR JAYA"}  # a desa and a kelurahan
YEAR = 2027
ANALISIS = "kec_analisis_situasi"


@pytest.fixture(scope="module")
def kec():
    return load(REPO / "workflows")["kecamatan"]


@pytest.fixture(scope="module")
def ctx(kec):
    return FormContext(KEC, YEAR, DESA, tuple(s.id for s in kec.stages), row_kind="desa")


@pytest.fixture
def doc(kec, ctx):
    """A complete analysis that passes every error rule."""
    made = sample_document(kec, ANALISIS, ctx, rng=random.Random(7))
    assert errors(check_document(kec, ANALISIS, made, ctx)) == []
    return made


def errors(problems):
    return [p for p in problems if p.is_error]


def warnings(problems):
    return [p for p in problems if not p.is_error]


def test_served_above_targeted_names_the_desa_labels_and_values(kec, ctx, doc):
    row = doc["desa"][f"{KEC}.2001"]
    row["jumlah_ibu_hamil_kek"], row["bumil_kek_makanan_tambahan"] = 4, 9
    found = errors(check_document(kec, ANALISIS, doc, ctx))
    assert [p.rule for p in found] == ["cakupan:bumil_kek_makanan_tambahan"]
    assert found[0].message == (
        f"Desa Air Anyir ({KEC}.2001): «Jumlah Ibu hamil KEK mendapat Makanan Tambahan» (9) "
        "melebihi «Jumlah Ibu Hamil KEK» (4)")
    assert (found[0].section, found[0].row) == ("desa", f"{KEC}.2001")
    assert set(found[0].fields) == {"jumlah_ibu_hamil_kek", "bumil_kek_makanan_tambahan"}


def test_a_kelurahan_is_called_a_kelurahan(kec, ctx, doc):
    row = doc["desa"][f"{KEC}.1002"]
    row["ibu_nifas_pelayanan_kb"] = row["jumlah_ibu_nifas"] + 1
    found = errors(check_document(kec, ANALISIS, doc, ctx))
    assert found and found[0].message.startswith(f"Kelurahan Sinar Jaya ({KEC}.1002): ")


def test_a_sum_of_served_against_one_target(kec, ctx, doc):
    row = doc["desa"][f"{KEC}.2001"]
    row["jumlah_kasus_diare_anak_0_59_bulan"] = 10
    row["anak_0_23_bulan_diare_oralit_zinc"], row["anak_24_59_bulan_diare_oralit_zinc"] = 6, 5
    found = errors(check_document(kec, ANALISIS, doc, ctx))
    assert [p.rule for p in found] == ["R-K1-05"]
    assert "(11) melebihi «Jumlah kasus diare pada anak usia 0-59 bulan» (10)" in found[0].message
    assert "+" in found[0].message  # both served fields are named


def test_a_warning_does_not_count_as_an_error(kec, ctx, doc):
    row = doc["desa"][f"{KEC}.2001"]
    row["bayi_baru_lahir_imd"] = row["jumlah_anak_0_5_bulan"] + 3
    problems = check_document(kec, ANALISIS, doc, ctx)
    assert errors(problems) == []
    assert ("cakupan:bayi_baru_lahir_imd", f"{KEC}.2001") in {(p.rule, p.row)
                                                              for p in warnings(problems)}


def test_subgroups_within_their_group(kec, ctx, doc):
    row = doc["desa"][f"{KEC}.2001"]
    row["jumlah_penduduk"] = 10  # every group is larger than the population now
    rules = {p.rule for p in errors(check_document(kec, ANALISIS, doc, ctx))}
    assert any(r.startswith("R-K1-09") for r in rules)


def test_wrong_types_are_refused_even_in_a_draft(kec, ctx, doc):
    doc["desa"][f"{KEC}.2001"]["jumlah_ibu_hamil"] = "banyak"
    doc["desa"][f"{KEC}.2001"]["jumlah_penduduk"] = -1
    for phase in (DRAFT, SUBMIT):
        found = errors(check_document(kec, ANALISIS, doc, ctx, phase=phase))
        messages = [p.message for p in found]
        assert f"Desa Air Anyir ({KEC}.2001): «Jumlah Ibu Hamil»: harus bilangan bulat, bukan " \
               "'banyak'" in messages
        assert f"Desa Air Anyir ({KEC}.2001): «Jumlah Penduduk»: tidak boleh kurang dari 0 " \
               "(terisi -1)" in messages


def test_a_draft_may_be_incomplete_a_submission_may_not(kec, ctx, doc):
    del doc["desa"][f"{KEC}.2001"]["jumlah_ibu_hamil"]
    del doc["desa"][f"{KEC}.1002"]
    doc["masalah"] = []
    assert errors(check_document(kec, ANALISIS, doc, ctx, phase=DRAFT)) == []
    messages = [p.message for p in errors(check_document(kec, ANALISIS, doc, ctx))]
    assert f"Desa Air Anyir ({KEC}.2001): «Jumlah Ibu Hamil»: belum diisi" in messages
    assert f"Kelurahan Sinar Jaya ({KEC}.1002): datanya belum diisi" in messages
    assert any(m.startswith("Permasalahan dan kendala capaian layanan") and "belum ada baris" in m
               for m in messages)


def test_rows_for_a_region_outside_the_kecamatan_are_refused(kec, ctx, doc):
    doc["desa"]["19.01.02.2001"] = dict(doc["desa"][f"{KEC}.2001"])
    for phase in (DRAFT, SUBMIT):
        messages = [p.message for p in errors(check_document(kec, ANALISIS, doc, ctx, phase=phase))]
        assert any("19.01.02.2001 bukan desa di wilayah 19.01.01" in m for m in messages)


def test_required_when_another_field_says_so(kec, ctx, doc):
    doc["masalah"] = [{"skala": "desa_kelurahan", "sisi": "supply", "masalah": "x",
                       "penyebab": "y", "indikator_layanan": "L1"}]
    found = errors(check_document(kec, ANALISIS, doc, ctx))
    assert [p.message for p in found] == [
        "Permasalahan dan kendala capaian layanan baris 1: «Desa/kelurahan»: belum diisi"]
    doc["masalah"][0]["skala"] = "kecamatan"
    assert errors(check_document(kec, ANALISIS, doc, ctx)) == []


def test_a_reference_to_a_desa_must_be_one_of_the_kecamatan(kec, ctx, doc):
    doc["masalah"] = [{"skala": "desa_kelurahan", "kode_desa": "33.01.01.2001", "sisi": "supply",
                       "masalah": "x", "penyebab": "y", "indikator_layanan": "L1"}]
    messages = [p.message for p in errors(check_document(kec, ANALISIS, doc, ctx))]
    assert messages == ["Permasalahan dan kendala capaian layanan baris 1: «Desa/kelurahan»: "
                        "33.01.01.2001 bukan desa di wilayah 19.01.01"]


def test_meeting_dates_inside_their_window(kec, ctx):
    ba = "kec_berita_acara_pra_musrenbang"
    made = sample_document(kec, ba, ctx, rng=random.Random(3))
    date_rules = {p.rule for p in errors(check_document(kec, ba, made, ctx))}
    assert not date_rules & {"R-K4-01", "R-K4-02"}
    made["pertemuan"]["tanggal_pelaksanaan"] = f"{YEAR}-03-10"
    found = [p for p in errors(check_document(kec, ba, made, ctx)) if p.rule == "R-K4-01"]
    assert len(found) == 1 and "Februari" in found[0].message and "2027-03-10" in found[0].message
    made["pertemuan"]["tanggal_pelaksanaan"] = f"{YEAR - 1}-02-10"
    assert [p.rule for p in errors(check_document(kec, ba, made, ctx))
            if p.rule == "R-K4-01"] == ["R-K4-01"]


def test_total_is_coefficient_times_unit_price(kec, ctx):
    form = "kec_penandaan_apbd_berjalan"
    made = sample_document(kec, form, ctx, rng=random.Random(5))
    assert errors(check_document(kec, form, made, ctx)) == []
    row = made["penandaan"][0]
    row["koefisien_volume"], row["harga_satuan"] = 12, 150_000
    row["total_belanja"] = 1_800_001  # within a rupiah
    assert errors(check_document(kec, form, made, ctx)) == []
    row["total_belanja"] = 1_900_000
    found = errors(check_document(kec, form, made, ctx))
    assert [p.rule for p in found] == ["R-T-01"]
    assert "1.900.000" in found[0].message and "150.000" in found[0].message


def test_percentages_stay_within_0_and_100(juknis_forms):
    kab, ctx_kab = juknis_forms
    form = "kab_analisis_situasi"
    made = sample_document(kab, form, ctx_kab, rng=random.Random(2))
    assert [p.message for p in errors(check_document(kab, form, made, ctx_kab))] == []
    section = next(s for s in spec_of(kab, form).sections
                   if any(f.kind == "percent" for f in s.fields))
    field = next(f for f in section.fields if f.kind == "percent")
    rows = made[section.name] if isinstance(made[section.name], list) else [made[section.name]]
    rows[0][field.name] = 140
    messages = [p.message for p in errors(check_document(kab, form, made, ctx_kab))]
    assert any(f"«{field.title}»: tidak boleh lebih dari 100 (terisi 140)" in m for m in messages)


@pytest.fixture(scope="module")
def juknis_forms():
    kab = load(REPO / "workflows")["kabkota"]
    return kab, FormContext("19.01", YEAR, {"19.01.01": "MERAWANG", "19.01.02": "PEMALI"},
                            tuple(s.id for s in kab.stages), row_kind="Kecamatan")


def test_year_over_year_jumps_are_warnings(kec, ctx, doc):
    previous = copy.deepcopy(doc)
    row = doc["desa"][f"{KEC}.2001"]
    previous["desa"][f"{KEC}.2001"]["jumlah_ibu_hamil"] = max(1, row["jumlah_ibu_hamil"] // 5)
    last = previous["desa"][f"{KEC}.2001"]["jumlah_ibu_hamil"]
    with_last = FormContext(KEC, YEAR, DESA, ctx.stages, previous, "desa")
    jumps = [p for p in check_document(kec, ANALISIS, doc, with_last) if p.rule == "tahun-ke-tahun"]
    assert [p.severity for p in jumps] == ["warning"]
    assert jumps[0].message.startswith(
        f"Desa Air Anyir ({KEC}.2001): «Jumlah Ibu Hamil» {row['jumlah_ibu_hamil']}, "
        f"tahun lalu {last} (")
    same = FormContext(KEC, YEAR, DESA, ctx.stages, doc, "desa")
    assert [p for p in check_document(kec, ANALISIS, doc, same) if p.rule == "tahun-ke-tahun"] == []


def test_problems_belong_to_the_unit_owning_their_fields(kec, ctx, doc):
    row = doc["desa"][f"{KEC}.2001"]
    row["ibu_nifas_pelayanan_kb"] = row["jumlah_ibu_nifas"] + 1  # PLKB's L5 above Puskesmas' S5
    found = errors(check_document(kec, ANALISIS, doc, ctx))
    spec = spec_of(kec, ANALISIS)
    assert [owned_by(spec, found[0], u) for u in ("Setcam", "Puskesmas", "PLKB")] == \
        [False, True, True]


def test_json_logic_compiles_and_is_type_checked():
    fn, reads = compile_logic({"and": [{"<=": [{"var": "a"}, {"+": [{"var": "b"}, 2]}]},
                                       {"==": [{"month": [{"var": "d"}]}, 2]}]})
    assert reads == {"a", "b", "d"} and fn({"a": 3, "b": 1, "d": "2027-02-10"}) is True
    assert fn({"a": 4, "b": 1, "d": "2027-02-10"}) is False
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "t": {"type": "string"}}}
    assert type_problems({"<=": [{"var": "a"}, {"var": "zz"}]}, schema) == ["isian 'zz' tidak ada"]
    assert type_problems({"<=": [{"var": "a"}, {"var": "t"}]}, schema) == [
        "operasi '<=' tidak dapat dipakai pada bilangan bulat dan teks"]
    assert "tidak dikenal" in type_problems({"sqrt": [4]}, schema)[0]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=JSON, section=st.sampled_from(["desa", "program", "pertemuan", "x"]),
       desa=st.sampled_from([f"{KEC}.2001", "zz", ""]))
def test_arbitrary_json_never_crashes_validation(kec, ctx, junk, section, desa):
    for doc in (junk, {section: junk}, {"desa": {desa: junk}}, {"desa": {desa: {"jumlah_penduduk": junk}}}):
        for phase in (DRAFT, SUBMIT):
            for p in check_document(kec, ANALISIS, doc, ctx, phase=phase):
                assert isinstance(p.message, str) and p.message
                json.dumps(p.as_dict())


def test_each_missing_field_is_said_once(kec, ctx, doc):
    doc["desa"][f"{KEC}.2001"] = {"jumlah_penduduk": 10}
    found = [p for p in errors(check_document(kec, ANALISIS, doc, ctx))
             if p.row == f"{KEC}.2001" and p.message.endswith("belum diisi")]
    required = [f for f in spec_of(kec, ANALISIS).section("desa").fields if f.required]
    assert len(found) == len({p.fields for p in found}) == len(required) - 1


def test_a_draft_keeps_the_condition_of_an_if_whole():
    """A draft need not be complete, but an ``if`` is a condition: a row that does not give
    ``skala`` does not meet "skala is desa", so the ``then`` does not bind it."""
    import jsonschema

    from engine.forms.validate import draft_schema
    row = {"type": "object", "required": ["skala"],
           "properties": {"skala": {"type": "string"}, "nilai": {"type": "integer"}},
           "if": {"properties": {"skala": {"const": "desa"}}, "required": ["skala"]},
           "then": {"required": ["nilai"], "properties": {"nilai": {"maximum": 10}}}}
    drafted = draft_schema(row)
    assert "required" not in drafted and "required" not in drafted["then"]
    assert drafted["if"]["required"] == ["skala"]
    check = jsonschema.Draft202012Validator(drafted)
    assert check.is_valid({"nilai": 99})  # no skala: the condition is not met
    assert not check.is_valid({"skala": "desa", "nilai": 99})
    assert check.is_valid({"skala": "desa"})  # incomplete is fine in a draft
