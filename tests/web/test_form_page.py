"""The form on the stage page, through the Flask test client on the shipped definitions:
every form renders for its stage (editable and read-only) and saves back unchanged, a
save round trip with Indonesian numbers and repeating rows, refusals that keep what was
typed and change nothing, ownership and CSRF on the page's POST, uploads judged by their
content, last year's values beside this year's."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
import time_machine
from flask import render_template
from markupsafe import escape
from sqlalchemy import update

from chromium import needs_browser, served
from engine.errors import InvalidForm
from engine.definitions.forms.spec import spec_of
from engine.forms.entry import context_for, stage_documents
from engine.forms.sample import sample_document
from engine.runtime import find_task, save_on, start_year
from engine.store.library import pinned
from engine.store.models import Task
from engine.web import create_app
from engine.web.form_entry import parse_number
from forms.walk import _all_computed, fill_and_approve, owned, person
from runtime.conftest import juknis_defs, regions  # noqa: F401

from .form_page_support import (add_people, assert_unique_ids, attachment_uses, browser_page,
                                 cell_html, page_form, parts, signed_in, stage_state)

NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.timezone.utc)
YEAR, PROV, KAB, KEC = 2026, "19", "19.01", "19.01.01"
D1 = f"{KEC}.1001"
FORM = "kec_analisis_situasi"
PAGE = f"/tugas/{YEAR}/{KEC}/analisis_situasi"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def app(regions, juknis_defs, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AKSI_FILES", str(tmp_path / "berkas"))
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province=PROV, now=NOW)
        for region in (PROV, KAB, KEC):
            add_people(s, juknis_defs, region)
    app = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


def _open_every_stage(app, region: str) -> None:
    """Every stage of ``region`` in the state data is entered in (the tests render the
    forms of stages that open later in the year)."""
    with app.extensions["aksi.db"].session() as s:
        s.execute(update(Task).where(Task.region_code == region, Task.year == YEAR)
                  .values(state="ready"))


def _fill(app, region: str, stage: str, seed: int = 1) -> None:
    """A plausible sample of the stage's documents, saved unit by unit."""
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, region, stage, YEAR)
        definition = pinned(s, task.definition_hash)
        ctx = context_for(s, definition, task)
        docs = {form: sample_document(definition, form, ctx, rng=random.Random(seed))
                for form in definition.stage(stage).outputs}
    for unit in definition.stage(stage).parts or (None,):
        data = {form: owned(definition, form, doc, unit) if unit else
                {k: v for k, v in doc.items() if not _all_computed(definition, form, k)}
                for form, doc in docs.items()}
        data = {f: d for f, d in data.items() if d}
        if data:
            with app.extensions["aksi.db"].session() as s:
                save_on(s, region, stage, YEAR, person("operator", region, unit), data, now=NOW)


def _documents(app, region: str, stage: str) -> dict:
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, region, stage, YEAR)
        return _as_sets(stage_documents(s, pinned(s, task.definition_hash), task))


def _as_sets(value):
    """Choices of a multi field compared as the set they are (checkboxes post them in the
    order of the choices)."""
    if isinstance(value, dict):
        return {k: _as_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_as_sets(v) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    return value


def _post(client, url: str, fields: dict, **extra):
    return client.post(f"{url}/isian", data={**fields, **extra})


# -- every form -------------------------------------------------------------------------------

@pytest.mark.parametrize("region", [KEC, KAB, PROV])
def test_every_form_renders_editable_and_read_only_and_saves_back_unchanged(app, juknis_defs,
                                                                             region):
    definition = juknis_defs.by_tier(region.count(".") + 1)
    _open_every_stage(app, region)
    approver = signed_in(app, person("approver", region))
    for stage in definition.stages:
        _fill(app, region, stage.id)
        before = _documents(app, region, stage.id)
        url = f"/tugas/{YEAR}/{region}/{stage.id}"
        for unit in stage.parts or (None,):
            client = signed_in(app, person("operator", region, unit))
            page = client.get(url)
            assert page.status_code == 200, (stage.id, unit)
            text = page.get_data(as_text=True)
            assert "Simpan draf" in text and "Simpan &amp; kirim" in text
            assert_unique_ids(text)
            for form in stage.outputs:
                assert f'data-form="{form}"' in text
                for section in spec_of(definition, form).sections:
                    assert section.title.replace("&", "&amp;") in text, (form, section.name)
            mine = {k for k in page_form(text) if k.count("/") == 3}
            owned_forms = {k.split("/")[0] for k in mine}
            assert owned_forms, (stage.id, unit)
            if unit:  # only the unit's own fields are inputs
                for key in mine:
                    form, section, _, field = key.split("/")
                    assert spec_of(definition, form).section(section).field(field).unit == unit
            answer = _post(client, url, page_form(text), aksi="simpan")
            assert answer.status_code == 302, (stage.id, unit, answer.get_data(as_text=True)[:3000])
        assert _documents(app, region, stage.id) == before, stage.id
        shown = approver.get(url).get_data(as_text=True)
        assert 'value="simpan"' not in shown and "data-aksi-form" not in shown
        for form in stage.outputs:
            assert f'data-form="{form}"' in shown and f'name="{form}/' not in shown


# -- saving through the page ------------------------------------------------------------------

def test_a_draft_round_trip_reads_indonesian_numbers_and_keeps_the_rest(app):
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_hamil"] = ["1.234"]
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_nifas"] = [" 17 "]
    answer = _post(client, PAGE, fields, aksi="simpan")
    assert answer.status_code == 302
    saved = parts(app, KEC, "analisis_situasi", YEAR)["Puskesmas"]
    assert saved[0] == 1
    assert saved[2][FORM]["desa"][D1] == {"jumlah_ibu_hamil": 1234, "jumlah_ibu_nifas": 17}
    page = client.get(PAGE).get_data(as_text=True)
    assert "Draf tersimpan" in page
    assert 'value="1.234"' in cell_html(page, f"{FORM}/desa/{D1}/jumlah_ibu_hamil")
    # Emptying a cell removes its value; the column total follows the stored values.
    fields = page_form(page)
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_nifas"] = [""]
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 302
    assert parts(app, KEC, "analisis_situasi", YEAR)["Puskesmas"][2][FORM]["desa"][D1] == {
        "jumlah_ibu_hamil": 1234}
    page = client.get(PAGE).get_data(as_text=True)
    assert f'data-total="{FORM}/desa/jumlah_ibu_hamil">1.234<' in page


def test_repeating_rows_are_added_and_removed(app):
    client = signed_in(app, person("operator", KEC, "Setcam"))
    page = client.get(PAGE).get_data(as_text=True)
    fields = page_form(page)
    assert f"{FORM}/usulan" in fields  # the marker: this section's rows are on the page
    blank = sorted({k.split("/")[2] for k in fields if k.startswith(f"{FORM}/usulan/")})
    assert blank == ["1"]  # no rows yet: one empty row to fill
    usulan = spec_of(_definition(app), FORM).section("usulan")
    text_field = next(f for f in usulan.fields if f.kind == "text")
    fields[f"{FORM}/usulan/1/{text_field.name}"] = ["Posyandu keliling"]
    fields[f"{FORM}/usulan/2/{text_field.name}"] = ["Kelas ibu hamil"]  # added by the script
    fields[f"{FORM}/usulan/3/{text_field.name}"] = [""]  # an empty row is not kept
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 302
    rows = parts(app, KEC, "analisis_situasi", YEAR)["Setcam"][2][FORM]["usulan"]
    assert [r[text_field.name] for r in rows] == ["Posyandu keliling", "Kelas ibu hamil"]
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields["hapus"] = [f"{FORM}/usulan/1"]
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 302
    rows = parts(app, KEC, "analisis_situasi", YEAR)["Setcam"][2][FORM]["usulan"]
    assert [r[text_field.name] for r in rows] == ["Kelas ibu hamil"]


def _definition(app):
    with app.extensions["aksi.db"].session() as s:
        return pinned(s, find_task(s, KEC, "analisis_situasi", YEAR).definition_hash)


def test_a_wrong_type_is_refused_with_the_typed_value_kept_and_nothing_saved(app):
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_hamil"] = ["12a"]
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_nifas"] = ["1.5"]  # a dot groups thousands
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_hamil_kek"] = ["4"]
    answer = _post(client, PAGE, fields, aksi="simpan")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "Tidak ada yang disimpan" in text
    cell = cell_html(text, f"{FORM}/desa/{D1}/jumlah_ibu_hamil")
    assert 'value="12a"' in cell and 'aria-invalid="true"' in cell
    assert "«Jumlah Ibu Hamil»: harus bilangan bulat, bukan &#39;12a&#39;" in cell
    assert 'value="1.5"' in cell_html(text, f"{FORM}/desa/{D1}/jumlah_ibu_nifas")
    assert 'value="4"' in cell_html(text, f"{FORM}/desa/{D1}/jumlah_ibu_hamil_kek")
    assert f'href="#{FORM}/desa/{D1}/jumlah_ibu_hamil"' in text  # the summary links the cell
    assert_unique_ids(text)
    assert parts(app, KEC, "analisis_situasi", YEAR) == {}


def test_served_above_targeted_is_saved_as_a_draft_but_refused_on_submit(app):
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_hamil_kek"] = ["4"]
    fields[f"{FORM}/desa/{D1}/bumil_kek_makanan_tambahan"] = ["9"]
    before = stage_state(app, KEC, "analisis_situasi", YEAR)
    refused = _post(client, PAGE, fields, aksi="kirim")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "bagian unit Puskesmas belum valid" in text
    cell = cell_html(text, f"{FORM}/desa/{D1}/bumil_kek_makanan_tambahan")
    assert 'value="9"' in cell and "melebihi «Jumlah Ibu Hamil KEK» (4)" in cell
    assert stage_state(app, KEC, "analisis_situasi", YEAR) == before
    assert parts(app, KEC, "analisis_situasi", YEAR) == {}
    # As a draft the same values are kept, and the page shows the problem at the cell.
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "melebihi «Jumlah Ibu Hamil KEK» (4)" in cell_html(
        page, f"{FORM}/desa/{D1}/bumil_kek_makanan_tambahan")


def test_a_save_over_somebody_elses_newer_version_is_a_conflict(app):
    url = f"/tugas/{YEAR}/{KEC}/penandaan_apbd_berjalan"  # one document, no parts
    first = signed_in(app, person("operator", KEC, "Setcam"))
    second = signed_in(app, person("operator", KEC, "Puskesmas"))
    seen = page_form(first.get(url).get_data(as_text=True))
    key = next(k for k in seen if k.startswith("kec_penandaan_apbd_berjalan/penandaan/1/")
               and k.endswith("/program_kegiatan"))
    theirs = page_form(second.get(url).get_data(as_text=True))
    theirs[key] = ["Program kedua"]
    assert _post(second, url, theirs, aksi="simpan").status_code == 302
    seen[key] = ["Program pertama"]
    late = _post(first, url, seen, aksi="simpan")
    assert late.status_code == 409
    text = late.get_data(as_text=True)
    assert "sudah diubah orang lain" in text and 'value="Program pertama"' in text
    stored = parts(app, KEC, "penandaan_apbd_berjalan", YEAR)[""]
    assert stored[0] == 1
    assert stored[2]["kec_penandaan_apbd_berjalan"]["penandaan"][0]["program_kegiatan"] == \
        "Program kedua"
    # The same person's own newer version (a second tab) is no conflict.
    again = page_form(second.get(url).get_data(as_text=True))
    assert _post(second, url, theirs, aksi="simpan").status_code == 302
    assert _post(second, url, again, aksi="simpan").status_code == 302


def test_save_and_submit_moves_the_units_part(app, juknis_defs):
    _fill(app, KEC, "analisis_situasi")
    client = signed_in(app, person("operator", KEC, "PLKB"))
    answer = _post(client, PAGE, page_form(client.get(PAGE).get_data(as_text=True)),
                   aksi="kirim")
    assert answer.status_code == 302
    assert parts(app, KEC, "analisis_situasi", YEAR)["PLKB"][1] == "submitted"
    page = client.get(PAGE).get_data(as_text=True)
    assert "Tersimpan dan terkirim" in page and "Menunggu verifikasi" in page
    assert "data-aksi-form" not in page  # a submitted part is read-only until returned


def test_a_crafted_post_of_another_units_field_changes_nothing(app):
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    assert f"{FORM}/desa/{D1}/jumlah_penduduk" not in fields  # Setcam's: read-only
    fields[f"{FORM}/desa/{D1}/jumlah_penduduk"] = ["1000"]
    answer = _post(client, PAGE, fields, aksi="simpan")
    assert answer.status_code == 403
    assert "«Jumlah Penduduk» (milik Setcam)" in answer.get_data(as_text=True)
    assert parts(app, KEC, "analisis_situasi", YEAR) == {}
    # A name that is no cell of the stage is refused too.
    fields.pop(f"{FORM}/desa/{D1}/jumlah_penduduk")
    fields["kec_regulasi/regulasi/1/nama"] = ["x"]
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 422
    assert parts(app, KEC, "analisis_situasi", YEAR) == {}


def test_a_verifikator_sees_the_form_read_only_and_cannot_post_it(app):
    _fill(app, KEC, "analisis_situasi")
    client = signed_in(app, person("verifikator", KEC, "Puskesmas"))
    text = client.get(PAGE).get_data(as_text=True)
    assert "data-aksi-form" not in text and f'name="{FORM}/' not in text
    before = parts(app, KEC, "analisis_situasi", YEAR)
    answer = client.post(f"{PAGE}/isian", data={
        "csrf_token": _token(text), "part_version": "0", "version": "1", "aksi": "simpan",
        f"{FORM}/desa/{D1}/jumlah_ibu_hamil": "5"})
    assert answer.status_code == 403
    assert parts(app, KEC, "analisis_situasi", YEAR) == before


def _token(text: str) -> str:
    from .conftest import csrf_token
    return csrf_token(text.encode())


def test_a_post_without_csrf_token_changes_nothing(app):
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields.pop("csrf_token")
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_hamil"] = ["5"]
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 400
    assert parts(app, KEC, "analisis_situasi", YEAR) == {}


def test_another_kecamatan_is_forbidden(app):
    with app.extensions["aksi.db"].session() as s:
        add_people(s, _juknis(app), "19.01.02")
    client = signed_in(app, person("operator", "19.01.02", "Puskesmas"))
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/isian", data={"aksi": "simpan"}).status_code in (400, 403)
    assert parts(app, KEC, "analisis_situasi", YEAR) == {}


def _juknis(app):
    from engine.definitions import load
    from runtime.support import WORKFLOWS
    return load(WORKFLOWS)


# -- files ------------------------------------------------------------------------------------

def _file_key(app) -> str:
    spec = spec_of(_definition(app), FORM)
    section, f = next((s, f) for s, f in spec.fields() if f.kind == "file")
    assert section.kind == "fields"
    return f"{FORM}/{section.name}/-/{f.name}"


def test_an_upload_with_a_lying_extension_is_refused_and_a_true_one_kept(app):
    client = signed_in(app, person("operator", KEC, "Setcam"))
    key = _file_key(app)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    fields = page_form(page)
    fields[key] = [""]
    fields[f"{FORM}/desa/{D1}/jumlah_penduduk"] = ["700"]
    lying = client.post(f"{PAGE}/isian", content_type="multipart/form-data", data={
        **fields, "aksi": "simpan", key: (io.BytesIO(b"MZ\x90\x00 not a pdf"), "ba.pdf")})
    assert lying.status_code == 422
    text = lying.get_data(as_text=True)
    assert "berkas ini bukan PDF/JPEG/PNG" in cell_html(text, key)
    assert 'value="700"' in cell_html(text, f"{FORM}/desa/{D1}/jumlah_penduduk")
    assert parts(app, KEC, "analisis_situasi", YEAR) == {} and attachment_uses(app) == 0

    kept = client.post(f"{PAGE}/isian", content_type="multipart/form-data", data={
        **fields, "aksi": "simpan", key: (io.BytesIO(PDF), "Berita acara.png")})
    assert kept.status_code == 302, kept.get_data(as_text=True)[:2000]
    section, _, field = key.split("/")[1], None, key.split("/")[3]
    stored = parts(app, KEC, "analisis_situasi", YEAR)["Setcam"][2][FORM][section][field]
    assert stored["jenis"] == "application/pdf" and stored["nama"] == "Berita acara.png"
    page = client.get(PAGE).get_data(as_text=True)
    assert "Berita acara.png (PDF" in cell_html(page, key)
    # Saved again without a new file, the field keeps its file.
    assert _post(client, PAGE, page_form(page), aksi="simpan").status_code == 302
    again = parts(app, KEC, "analisis_situasi", YEAR)["Setcam"]
    assert again[0] == 2 and again[2][FORM][section][field] == stored


# -- last year, confirmations, messages -------------------------------------------------------

def test_last_years_approved_value_is_beside_this_years_and_a_jump_is_marked(app, juknis_defs):
    db = app.extensions["aksi.db"]
    before = dt.datetime(2025, 1, 5, 3, 0, tzinfo=dt.timezone.utc)
    with db.session() as s:
        start_year(s, juknis_defs, YEAR - 1, province=PROV, now=before)

    approved = fill_and_approve(db, KEC, "analisis_situasi", YEAR - 1, now=before)
    last = approved[FORM]["desa"][D1]["jumlah_ibu_hamil"]
    client = signed_in(app, person("operator", KEC, "Puskesmas"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields[f"{FORM}/desa/{D1}/jumlah_ibu_hamil"] = [str(last * 10 + 10)]
    assert _post(client, PAGE, fields, aksi="simpan").status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    cell = cell_html(page, f"{FORM}/desa/{D1}/jumlah_ibu_hamil")
    shown = f"{last:,}".replace(",", ".")
    assert f'<small>{shown}</small>' in cell and "jump" in cell
    assert f"tahun lalu {shown}" in cell
    assert f"nilai yang disetujui tahun {YEAR - 1}" in page


def test_approve_and_reopen_ask_first_and_the_message_names_the_state(app):
    _fill(app, KEC, "penandaan_apbd_berjalan")
    url = f"/tugas/{YEAR}/{KEC}/penandaan_apbd_berjalan"
    operator = signed_in(app, person("operator", KEC))
    answer = _post(operator, url, page_form(operator.get(url).get_data(as_text=True)),
                   aksi="kirim")
    assert answer.status_code == 302
    assert "status tahap kini &#39;Menunggu verifikasi&#39;" in operator.get(url).get_data(
        as_text=True)
    verifikator = signed_in(app, person("verifikator", KEC))
    page = verifikator.get(url).get_data(as_text=True)
    version = stage_state(app, KEC, "penandaan_apbd_berjalan", YEAR)[1]
    done = verifikator.post(f"{url}/verify", data={"csrf_token": _token(page),
                                                   "version": str(version)})
    assert "status tahap kini &#39;Menunggu persetujuan&#39;" in verifikator.get(
        done.location).get_data(as_text=True)
    camat = signed_in(app, person("approver", KEC)).get(url).get_data(as_text=True)
    assert 'data-confirm="Yakin &#39;Setujui&#39;?' in camat
    assert "data-confirm" not in page.split('class="actions"')[1].split("</section>")[0] \
        or "Kembalikan" in page


def test_indonesian_numbers():
    assert parse_number("1.234.567") == 1234567
    assert parse_number("12,5") == 12.5
    assert parse_number("Rp 2.500") == 2500
    assert parse_number("-3") == -3
    for bad in ("1.5", "12a", "1,2,3", "", "NaN", "Infinity"):
        assert parse_number(bad) is None, bad


# -- in a browser (static/forms.js) -------------------------------------------------------------

in_browser = needs_browser


@in_browser
def test_rows_totals_and_unsaved_changes_in_a_browser(app):
    from playwright.sync_api import Error as PlaywrightError

    usulan = spec_of(_definition(app), FORM).section("usulan")
    text_field = next(f for f in usulan.fields if f.kind == "text").name
    with served(app) as base, browser_page(base, person("operator", KEC, "Setcam")) as page:
        dialogs: list[str] = []

        def answer(dialog):
            dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.accept()

        page.on("dialog", answer)
        page.goto(base + PAGE)
        # The lean table's cells get their key and problem box from the script; their
        # label (column header, row header) is the server's.
        key = f"{FORM}/desa/{D1}/jumlah_penduduk"
        cell = page.locator(f'td[data-cell="{key}"]')
        assert cell.locator(f'[data-problems-for="{key}"]').count() == 1
        column, row = cell.locator("input").get_attribute("aria-labelledby").split()
        assert column.startswith("h") and row.startswith("r")
        page.locator(f'[name="{key}"]').fill("1.234")
        total = page.locator(f'[data-total="{FORM}/desa/jumlah_penduduk"]')
        assert total.inner_text() == "1.234"
        # Rows: the empty one filled, one more added, the first removed (asked first).
        page.locator(f'[name="{FORM}/usulan/1/{text_field}"]').fill("Posyandu keliling")
        page.locator(f'button[data-add-row="{FORM}/usulan"]').click()
        page.locator(f'[name="{FORM}/usulan/2/{text_field}"]').fill("Kelas ibu hamil")
        page.locator(f'input[name="hapus"][value="{FORM}/usulan/1"]').check()
        assert any("Hapus baris 1" in d for d in dialogs)
        assert not page.locator(f'[name="{FORM}/usulan/1/{text_field}"]').is_visible()
        # Leaving with unsaved changes asks first (the page stays when dismissed).
        page.remove_listener("dialog", answer)
        left: list[str] = []
        page.once("dialog", lambda d: (left.append(d.type), d.dismiss()))
        with pytest.raises(PlaywrightError):  # the navigation is called off
            page.goto(f"{base}/tugas", timeout=5000)
        assert left == ["beforeunload"] and page.url == base + PAGE
        assert page.locator(f'[name="{key}"]').input_value() == "1.234"
        page.on("dialog", answer)
        page.get_by_role("button", name="Simpan draf").click()
        page.wait_for_url(f"**{PAGE}")
        assert "Draf tersimpan" in page.content()
    saved = parts(app, KEC, "analisis_situasi", YEAR)["Setcam"][2][FORM]
    assert saved["desa"][D1]["jumlah_penduduk"] == 1234
    assert [r[text_field] for r in saved["usulan"]] == ["Kelas ibu hamil"]


@in_browser
def test_approving_asks_first_in_a_browser(app):
    url = f"/tugas/{YEAR}/{KEC}/penandaan_apbd_berjalan"
    with app.extensions["aksi.db"].session() as s:
        s.execute(update(Task).where(Task.region_code == KEC, Task.year == YEAR,
                                     Task.stage == "penandaan_apbd_berjalan")
                  .values(state="verified"))
    with served(app) as base, browser_page(base, person("approver", KEC)) as page:
        page.goto(base + url)
        asked: list[str] = []
        page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.locator("form.act").get_by_role("button", name="Setujui").click()
        page.wait_for_timeout(300)
        assert asked and asked[0].startswith("Yakin 'Setujui'?")
        assert stage_state(app, KEC, "penandaan_apbd_berjalan", YEAR)[0] == "verified"
        page.once("dialog", lambda d: d.accept())
        page.locator("form.act").get_by_role("button", name="Setujui").click()
        page.wait_for_url(f"**{url}")
        assert "Disetujui" in page.content()
    assert stage_state(app, KEC, "penandaan_apbd_berjalan", YEAR)[0] == "approved"


def test_a_returned_cell_is_marked_on_the_form_in_words(app):
    _fill(app, KEC, "analisis_situasi")
    operator = signed_in(app, person("operator", KEC, "Puskesmas"))
    assert _post(operator, PAGE, page_form(operator.get(PAGE).get_data(as_text=True)),
                 aksi="kirim").status_code == 302
    key = f"{FORM}/desa/{D1}/jumlah_ibu_hamil"
    checker = signed_in(app, person("verifikator", KEC, "Puskesmas"))
    page = checker.get(PAGE).get_data(as_text=True)
    answer = checker.post(f"{PAGE}/kembalikan", data={
        "csrf_token": _token(page), "version": str(stage_state(app, KEC, "analisis_situasi",
                                                               YEAR)[1]),
        "trigger": "return", "reason": "Periksa jumlah ibu hamil", "cell": [key]})
    assert answer.status_code == 302
    assert parts(app, KEC, "analisis_situasi", YEAR)["Puskesmas"][1] == "returned"
    text = operator.get(PAGE).get_data(as_text=True)
    cell = cell_html(text, key)
    assert f'data-cell="{key}"' in cell and "returned" in cell  # full markup, marked
    assert '<span class="mk returned">Dikembalikan' in cell  # in words, not colour only
    assert f'name="{key}"' in cell  # editable again after the return


def test_the_page_refuses_what_the_engine_refuses_in_its_words(app):
    """The same wrong values through the page and straight into the engine: refused alike,
    every problem the engine names shown on the page (at its cell)."""
    typed = {f"{FORM}/pertemuan/-/tanggal_pelaksanaan": "2026-13-01",
             f"{FORM}/pertemuan/-/jumlah_peserta": "-3",
             f"{FORM}/desa/{D1}/jumlah_penduduk": "12,5",
             f"{FORM}/pertemuan/-/unsur_peserta": "bukan_pilihan"}
    patch = {FORM: {"pertemuan": {"tanggal_pelaksanaan": "2026-13-01", "jumlah_peserta": -3,
                                  "unsur_peserta": ["bukan_pilihan"]},
                    "desa": {D1: {"jumlah_penduduk": 12.5}}}}
    with pytest.raises(InvalidForm) as refused, app.extensions["aksi.db"].session() as s:
        save_on(s, KEC, "analisis_situasi", YEAR, person("operator", KEC, "Setcam"), patch,
                now=NOW)
    assert len(refused.value.problems) == 4
    client = signed_in(app, person("operator", KEC, "Setcam"))
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields.update({k: [v] for k, v in typed.items()})
    answer = _post(client, PAGE, fields, aksi="simpan")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert str(escape(refused.value.message)) in text
    for problem in refused.value.problems:
        assert str(escape(problem)) in text, problem
    for key in typed:
        assert "class=\"pe\"" in cell_html(text, key), key
    assert parts(app, KEC, "analisis_situasi", YEAR) == {}


# -- what the end-to-end test found -----------------------------------------------------------

@in_browser
def test_in_a_browser_the_count_follows_the_edits_and_a_stored_file_is_not_judged_as_text(app):
    """The summary's "N kesalahan, M peringatan" follows what is typed (made when the server
    had none, hidden once nothing is wrong); the advice for a browser without script is
    hidden; a stored file's hidden hash is not read as the field's value (it made a false
    "harus isian bertingkat")."""
    client = signed_in(app, person("operator", KEC, "Setcam"))
    key = _file_key(app)
    fields = page_form(client.get(PAGE).get_data(as_text=True))
    fields[key] = [""]
    kept = client.post(f"{PAGE}/isian", content_type="multipart/form-data", data={
        **fields, "aksi": "simpan", key: (io.BytesIO(PDF), "ba.pdf")})
    assert kept.status_code == 302
    section = key.split("/")[1]
    peserta = f"{FORM}/{section}/-/jumlah_peserta"
    with served(app) as base, browser_page(base, person("operator", KEC, "Setcam")) as page:
        page.goto(base + PAGE)
        assert "Tanpa JavaScript" in page.content()  # there for a browser without script
        hints = page.get_by_text("Tanpa JavaScript", exact=False).all()
        assert hints and not any(h.is_visible() for h in hints)
        summary = page.locator(f'[data-aksi-summary="{FORM}"]')
        assert summary.locator("[data-aksi-count]").count() == 0  # nothing wrong yet
        page.locator(f'[name="{peserta}"]').fill("abc")
        page.locator(f'[data-problems-for="{peserta}"] [data-aksi]').wait_for(timeout=10_000)
        count = summary.locator("[data-aksi-count]")
        assert count.inner_text().endswith(": 1 kesalahan, 0 peringatan")
        assert page.locator(f'[data-problems-for="{key}"] [data-aksi]').count() == 0
        assert "bertingkat" not in summary.inner_text()
        page.locator(f'[name="{peserta}"]').fill("12")
        count.wait_for(state="hidden", timeout=10_000)


def _returned(app, key: str):
    """The Puskesmas part submitted, returned by its verifikator with ``key`` marked; the
    operator's client."""
    _fill(app, KEC, "analisis_situasi")
    operator = signed_in(app, person("operator", KEC, "Puskesmas"))
    assert _post(operator, PAGE, page_form(operator.get(PAGE).get_data(as_text=True)),
                 aksi="kirim").status_code == 302
    checker = signed_in(app, person("verifikator", KEC, "Puskesmas"))
    page = checker.get(PAGE).get_data(as_text=True)
    answer = checker.post(f"{PAGE}/kembalikan", data={
        "csrf_token": _token(page), "version": str(stage_state(app, KEC, "analisis_situasi",
                                                               YEAR)[1]),
        "trigger": "return", "reason": "Periksa jumlah ibu hamil", "cell": [key]})
    assert answer.status_code == 302
    return operator


def test_the_return_banner_links_to_each_marked_cell(app):
    key = f"{FORM}/desa/{D1}/jumlah_ibu_hamil"
    text = _returned(app, key).get(PAGE).get_data(as_text=True)
    banner = text[text.index("data-returned"):text.index("</ul>", text.index("data-returned"))]
    assert f'<a href="#{escape(key)}">' in banner
    assert f'id="{escape(key)}"' in cell_html(text, key)  # the link's target: the cell
    assert_unique_ids(text)


def test_the_camat_is_offered_one_return_form(app):
    """The review panel's "Kembalikan dengan alasan" (with marked cells) stands for the plain
    "Kembalikan" of the actions; without the panel the plain one is there."""
    _fill(app, KEC, "analisis_situasi")
    for unit in ("Setcam", "Puskesmas", "PLKB"):
        operator = signed_in(app, person("operator", KEC, unit))
        assert _post(operator, PAGE, page_form(operator.get(PAGE).get_data(as_text=True)),
                     aksi="kirim").status_code == 302
    camat = signed_in(app, person("approver", KEC))
    text = camat.get(PAGE).get_data(as_text=True)
    assert text.count(">Kembalikan</button>") == 1
    assert 'class="send-back"' in text and "Kembalikan dengan alasan" in text
    with app.test_request_context():
        task = {"triggers": [{"trigger": "return", "name": "Kembalikan", "reason": True}],
                "year": YEAR, "region": KEC, "stage": "analisis_situasi", "version": 3}
        alone = render_template("tasks/_actions.html", task=task, review=None,
                                form_page=None, confirm={}, csrf_token=lambda: "t")
    assert ">Kembalikan</button>" in alone and 'name="reason"' in alone
