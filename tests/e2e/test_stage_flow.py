"""The kecamatan analysis from typing to the kabupaten, in a real browser (issue 9).

Debian's chromium driven by Playwright, at 1280 px, against the Flask app served in this
process on a loopback port with the clock pinned at 5 January 2026, 10:00 WIB (the
analysis open, due 15 January). The store is prepared through the engine (see
flow_support.py): Kabupaten Belitung, every kecamatan but Selat Nasik approved, Selat
Nasik saved but for two desa. Then, in the browser:

1. the Puskesmas operator types the two desa, sees a served > targeted error next to the
   cell before saving, fixes it and saves a draft;
2. the Setcam operator types the Setcam fields and saves and submits; the PLKB operator
   downloads the XLSX template, fills it (openpyxl), uploads it and submits; the Puskesmas
   operator submits;
3. the Setcam and Puskesmas verifikators verify; the PLKB verifikator returns the PLKB part
   with a reason and a marked cell; the PLKB operator sees the reason and the mark, fixes
   the value and resubmits; the PLKB verifikator sees the change and verifies;
4. the Camat approves and downloads the PDF; the kabupaten's analysis is open and its row
   for Selat Nasik shows the sums of the desa values saved (counted here).

The task list, the operator's stage page and the verifikator's review panel are checked at
390 px too. Every page checked: no wider than the window, no raw lifecycle state or trigger
id in its visible text, a full-page screenshot kept (``$AKSI_TEST_ARTIFACTS/stage_flow``,
else the test's tmp dir). Runs on every database backend (`db` fixture) when
``AKSI_TEST_BROWSER`` names the browser; then a missing browser fails the test.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import time_machine
from pypdf import PdfReader

from playwright.sync_api import expect

from chromium import needs_browser, served
from engine.forms.parts import parts_of
from engine.definitions.forms.rules import rules_of
from engine.runtime import find_task
from engine.web import create_app
from forms.walk import person
from runtime.conftest import juknis_defs  # noqa: F401

from .flow_support import (FORM, KAB, KAB_FORM, KAB_SECTION, KAB_UNIT, KEC, NOW, PASSWORD,
                           SECTION, STAGE, YEAR, Pages, artifacts_dir, cell, number_of,
                           prepare, raw_ids, shown, sums, unit_fields)

pytestmark = needs_browser
WIDE, NARROW = 1280, 390
STAGE_PATH = f"/tugas/{YEAR}/{KEC}/{STAGE}"
KAB_PATH = f"/tugas/{YEAR}/{KAB}/{STAGE}"
RETURN_REASON = "Jumlah calon pengantin desa ini tidak sesuai register KUA; mohon dicek"


@pytest.fixture
def site(db, juknis_defs, tmp_path, monkeypatch):  # noqa: F811
    """The prepared store served at a loopback URL, the clock pinned for the whole test
    (tests and server share this process, so the pin is the server's clock too; Playwright
    waits on the monotonic clock, which the pin leaves alone)."""
    monkeypatch.setenv("AKSI_FILES", str(tmp_path / "berkas"))
    with time_machine.travel(NOW, tick=False):
        scenario = prepare(db, juknis_defs)
        app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "e2e-flow-" + "k" * 40})
        try:
            with served(app) as base:
                yield base, scenario, app.extensions["aksi.db"]
        finally:
            app.extensions["aksi.db"].dispose()


@pytest.fixture
def pages(request, tmp_path_factory, juknis_defs):  # noqa: F811
    backend = request.node.callspec.params.get("db_url", "sqlite")
    return Pages(artifacts_dir(tmp_path_factory, backend), raw_ids(juknis_defs["kecamatan"]))


class Person:
    """One signed-in person in their own browser context (cookies of their own)."""

    def __init__(self, browser, base: str, username: str, width: int = WIDE):
        self.username = username
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           locale="id-ID", timezone_id="Asia/Jakarta",
                                           accept_downloads=True)
        self.context.set_default_timeout(30_000)  # a loaded machine; nothing waits on it
        self.page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.accept())  # approve asks first
        self.base = base
        self.page.goto(f"{base}/masuk")
        self.page.get_by_label("Nama pengguna").fill(username)
        self.page.get_by_label("Kata sandi").fill(PASSWORD)
        self.page.get_by_role("button", name="Masuk").click()
        assert "/masuk" not in self.page.url, f"{username} could not sign in"

    def open(self, path: str):
        answer = self.page.goto(self.base + path)
        assert answer.status == 200, f"{path}: HTTP {answer.status}"
        return self.page

    def state(self, name: str) -> None:
        """The stage's state shown is ``name`` (waits for the page after a post)."""
        expect(self.page.locator("dd.state")).to_have_text(name)

    def said(self, text: str) -> None:
        """The page's message (after a post) says ``text`` (waits for the new page)."""
        expect(self.page.get_by_role("status").first).to_contain_text(text)

    def close(self) -> None:
        self.context.close()


def _part_state(db, unit: str) -> tuple[str, dict]:
    with db.session() as s:
        part = parts_of(s, find_task(s, KEC, STAGE, YEAR).id)[unit]
        return part.state, part.data.get(FORM, {}).get(SECTION, {})


def _type_unit(page, definitions, scenario, unit: str) -> None:
    """Type ``unit``'s fields of the two desa as a person would (Indonesian numbers)."""
    for code in scenario.typed:
        row = scenario.doc[SECTION][code]
        for f in unit_fields(definitions, unit):
            if f.name not in row:
                continue
            box = page.locator(f'[name="{cell(code, f.name)}"]')
            if f.kind == "yes-no":
                box.select_option(shown(row[f.name]))
            else:
                box.fill(shown(row[f.name]))


def _fill_template(content: bytes, definitions, scenario, unit: str) -> bytes:
    """The downloaded template with ``unit``'s values of the two desa written in, as a
    person fills it in a spreadsheet program (columns found by their field titles)."""
    from openpyxl import load_workbook

    fields = {f.title: f for f in unit_fields(definitions, unit)}
    wb = load_workbook(io.BytesIO(content))
    written = 0
    for ws in wb.worksheets:
        if ws.sheet_state != "visible" or ws.max_row < 4:
            continue
        columns = {c: fields[ws.cell(2, c).value] for c in range(3, ws.max_column + 1)
                   if ws.cell(2, c).value in fields}
        for r in range(4, ws.max_row + 1):
            code = ws.cell(r, 1).value
            if code in scenario.typed:
                for c, f in columns.items():
                    ws.cell(r, c).value = scenario.doc[SECTION][code][f.name]
                    written += 1
    assert written == len(scenario.typed) * len(fields), f"{written} cells written"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_kecamatan_analysis_from_typing_to_the_kabupaten(site, browser, pages,  # noqa: F811
                                                             juknis_defs):
    base, scenario, db = site
    d1, d2 = scenario.typed
    name1 = scenario.desa_names[d1]

    # -- 1. Puskesmas: a served > targeted error at the cell before saving, fixed, a draft --
    pusk = Person(browser, base, person("operator", KEC, "Puskesmas"))
    page = pusk.open("/tugas")
    pages.check(page, "tugas-operator")
    page.get_by_role("row").filter(has_text=KEC).get_by_role(
        "link", name="Analisis Situasi", exact=True).click()
    page.wait_for_url(f"**{STAGE_PATH}")
    pusk.state("Siap diisi")
    pages.check(page, "tahap-operator-puskesmas")
    served, targeted = "bumil_kek_makanan_tambahan", "jumlah_ibu_hamil_kek"
    right = scenario.doc[SECTION][d1][served]
    page.locator(f'[name="{cell(d1, targeted)}"]').fill(shown(scenario.doc[SECTION][d1][targeted]))
    too_many = scenario.doc[SECTION][d1][targeted] + 5
    page.locator(f'[name="{cell(d1, served)}"]').fill(shown(too_many))
    problem = page.locator(f'[data-problems-for="{cell(d1, served)}"]')
    expect(problem).to_contain_text("melebihi")
    expect(problem).to_be_visible()
    said = problem.inner_text()
    assert name1 in said and shown(too_many) in said, said
    assert _part_state(db, "Puskesmas")[1].get(d1) is None  # nothing saved yet
    pages.check(page, "tahap-puskesmas-kesalahan")
    page.locator(f'[name="{cell(d1, served)}"]').fill(shown(right))
    expect(problem).to_have_text("")
    _type_unit(page, juknis_defs, scenario, "Puskesmas")
    page.get_by_role("button", name="Simpan draf").click()
    pusk.said("Draf tersimpan")
    state, rows = _part_state(db, "Puskesmas")
    assert state == "ready" and rows[d1][served] == right
    assert dict(rows[d2]) == {
        f.name: scenario.doc[SECTION][d2][f.name]
        for f in unit_fields(juknis_defs, "Puskesmas") if f.name in scenario.doc[SECTION][d2]}

    # The same person at a phone's width: task list and stage page.
    phone = Person(browser, base, pusk.username, NARROW)
    pages.check(phone.open("/tugas"), "tugas-operator")
    pages.check(phone.open(STAGE_PATH), "tahap-operator-puskesmas")
    phone.close()

    # -- 2. Setcam types and submits; PLKB imports the XLSX template and submits ---------------
    narrow = Person(browser, base, person("operator", KEC, "Setcam"), NARROW)
    pages.check(narrow.open(STAGE_PATH), "tahap-operator-setcam")  # its rows are editable
    narrow.close()
    setcam = Person(browser, base, person("operator", KEC, "Setcam"))
    page = setcam.open(STAGE_PATH)
    pages.check(page, "tahap-operator-setcam")
    _type_unit(page, juknis_defs, scenario, "Setcam")
    page.get_by_role("button", name="Simpan & kirim").click()
    setcam.said("Tersimpan dan terkirim")
    assert _part_state(db, "Setcam")[0] == "submitted"
    pages.check(page, "tahap-setcam-terkirim")
    setcam.close()

    plkb = Person(browser, base, person("operator", KEC, "PLKB"))
    page = plkb.open(STAGE_PATH)
    with page.expect_download() as got:
        page.get_by_role("link", name="Unduh templat Excel").click()
    template = Path(got.value.path()).read_bytes()
    assert template[:4] == b"PK\x03\x04" and got.value.suggested_filename.endswith(".xlsx")
    filled = _fill_template(template, juknis_defs, scenario, "PLKB")
    page.locator('input[name="berkas"]').set_input_files(
        files=[{"name": "analisis-plkb.xlsx", "buffer": filled,
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    page.get_by_role("button", name="Unggah dan impor").click()
    plkb.said("diimpor")
    for f in unit_fields(juknis_defs, "PLKB"):
        assert page.locator(f'[name="{cell(d2, f.name)}"]').input_value() == shown(
            scenario.doc[SECTION][d2][f.name]), f.name
    pages.check(page, "tahap-plkb-impor")
    page.get_by_role("button", name="Simpan & kirim").click()
    plkb.said("Tersimpan dan terkirim")

    page = pusk.open(STAGE_PATH)
    page.get_by_role("button", name="Simpan & kirim").click()
    pusk.said("Tersimpan dan terkirim")
    pusk.state("Menunggu verifikasi")
    pusk.close()

    # -- 3. verification: two verify, PLKB's verifikator returns with a reason and a cell --------
    for unit in ("Setcam", "Puskesmas"):
        checker = Person(browser, base, person("verifikator", KEC, unit))
        page = checker.open(STAGE_PATH)
        page.locator("form.act").get_by_role("button", name="Verifikasi").click()
        checker.said("Berhasil")
        assert _part_state(db, unit)[0] == "verified"
        checker.close()

    narrow = Person(browser, base, person("verifikator", KEC, "PLKB"), NARROW)
    pages.check(narrow.open(STAGE_PATH), "tinjauan-verifikator")
    narrow.close()
    checker = Person(browser, base, person("verifikator", KEC, "PLKB"))
    page = checker.open(STAGE_PATH)
    pages.check(page, "tinjauan-verifikator")
    sending = page.locator("form.send-back")
    sending.get_by_label("Alasan (wajib)").fill(RETURN_REASON)
    sending.locator("details.pick-more summary").click()
    sending.locator('select[name="baris"]').select_option(d2)
    marked = "jumlah_calon_pengantin"
    sending.locator('select[name="isian"]').select_option(f"{FORM}/{SECTION}/{marked}")
    sending.get_by_role("button", name="Kembalikan").click()
    checker.state("Dikembalikan")
    assert _part_state(db, "PLKB")[0] == "returned"

    # The operator sees the reason (in the task list too) and the marked cell, fixes the
    # value and resubmits.
    page = plkb.open("/tugas")
    expect(page.get_by_role("row").filter(has_text=KEC).filter(
        has_text="Analisis Situasi")).to_contain_text(RETURN_REASON)
    page = plkb.open(STAGE_PATH)
    banner = page.locator("[data-returned]")
    assert RETURN_REASON in banner.inner_text()
    assert banner.locator(f'[data-cell-ref="{cell(d2, marked)}"]').count() == 1
    assert "returned" in (page.locator(f'td[data-cell="{cell(d2, marked)}"]')
                          .get_attribute("class") or "")
    pages.check(page, "tahap-plkb-dikembalikan")
    fixed = scenario.doc[SECTION][d2][marked] + 1
    scenario.doc[SECTION][d2][marked] = fixed
    page.locator(f'[name="{cell(d2, marked)}"]').fill(shown(fixed))
    page.get_by_role("button", name="Simpan & kirim").click()
    plkb.said("Tersimpan dan terkirim")
    plkb.close()

    page = checker.open(STAGE_PATH)
    change = page.locator(f'tr[data-cell-ref="{cell(d2, marked)}"]')
    assert change.locator("td.after").inner_text() == shown(fixed)
    page.locator("form.act").get_by_role("button", name="Verifikasi").click()
    checker.state("Menunggu persetujuan")
    checker.close()

    # -- 4. the Camat approves; the PDF; the kabupaten's analysis opens with the sums ----------
    camat = Person(browser, base, person("approver", KEC))
    page = camat.open(STAGE_PATH)
    pages.check(page, "tahap-camat")
    page.locator("form.act").get_by_role("button", name="Setujui").click()
    camat.state("Disetujui")
    with page.expect_download() as got:
        page.get_by_role("link", name="Unduh PDF").first.click()
    pdf = Path(got.value.path()).read_bytes()
    assert pdf[:5] == b"%PDF-"
    printed = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert name1 in printed and "Selat Nasik" in printed
    pages.check(page, "tahap-disetujui")
    camat.close()

    bappeda = Person(browser, base, person("operator", KAB, KAB_UNIT))
    page = bappeda.open(KAB_PATH)
    bappeda.state("Siap diisi")
    pages.check(page, "tahap-kabupaten")
    summed = rules_of(juknis_defs["kabkota"], KAB_FORM).rollup[0].sum
    want = sums(list(scenario.doc[SECTION].values()), summed)
    got_sums = {}
    for name in summed:
        where = page.locator(f'td[data-cell="{cell(KEC, name, KAB_FORM, KAB_SECTION)}"]')
        got_sums[name] = number_of(where.inner_text().split("\n")[0])
    assert got_sums == want
    # The other kecamatan are rolled up too (their approved data, counted here).
    other, doc = next(iter(scenario.others.items()))
    where = page.locator(f'td[data-cell="{cell(other, "jumlah_penduduk", KAB_FORM, KAB_SECTION)}"]')
    assert number_of(where.inner_text().split("\n")[0]) == sums(
        list(doc[SECTION].values()), ["jumlah_penduduk"])["jumlah_penduduk"]
    bappeda.close()

    # Every page checked fits its window and speaks in names (screenshots: pages.directory).
    assert not pages.problems, "\n".join(pages.problems)
