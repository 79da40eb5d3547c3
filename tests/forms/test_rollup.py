"""Roll-up, computed fields and the penilaian from data, on every backend: a kab/kota's
analysis starts with its kecamatan's approved sums, what its operators type wins, and a
reopened kecamatan drops out until approved again."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.forms.entry import stage_documents
from engine.forms.rollup import recompute
from engine.definitions.forms.rules import rules_of
from engine.runtime import act_on, find_task, save_on, start_year
from engine.runtime.scoring import coverage, score_case
from engine.store.library import pinned
from runtime.conftest import juknis_defs, regions  # noqa: F401

from .walk import add_people, fill_and_approve, person

UTC = dt.timezone.utc
YEAR = 2026
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
KAB = "19.01"
KECAMATAN = tuple(f"19.01.{i:02d}" for i in range(1, 9))


@pytest.fixture
def bangka(regions, juknis_defs):  # noqa: F811
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        for code in (KAB, *KECAMATAN):
            add_people(s, juknis_defs, code)
    return regions


def expected_sums(docs_by_kec: dict[str, dict], fields) -> dict[str, dict]:
    """The sums, computed here independently of the engine."""
    out = {}
    for code, docs in docs_by_kec.items():
        rows = docs["kec_analisis_situasi"]["desa"].values()
        out[code] = {f: sum(int(r[f]) for r in rows if f in r) for f in fields}
    return out


def test_the_kabupaten_analysis_starts_with_its_kecamatan_sums(bangka, juknis_defs):  # noqa: F811
    saved = {code: fill_and_approve(bangka, code, "analisis_situasi", YEAR, seed=i, now=NOW)
             for i, code in enumerate(KECAMATAN)}
    kab = juknis_defs["kabkota"]
    fields = rules_of(kab, "kab_analisis_situasi").rollup[0].sum
    with bangka.session() as s:
        task = find_task(s, KAB, "analisis_situasi", YEAR)
        assert task.state == "ready"  # opened by the last approval
        doc = stage_documents(s, pinned(s, task.definition_hash), task)["kab_analisis_situasi"]
    want = expected_sums(saved, fields)
    got = {code: {f: row[f] for f in fields} for code, row in doc["kecamatan"].items()}
    assert got == want
    assert {row["status_kecamatan"] for row in doc["kecamatan"].values()} == {"Disetujui"}
    average, pairs = coverage(kab, "kab_analisis_situasi", doc)
    assert pairs and 0 < average <= 100

    # What Bappeda types for a kecamatan wins over the roll-up; the rest stays rolled up.
    first = KECAMATAN[0]
    with bangka.session() as s:
        save_on(s, KAB, "analisis_situasi", YEAR, person("operator", KAB),
                {"kab_analisis_situasi": {"kecamatan": {first: {
                    "catatan_data_kecamatan": "Data Posyandu diperbarui"}}}}, now=NOW)
        doc = stage_documents(s, kab, find_task(s, KAB, "analisis_situasi", YEAR))[
            "kab_analisis_situasi"]
    assert doc["kecamatan"][first]["catatan_data_kecamatan"] == "Data Posyandu diperbarui"
    assert doc["kecamatan"][first]["jumlah_penduduk"] == want[first]["jumlah_penduduk"]

    # A reopened kecamatan leaves the roll-up; approved again with new data, it comes back.
    with bangka.session() as s:
        act_on(s, first, "analisis_situasi", YEAR, "reopen", person("approver", first),
               reason="Koreksi data desa", now=NOW)
        doc = stage_documents(s, kab, find_task(s, KAB, "analisis_situasi", YEAR))[
            "kab_analisis_situasi"]
    assert "jumlah_penduduk" not in doc["kecamatan"][first]
    assert doc["kecamatan"][first]["catatan_data_kecamatan"] == "Data Posyandu diperbarui"
    assert doc["kecamatan"][first]["status_kecamatan"] == "Dibuka kembali"


def test_recompute_agrees_with_the_rows_written_by_approvals(bangka, juknis_defs):  # noqa: F811
    for i, code in enumerate(KECAMATAN):
        fill_and_approve(bangka, code, "analisis_situasi", YEAR, seed=10 + i, now=NOW)
    kab = juknis_defs["kabkota"]
    with bangka.session() as s:
        task = find_task(s, KAB, "analisis_situasi", YEAR)
        before = stage_documents(s, kab, task)["kab_analisis_situasi"]["kecamatan"]
        counted = recompute(s, task, kab, definition_of=lambda h: pinned(s, h),
                            done_state_of=lambda d: d.lifecycle.done, now=NOW)
        after = stage_documents(s, kab, task)["kab_analisis_situasi"]["kecamatan"]
    assert counted == len(KECAMATAN) and after == before


def test_the_publication_list_is_the_approved_stages(bangka, juknis_defs):  # noqa: F811
    kec = KECAMATAN[0]
    fill_and_approve(bangka, kec, "analisis_situasi", YEAR, now=NOW)
    with bangka.session() as s:
        task = find_task(s, kec, "publikasi", YEAR)
        doc = stage_documents(s, juknis_defs["kecamatan"], task)["kec_publikasi"]
    assert doc["publikasi_web"]["tahapan_terpublikasi"] == [
        {"tahapan": "analisis_situasi", "tanggal": "2026-01-05"}]


def test_the_score_comes_from_stages_and_data(bangka, juknis_defs):  # noqa: F811
    kec = KECAMATAN[0]
    definition = juknis_defs["kecamatan"]
    fill_and_approve(bangka, kec, "analisis_situasi", YEAR, now=NOW)
    with bangka.session() as s:
        case_id = find_task(s, kec, "analisis_situasi", YEAR).case_id
        result = score_case(s, definition, case_id)
    by_name = {c["kriteria"]: c for c in result.criteria}
    assert by_name["Analisis Situasi"]["nilai"] == 10  # approved on time
    assert by_name["Dukungan regulasi tercatat"]["nilai"] == 0  # nothing registered yet
    assert by_name["Cakupan layanan akhir tahun"]["nilai"] == 0  # semester II not filled
    assert result.score == pytest.approx(10.0) and result.band == "Tumbuh"
    assert set(by_name) == {c.name or definition.stage(c.stage).name
                            for c in definition.scoring.criteria}
