"""The form rules in the browser say what the server says.

engine/web/static/rules.js (with the vendored json-logic-js) runs under Node on the same
documents `engine.forms.validate.check_document` checks: the rule problems must be the
same rules, rows, severities and fields, with the same message text to the character.
Documents: hand-made ones for each kind of rule (coverage pairs, a sum against one target,
total = koefisien x harga satuan, dates with year/month, a rule that applies only when
another field has a value, a rule across sections) passing and failing, and the sampler's
plausible documents of every shipped form, broken at random, for the cases nobody thought of.

Node is part of the machine (.ci/run installs it); without it these tests fail.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.definitions import load
from engine.forms import DRAFT, FormContext, check_document
from engine.definitions.forms.rules import coverage_rule, rules_of
from engine.forms.sample import sample_document
from engine.definitions.forms.spec import spec_of
from engine.forms.validate import region_label
from engine.web.client_rules import rules_for_browser
from engine.web.form_entry import parse_value

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STATIC = REPO / "engine" / "web" / "static"
RUNNER = HERE / "rules_runner.js"
KEC = "19.01.01"
DESA = {f"{KEC}.2001": "AIR ANYIR", f"{KEC}.1002": "SINAR JAYA"}  # a desa and a kelurahan
YEAR = 2027
ANALISIS = "kec_analisis_situasi"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if not found:
        pytest.fail("node is not installed: the browser rules run under Node "
                    "(.ci/run installs nodejs)")
    return found


@pytest.fixture(scope="module")
def defs():
    return load(REPO / "workflows")


@pytest.fixture(scope="module")
def kec(defs):
    return defs["kecamatan"]


@pytest.fixture(scope="module")
def kab(defs):
    return defs["kabkota"]


def context(definition, region: str, rows: dict, row_kind: str) -> FormContext:
    return FormContext(region, YEAR, rows, tuple(s.id for s in definition.stages),
                       row_kind=row_kind)


@pytest.fixture(scope="module")
def ctx(kec):
    return context(kec, KEC, DESA, "desa")


def browser(node: str, cases: list[tuple]) -> list[list[dict]]:
    """AksiRules.check on each (spec, document[, last year's document]) under Node."""
    payload = json.dumps({"cases": [{"spec": c[0], "doc": c[1],
                                     "previous": c[2] if len(c) > 2 else None} for c in cases]})
    done = subprocess.run([node, str(RUNNER)], input=payload, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def server(definition, form: str, doc: dict, ctx: FormContext) -> list[dict]:
    return [p.as_dict() for p in check_document(definition, form, doc, ctx, phase=DRAFT)]


def rule_problems(problems: list[dict]) -> list[dict]:
    return [p for p in problems if p["rule"] is not None]


def both(node, definition, form: str, docs: list[dict], ctx: FormContext):
    """[(server's rule problems, browser's rule problems)] of each document."""
    spec = rules_for_browser(definition, form, ctx)
    got = browser(node, [(spec, d) for d in docs])
    return [(rule_problems(server(definition, form, d, ctx)), rule_problems(g))
            for d, g in zip(docs, got)]


def assert_same(pairs) -> None:
    for expected, got in pairs:
        assert got == expected


@pytest.fixture
def analisis(kec, ctx):
    """A complete analysis that passes every error rule."""
    made = sample_document(kec, ANALISIS, ctx, rng=random.Random(7))
    assert [p for p in check_document(kec, ANALISIS, made, ctx) if p.is_error] == []
    return made


# -- hand-made documents, rule kind by rule kind -----------------------------------------------

def test_coverage_and_a_sum_against_one_target(node, kec, ctx, analisis):
    passing = copy.deepcopy(analisis)
    served_high = copy.deepcopy(analisis)
    row = served_high["desa"][f"{KEC}.2001"]
    row["jumlah_ibu_hamil_kek"], row["bumil_kek_makanan_tambahan"] = 4, 9
    kelurahan = copy.deepcopy(analisis)
    kelurahan["desa"][f"{KEC}.1002"]["ibu_nifas_pelayanan_kb"] = \
        kelurahan["desa"][f"{KEC}.1002"]["jumlah_ibu_nifas"] + 1
    diare = copy.deepcopy(analisis)
    row = diare["desa"][f"{KEC}.2001"]
    row["jumlah_kasus_diare_anak_0_59_bulan"] = 10
    row["anak_0_23_bulan_diare_oralit_zinc"], row["anak_24_59_bulan_diare_oralit_zinc"] = 6, 5
    warning = copy.deepcopy(analisis)
    warning["desa"][f"{KEC}.2001"]["bayi_baru_lahir_imd"] = \
        warning["desa"][f"{KEC}.2001"]["jumlah_anak_0_5_bulan"] + 1_000
    pairs = both(node, kec, ANALISIS, [passing, served_high, kelurahan, diare, warning], ctx)
    assert_same(pairs)
    (ok, _), (high, _), (kel, _), (sum_, _), (warn, _) = pairs
    assert [p for p in ok if p["severity"] == "error"] == []
    assert [p["rule"] for p in high] == ["cakupan:bumil_kek_makanan_tambahan"] + \
        [p["rule"] for p in ok]
    assert high[0]["message"] == (
        f"Desa Air Anyir ({KEC}.2001): «Jumlah Ibu hamil KEK mendapat Makanan Tambahan» (9) "
        "melebihi «Jumlah Ibu Hamil KEK» (4)")
    assert kel[0]["message"].startswith(f"Kelurahan Sinar Jaya ({KEC}.1002): ")
    assert sum_[0]["rule"] == "R-K1-05" and " + " in sum_[0]["message"]
    assert "(11) melebihi" in sum_[0]["message"]
    assert [(p["rule"], p["severity"]) for p in warn if p["rule"].startswith("cakupan:bayi")
            and p["row"] == f"{KEC}.2001"] == [("cakupan:bayi_baru_lahir_imd", "warning")]


def test_an_empty_or_wrong_typed_field_leaves_the_rule_unjudged(node, kec, ctx, analisis):
    """json-logic-js reads a missing var as null and null <= 5 is true in JavaScript; the
    engine does not judge the rule. The browser must agree on every such case."""
    docs = []
    for value in (None, "sembilan", True, [1]):
        doc = copy.deepcopy(analisis)
        row = doc["desa"][f"{KEC}.2001"]
        row["jumlah_ibu_hamil_kek"] = 4
        if value is None:
            row.pop("bumil_kek_makanan_tambahan")
        else:
            row["bumil_kek_makanan_tambahan"] = value
        docs.append(doc)
    pairs = both(node, kec, ANALISIS, docs, ctx)
    assert_same(pairs)
    for expected, _ in pairs:
        assert "cakupan:bumil_kek_makanan_tambahan" not in [p["rule"] for p in expected]


def test_the_cycle_year_and_month_of_a_date(node, kec, ctx, analisis):
    docs = []
    for day in ("2027-01-10", "2027-02-10", "2026-01-10", "20270110", "2027-W02-3", "2027-13-01"):
        doc = copy.deepcopy(analisis)
        doc["pertemuan"]["tanggal_pelaksanaan"] = day
        docs.append(doc)
    pairs = both(node, kec, ANALISIS, docs, ctx)
    assert_same(pairs)
    broken = [[p["rule"] for p in expected if p["rule"] == "R-K1-14"] for expected, _ in pairs]
    assert broken == [[], ["R-K1-14"], ["R-K1-14"], [], [], []]
    message = [p for p in pairs[1][0] if p["rule"] == "R-K1-14"][0]["message"]
    assert message == ("Pertemuan terpadu: Tanggal pertemuan terpadu ('2027-02-10') harus pada "
                       "bulan Januari tahun siklus (paling lambat 15 Januari).")


def test_without_a_context_the_cycle_year_is_not_judged(node, kec, ctx, analisis):
    doc = copy.deepcopy(analisis)
    doc["pertemuan"]["tanggal_pelaksanaan"] = "2026-01-10"
    spec = rules_for_browser(kec, ANALISIS)
    got = rule_problems(browser(node, [(spec, doc)])[0])
    assert "R-K1-14" not in [p["rule"] for p in got]
    assert "R-K1-14" in [p["rule"] for p in rule_problems(server(kec, ANALISIS, doc, ctx))]


def test_total_is_koefisien_times_harga_satuan_and_the_evaluation_month(node, kec, ctx):
    form = "kec_penandaan_apbd_berjalan"
    base = sample_document(kec, form, ctx, rng=random.Random(3))
    rows = base["penandaan"]
    for r in rows:
        r["koefisien_volume"], r["harga_satuan"] = 12.5, 40_000
        r["total_belanja"] = 500_000
    docs = [copy.deepcopy(base)]
    off = copy.deepcopy(base)
    off["penandaan"][-1]["total_belanja"] = 500_002
    docs.append(off)
    fraction = copy.deepcopy(base)
    fraction["penandaan"][0].update(koefisien_volume=2.125, harga_satuan=1_000_001,
                                    total_belanja=1_234)
    docs.append(fraction)
    late = copy.deepcopy(base)
    late["evaluasi"]["tanggal_evaluasi"] = "2026-03-01"
    docs.append(late)
    pairs = both(node, kec, form, docs, ctx)
    assert_same(pairs)
    assert [p["rule"] for p in pairs[0][0]] == []
    (off_p,) = pairs[1][0]
    assert (off_p["rule"], off_p["section"], off_p["row"]) == ("R-T-01", "penandaan", len(rows))
    assert off_p["message"] == (
        f"Penandaan belanja/aktivitas baris {len(rows)}: Total belanja (500.002) tidak sama "
        "dengan koefisien/volume (12,5) × harga satuan (40.000); selisih lebih dari Rp1.")
    assert "koefisien/volume (2,12)" in pairs[2][0][0]["message"]  # half to even, as Python
    assert [(p["rule"], p["severity"]) for p in pairs[3][0]] == \
        [("R-K2-04-a", "warning"), ("R-K2-04-b", "warning")]


def test_a_rule_that_applies_when_another_field_says_so(node, kab):
    """R-B1-06-b: a target from the RKPD must be for the cycle year (only then)."""
    region = "19.01"
    rows = {f"{region}.0{i}": f"KECAMATAN {i}" for i in (1, 2)}
    ctx = context(kab, region, rows, "Kecamatan")
    form = "kab_analisis_situasi"
    base = sample_document(kab, form, ctx, rng=random.Random(5))
    docs = []
    for dokumen, tahun in (("rkpd", YEAR), ("rkpd", YEAR + 2), ("rpjmd", YEAR + 2),
                           (None, YEAR + 2)):
        doc = copy.deepcopy(base)
        row = {"target_prevalensi": 14.5, "tahun_target": tahun}
        if dokumen:
            row["dokumen"] = dokumen
        doc["target_prevalensi"] = [row]
        docs.append(doc)
    measured = copy.deepcopy(base)
    measured["pengukuran_balita"] = [
        {"kode_wilayah": f"{region}.01", "jumlah_balita_diukur": 300, "jumlah_balita_stunting": 45,
         "prevalensi_stunting": 15.2},
        {"kode_wilayah": f"{region}.02", "jumlah_balita_diukur": 0, "jumlah_balita_stunting": 0,
         "prevalensi_stunting": 3},
        {"kode_wilayah": f"{region}.02", "jumlah_balita_diukur": 7, "jumlah_balita_stunting": 9,
         "prevalensi_stunting": 128.57}]
    docs.append(measured)
    pairs = both(node, kab, form, docs, ctx)
    assert_same(pairs)
    when = [[p["rule"] for p in expected if p["rule"] == "R-B1-06-b"] for expected, _ in pairs[:4]]
    assert when == [[], ["R-B1-06-b"], [], []]
    (said,) = [p["message"] for p in pairs[1][0] if p["rule"] == "R-B1-06-b"]
    # (the server shows the year as any number, "2.029"; the browser follows it exactly)
    assert said.startswith("Bagian D — Target prevalensi stunting baris 1: Target prevalensi "
                           "dari RKPD harus untuk tahun siklus, bukan ")
    assert [(p["rule"], p["row"]) for p in pairs[4][0] if p["section"] == "pengukuran_balita"] == \
        [("R-B1-04-a", 3), ("R-B1-04-b", 1)]


def test_a_rule_across_sections(node, kec, ctx):
    form = "kec_berita_acara_pra_musrenbang"
    base = sample_document(kec, form, ctx, rng=random.Random(11))
    docs = []
    for meeting, musrenbang in (("2027-02-10", "2027-02-20"), ("2027-02-20", "2027-02-10"),
                                ("2027-02-20", None)):
        doc = copy.deepcopy(base)
        doc["pertemuan"]["tanggal_pelaksanaan"] = meeting
        if musrenbang is None:
            doc["berita_acara"].pop("tanggal_musrenbang_kecamatan", None)
        else:
            doc["berita_acara"]["tanggal_musrenbang_kecamatan"] = musrenbang
        docs.append(doc)
    pairs = both(node, kec, form, docs, ctx)
    assert_same(pairs)
    across = [[p for p in expected if set(p["fields"]) == {"tanggal_pelaksanaan",
                                                            "tanggal_musrenbang_kecamatan"}]
              for expected, _ in pairs]
    assert [len(a) for a in across] == [0, 1, 0]
    assert across[1][0]["message"] == (
        "Hasil pembahasan dan berita acara: Pra-musrenbang ('2027-02-20') harus sebelum "
        "Musrenbang Kecamatan ('2027-02-10').")


def test_rows_that_must_differ(node, kec, kab):
    """`unique` rules: a later row alike an earlier one (texts without case and extra
    spaces), named with the earlier row and the values as typed (an enum by its label, a
    year without a dot)."""
    region = "19.01"
    kab_ctx = context(kab, region, {f"{region}.01": "KECAMATAN 1"}, "Kecamatan")
    regulasi = sample_document(kab, "kab_regulasi", kab_ctx, rng=random.Random(2))
    row = {"jenis_dokumen": "peraturan_daerah", "nomor_regulasi": "12/2026",
           "tentang_regulasi": "Percepatan penurunan stunting", "tahun_regulasi": 2026}
    twice = copy.deepcopy(regulasi)
    twice["regulasi"] = [row, {**row, "nomor_regulasi": " 12/2026 "},
                         {**row, "tahun_regulasi": 2025}]
    pairs = both(node, kab, "kab_regulasi", [regulasi, twice], kab_ctx)
    assert_same(pairs)
    (same,) = [p for p in pairs[1][0] if p["rule"] == "R-G-03"]
    assert same["message"] == (
        "Daftar identifikasi regulasi baris 2: sama dengan baris 1 («Jenis Dokumen» "
        "'Peraturan daerah', «Nomor Regulasi» ' 12/2026 ', «Tahun Regulasi» 2026)")

    ctx = context(kec, KEC, DESA, "desa")
    form = "kec_penandaan_apbd_berjalan"
    base = sample_document(kec, form, ctx, rng=random.Random(3))
    doubled = copy.deepcopy(base)
    doubled["penandaan"].append(copy.deepcopy(doubled["penandaan"][0]))
    rencana = sample_document(kec, "kec_pra_musrenbang", ctx, rng=random.Random(4))
    ranks = copy.deepcopy(rencana)
    ranks["rencana"] = [dict(r, prioritas=1) for r in ranks["rencana"] * 2]
    assert_same(both(node, kec, form, [base, doubled], ctx))
    pairs = both(node, kec, "kec_pra_musrenbang", [rencana, ranks], ctx)
    assert_same(pairs)
    assert [p["rule"] for p in pairs[1][0] if p["rule"] == "R-K3-05"]


# -- every shipped form, sampled and broken at random ------------------------------------------

def _broken(doc: dict, rng: random.Random) -> dict:
    def mutate(v):
        if isinstance(v, bool):
            return rng.choice([v, not v, None, "ya"])
        if isinstance(v, (int, float)):
            return rng.choice([v, v * 3 + 1, -1, None, "abc", "12", 2.5, 0, v / 3, 0.125, 1e20,
                               True])
        if isinstance(v, str):
            try:
                dt.date.fromisoformat(v)
            except ValueError:
                return rng.choice([v, v, "rkpd", "", None, "L1", 5])
            return rng.choice([v, f"{YEAR - 1}-12-31", f"{YEAR}-13-01", f"{YEAR}0105",
                               f"{YEAR}-W01-1", "x" * 70, None, int(f"{YEAR}0301")])
        return v

    def walk(v):
        if isinstance(v, dict):
            for k in list(v):
                if isinstance(v[k], (dict, list)):
                    walk(v[k])
                elif rng.random() < 0.35:
                    v[k] = mutate(v[k])
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(doc)
    for value in doc.values():  # a row twice, its texts in other case and spacing
        if isinstance(value, list) and value and isinstance(value[0], dict) \
                and rng.random() < 0.5:
            value.append({k: f"  {v.upper()} " if isinstance(v, str) else v
                          for k, v in value[0].items()})
    return doc


REGIONS = {"kecamatan": (KEC, "desa", {f"{KEC}.{2000 + i}": f"DESA {i}" for i in (1, 2, 3)}),
           "kabkota": ("19.01", "Kecamatan", {f"19.01.0{i}": f"KECAMATAN {i}" for i in (1, 2, 3)}),
           "provinsi": ("19", "Kabupaten/Kota", {f"19.0{i}": f"KABUPATEN {i}" for i in (1, 2, 3)})}


def test_every_form_sampled_and_broken_says_the_same(node, defs):
    cases, expected = [], []
    for level, (region, kind, rows) in REGIONS.items():
        definition = defs[level]
        ctx = context(definition, region, rows, kind)
        for form in definition.forms:
            spec = rules_for_browser(definition, form, ctx)
            for seed in range(4):
                doc = sample_document(definition, form, ctx, rng=random.Random(seed))
                if seed:
                    doc = _broken(doc, random.Random(seed * 31 + len(form)))
                cases.append((spec, doc))
                expected.append(server(definition, form, doc, ctx))
    got = browser(node, cases)
    compared = 0
    for (spec, doc), want, have in zip(cases, expected, got):
        assert rule_problems(have) == rule_problems(want), spec["form"]
        compared += len(rule_problems(want))
        # the schema keywords the browser checks: only problems the server has too
        theirs = [json.dumps(p, sort_keys=True) for p in want if p["rule"] is None]
        for p in have:
            if p["rule"] is None:
                assert json.dumps(p, sort_keys=True) in theirs
    assert compared > 100  # the sweep compares real problems, not empty lists


def test_the_schema_keywords_of_an_input_in_the_servers_words(node, kec, ctx, analisis):
    doc = copy.deepcopy(analisis)
    row = doc["desa"][f"{KEC}.2001"]
    row["jumlah_penduduk"], row["jumlah_ibu_hamil"], row["jumlah_ibu_nifas"] = "banyak", -1, 2.5
    doc["pertemuan"]["jumlah_peserta"] = -3
    (got,) = browser(node, [(rules_for_browser(kec, ANALISIS, ctx), doc)])
    mine = sorted(p["message"] for p in got if p["rule"] is None)
    theirs = sorted(p["message"] for p in server(kec, ANALISIS, doc, ctx) if p["rule"] is None)
    assert mine == theirs
    assert f"Desa Air Anyir ({KEC}.2001): «Jumlah Penduduk»: harus bilangan bulat, bukan 'banyak'" \
        in mine


# -- the pieces ---------------------------------------------------------------------------------

def test_typed_values_read_as_the_pages_post_reads_them(node, kec):
    """The browser judges what a save would send: engine.web.form_entry.parse_value."""
    texts = ["1.234.567", "12,5", "1.234,75", "-7", "1.23", "12.", "12,", ",5", "1 234", "abc",
             "1.2.3", "0012", "+4", "1.234", "1.5", "Rp 2.500", "rp2.500", "12,0", "-1.234,5",
             "1.234.56", "0,125", "1e5", "1_000", "٣", "１２", " 7 ", "", "  ", ".5", "-",
             "1.000.000,00", "+1.234", "01.234", "ya", "Tidak", "benar", "2027-01-05"]
    analisis = spec_of(kec, ANALISIS)
    fields = [analisis.section("desa").field("jumlah_penduduk"),              # count
              kec_field(kec, "kec_analisis_situasi", "program", "volume"),     # number
              kec_field(kec, "kec_analisis_situasi", "program", "alokasi_anggaran"),  # rupiah
              analisis.section("pertemuan").field("tempat_pelaksanaan")]       # text
    yes_no = [f for _, f in spec_of(kec, "kec_hasil_monitoring").fields() if f.kind == "yes-no"]
    fields.append(yes_no[0])
    script = ("const R = require(process.argv[1]); const [fs, ts] = JSON.parse(process.argv[2]);"
              "console.log(JSON.stringify(fs.map(f => ts.map(t => R.valueOfText(f, t)))))")
    sent = [{"kind": f.kind} for f in fields]
    done = subprocess.run([node, "-e", script, str(STATIC / "rules.js"), json.dumps([sent, texts])],
                          capture_output=True, text=True, timeout=60, check=True)
    got = json.loads(done.stdout)
    assert got == [[parse_value(f, [t]) for t in texts] for f in fields]
    assert got[0][:2] == [1234567, 12.5] and got[0][4] == "1.23"


def kec_field(definition, form, section, name):
    return spec_of(definition, form).section(section).field(name)


def test_values_are_shown_as_the_server_shows_them(node):
    from engine.forms.validate import _shown
    values = [0, 7, 1234567, -1234, 2.5, 1234.5, 0.125, 0.375, 2.675, 1.005, 0.001, -0.004,
              99.995, 1e20, 1e22, 12.0, True, False, None, "teks", "x" * 70, ["a", "b"],
              {"a": 1}, "ÿ" * 61]
    script = ("const R = require(process.argv[1]);"
              "console.log(JSON.stringify(JSON.parse(process.argv[2]).map(R.shown)))")
    done = subprocess.run([node, "-e", script, str(STATIC / "rules.js"), json.dumps(values)],
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == [_shown(v) for v in values]


def test_the_spec_is_json_cached_and_carries_the_context(kec, ctx):
    spec = rules_for_browser(kec, ANALISIS, ctx)
    assert json.loads(json.dumps(spec)) == spec
    again = rules_for_browser(kec, ANALISIS, ctx)
    assert again["rules"] is spec["rules"] and again["sections"] is spec["sections"]
    assert spec["year"] == YEAR
    assert spec["rows"] == {code: region_label(code, name, "desa") for code, name in DESA.items()}
    rules = rules_of(kec, ANALISIS)
    cov = rules.coverage[0]
    sent = next(r for r in spec["rules"] if r["id"] == f"cakupan:{cov.name}")
    assert sent["logic"] == coverage_rule(cov).check
    assert sent["fields"] == sorted(coverage_rule(cov).fields)
    desa = next(s for s in spec["sections"] if s["name"] == "desa")
    assert desa["fields"]["jumlah_penduduk"]["type"] == "integer"
    assert desa["fields"]["jumlah_penduduk"]["minimum"] == 0
    assert rules_for_browser(kec, ANALISIS)["rows"] == {}


def test_the_vendored_json_logic_is_the_npm_release():
    readme = (STATIC / "vendor" / "README.md").read_text()
    vendored = STATIC / "vendor" / "json-logic-js"
    digest = hashlib.sha256((vendored / "logic.js").read_bytes()).hexdigest()
    assert "json-logic-js 2.0.5" in readme and digest in readme
    assert (vendored / "LICENSE").read_text().startswith("The MIT License")


def test_json_logic_alone_would_judge_an_empty_field_and_rules_js_does_not(node):
    """Why rules.js registers the engine's operators: json-logic-js reads a missing var as
    null, and null <= 4 is true, "9" == 9 is true; the engine judges neither."""
    script = """
const logic = require(process.argv[1]);
const raw = [logic.apply({"<=": [{"var": "a"}, {"var": "b"}]}, {"b": 4}),
             logic.apply({"==": [{"var": "a"}, 9]}, {"a": "9"})];
const R = require(process.argv[2]);
const spec = {form: "f", title: "F", year: null, rows: {}, sections: [
  {name: "s", title: "S", kind: "fields", fields: {
    a: {name: "a", label: "«A»", kind: "any", computed: false},
    b: {name: "b", label: "«B»", kind: "any", computed: false}}}],
  rules: [{id: "r1", severity: "error", section: "s", logic: {">": [{"var": "a"}, {"var": "b"}]},
           fields: ["a", "b"], reads: ["a", "b"], sections: ["s"], message: null},
          {id: "r2", severity: "error", section: "s", logic: {"!=": [{"var": "a"}, 9]},
           fields: ["a"], reads: ["a"], sections: ["s"], message: null}]};
const judged = [R.check(spec, {s: {b: 4}}).map(p => p.rule),
                R.check(spec, {s: {a: "9", b: 4}}).map(p => p.rule)];
console.log(JSON.stringify({raw, judged}));
"""
    logic = STATIC / "vendor" / "json-logic-js" / "logic.js"
    done = subprocess.run([node, "-e", script, str(logic), str(STATIC / "rules.js")],
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == {"raw": [True, True], "judged": [[], []]}


# -- schema keywords judged in the browser too: enum, const, if/then of a row ---------------------

def schema_problems(problems: list[dict]) -> list[str]:
    return sorted(json.dumps(p, sort_keys=True, ensure_ascii=False) for p in problems
                  if p["rule"] is None)


def test_a_choice_the_form_does_not_know_and_the_then_of_a_rows_if(node, kec, ctx):
    """A value outside a field's ``enum`` and a row meeting an ``if`` of its schema (an
    indicator of the mothers' group) whose ``then`` wants another value (the target
    group): the browser finds exactly the server's problems, in its words. As the draft
    check reads it, an ``if`` keeps its ``required``: a row without the indicator meets
    none, and is told nothing about its group."""
    form = "kec_penandaan_apbd_berjalan"
    base = sample_document(kec, form, ctx, rng=random.Random(3))
    row = base["penandaan"][0]
    cases = []
    for indikator, kelompok in (("L1", "ibu_hamil_nifas_menyusui"), ("L1", "anak_0_23_bulan"),
                                ("L7", "anak_0_23_bulan"), ("L7", "bukan_pilihan"),
                                ("L99", "anak_0_23_bulan"), (None, "anak_0_23_bulan")):
        doc = copy.deepcopy(base)
        changed = dict(row, kelompok_sasaran=kelompok)
        if indikator is None:
            changed.pop("indikator_layanan", None)
        else:
            changed["indikator_layanan"] = indikator
        doc["penandaan"][0] = changed
        cases.append(doc)
    spec = rules_for_browser(kec, form, ctx)
    got = browser(node, [(spec, d) for d in cases])
    want = [server(kec, form, d, ctx) for d in cases]
    for have, expected in zip(got, want):
        assert schema_problems(have) == schema_problems(expected)
    said = [[p["message"] for p in expected if p["rule"] is None and p["row"] == 1]
            for expected in want]
    assert said[0] == []
    head = "Penandaan belanja/aktivitas baris 1: «Kelompok sasaran»: "
    assert said[1] == [head + "harus 'ibu_hamil_nifas_menyusui'"]
    assert said[2] == []
    assert head + "pilihan 'bukan_pilihan' tidak dikenal" in said[3]
    assert any("«Indikator layanan»: pilihan 'L99' tidak dikenal" in m for m in said[4])
    assert said[5] == []  # no indicator: no if holds (its required is kept), no then binds


def test_the_spec_carries_enum_const_and_the_simple_conditions(kec, kab):
    spec = rules_for_browser(kec, "kec_penandaan_apbd_berjalan")
    section = next(s for s in spec["sections"] if s["name"] == "penandaan")
    assert section["fields"]["kelompok_sasaran"]["enum"]
    conditions = section["conditions"]
    assert len(conditions) == 6
    assert all(c["if"].get("required") for c in conditions)  # a condition is kept whole
    assert all("required" not in c["then"] for c in conditions)  # a draft need not be complete
    assert conditions[0]["then"] == {"properties": {"kelompok_sasaran": {
        "const": "ibu_hamil_nifas_menyusui"}}}


# -- year over year: last year's approved value of the same desa ----------------------------------

def test_a_jump_from_last_year_is_the_servers_warning(node, kec, ctx, analisis):
    """Values far from last year's (beyond the form's factor, up or down), exact ties of
    the ratio's rounding (13 against 4 is "3,2" in Python, toFixed says 3.3), a last year
    of 0, a text, a float, a desa last year did not have: the same warnings, same words."""
    code, other = f"{KEC}.2001", f"{KEC}.1002"
    before = copy.deepcopy(analisis)
    now = copy.deepcopy(analisis)
    row, last = now["desa"][code], before["desa"][code]
    last.update(jumlah_penduduk=4, jumlah_ibu_hamil=4, jumlah_ibu_nifas=0, jumlah_anak_0_5_bulan=8,
                jumlah_anak_6_23_bulan=10, jumlah_anak_24_59_bulan=2.5)
    row.update(jumlah_penduduk=13, jumlah_ibu_hamil=1, jumlah_ibu_nifas=50,
               jumlah_anak_0_5_bulan=24, jumlah_anak_6_23_bulan="banyak",
               jumlah_anak_24_59_bulan=7.6)
    before["desa"].pop(other)
    now["desa"][other]["jumlah_penduduk"] = 10 ** 6
    docs = [(now, before), (analisis, analisis), (now, None)]
    spec = rules_for_browser(kec, ANALISIS, ctx)
    got = browser(node, [(spec, d, p) for d, p in docs])
    want = [server(kec, ANALISIS, d, dataclasses.replace(ctx, previous=p)) for d, p in docs]
    for have, expected in zip(got, want):
        assert rule_problems(have) == rule_problems(expected)
    jumps = [p for p in want[0] if p["rule"] == "tahun-ke-tahun"]
    assert [(p["row"], p["fields"]) for p in jumps] == [
        (code, ["jumlah_penduduk"]), (code, ["jumlah_ibu_hamil"]),
        (code, ["jumlah_anak_24_59_bulan"])]
    assert jumps[0]["severity"] == "warning"
    assert jumps[0]["message"] == (f"Desa Air Anyir ({code}): «Jumlah Penduduk» 13, tahun lalu 4 "
                                   "(3,2× tahun lalu); periksa kembali")
    assert "(0,2× tahun lalu)" in jumps[1]["message"]  # 0.25: half to even, as Python
    assert "7,6, tahun lalu 2,5 (3,0× tahun lalu)" in jumps[2]["message"]
    assert not [p for p in want[1] + want[2] if p["rule"] == "tahun-ke-tahun"]


def test_the_semester_forms_sampled_against_last_year_say_the_same(node, kec, ctx):
    cases, expected = [], []
    for form in ("kec_analisis_situasi", "kec_capaian_semester_1", "kec_capaian_semester_2"):
        spec = rules_for_browser(kec, form, ctx)
        assert spec["year_over_year"]
        for seed in range(3):
            doc = _broken(sample_document(kec, form, ctx, rng=random.Random(seed)),
                          random.Random(seed + 5))
            last = sample_document(kec, form, ctx, rng=random.Random(seed + 40))
            for values in last.get("desa", {}).values():  # some values a third or a quarter
                for k, v in list(values.items()):
                    if isinstance(v, int) and not isinstance(v, bool) and seed % 2:
                        values[k] = v // 4 + 1
            cases.append((spec, doc, last))
            expected.append(server(kec, form, doc, dataclasses.replace(ctx, previous=last)))
    got = browser(node, cases)
    said = 0
    for have, want in zip(got, expected):
        assert rule_problems(have) == rule_problems(want)
        said += sum(p["rule"] == "tahun-ke-tahun" for p in want)
    assert said > 5
