"""The stage page's spreadsheet and documents panel, with the Flask client on every backend:
the unit's Excel template and its import (all or nothing, every problem by sheet, row,
column and field), the printable page and the PDF, the stage's attachments; CSRF on the
upload, and another region's user refused on every route."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from engine.forms import spreadsheet
from engine.definitions.forms.spec import spec_of
from engine.forms.entry import context_for
from engine.forms.files import store_upload
from engine.forms.parts import parts_of
from engine.people import add_user
from engine.runtime import find_task, save_on, start_year
from engine.store.library import pinned
from engine.store.models import Region
from engine.web import create_app
from forms.walk import add_people, person
from runtime.conftest import juknis_defs, regions  # noqa: F401

from .conftest import PASSWORD, csrf_token, sign_in

NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.timezone.utc)
YEAR, KEC, OTHER = 2026, "19.01.01", "19.01.02"
STAGE, FORM = "analisis_situasi", "kec_analisis_situasi"
DESA_SHEET = "Data per desa-kelurahan"
STAGE_URL = f"/tugas/{YEAR}/{KEC}/{STAGE}"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

PUSKESMAS = person("operator", KEC, "Puskesmas")
SETCAM = person("operator", KEC, "Setcam")
VERIFIKATOR = person("verifikator", KEC, "Puskesmas")
STRANGER = person("operator", OTHER, "Puskesmas")


@pytest.fixture
def app(regions, juknis_defs, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AKSI_FILES", str(tmp_path / "berkas"))
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        for region in (KEC, OTHER):
            add_people(s, juknis_defs, region)
        for name in (PUSKESMAS, SETCAM, VERIFIKATOR, STRANGER, person("operator", KEC)):
            add_user(s, juknis_defs, name, password=PASSWORD, now=NOW)
    app = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


def client_of(app, username: str):
    client = app.test_client()
    signed = sign_in(client, username)
    assert signed.status_code == 302, signed.data
    return client


def saved_parts(app, stage: str = STAGE) -> dict:
    with app.extensions["aksi.db"].session() as s:
        return {u: (p.version, p.data) for u, p in
                parts_of(s, find_task(s, KEC, stage, YEAR).id).items()}


def desa_of(app, region: str) -> list[str]:
    with app.extensions["aksi.db"].session() as s:
        return list(s.scalars(select(Region.code).where(Region.parent_code == region)
                              .order_by(Region.code)))


def definition_of(app, region: str = KEC, stage: str = STAGE):
    with app.extensions["aksi.db"].session() as s:
        return pinned(s, find_task(s, region, stage, YEAR).definition_hash)


def download_template(client, form: str = FORM, **query) -> tuple[bytes, str]:
    answer = client.get(f"{STAGE_URL}/templat/{form}", query_string=query)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == spreadsheet_type()
    return answer.data, answer.headers["Content-Disposition"]


def spreadsheet_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def headers_of(ws) -> list[str]:
    return [c.value for c in ws[spreadsheet.TITLE_ROW] if c.value is not None]


def type_into(content: bytes, values: dict[tuple[str, str], object]) -> bytes:
    """Type values into the desa sheet as a person would: {(desa code, column title): value}."""
    wb = load_workbook(io.BytesIO(content))
    ws = wb[DESA_SHEET]
    columns = {c.value: c.column for c in ws[spreadsheet.TITLE_ROW]}
    rows = {ws.cell(r, 1).value: r for r in range(spreadsheet.FIRST_ROW, ws.max_row + 1)}
    for (code, title), value in values.items():
        ws.cell(rows[code], columns[title], value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, content: bytes, filename: str, *, token: str | None = "page", **fields):
    data = {"berkas": (io.BytesIO(content), filename), "formulir": FORM, **fields}
    if token == "page":  # the session's token, on any page
        token = csrf_token(client.get("/tugas").data)
    if token:
        data["csrf_token"] = token
    return client.post(f"{STAGE_URL}/impor", data=data, content_type="multipart/form-data")


def cell_letter(content: bytes, title: str) -> tuple[str, dict[str, int]]:
    wb = load_workbook(io.BytesIO(content))
    ws = wb[DESA_SHEET]
    letter = next(c.column_letter for c in ws[spreadsheet.TITLE_ROW] if c.value == title)
    rows = {ws.cell(r, 1).value: r for r in range(spreadsheet.FIRST_ROW, ws.max_row + 1)}
    return letter, rows


# -- the template --------------------------------------------------------------------------------

def test_the_template_holds_the_units_columns_and_the_kecamatans_desa(app):
    client = client_of(app, PUSKESMAS)
    content, disposition = download_template(client)
    assert 'filename="analisis-situasi-19.01.01-2026-puskesmas.xlsx"' in disposition
    wb = load_workbook(io.BytesIO(content))
    ws = wb[DESA_SHEET]
    codes = [ws.cell(r, 1).value for r in range(spreadsheet.FIRST_ROW, ws.max_row + 1)]
    assert codes == desa_of(app, KEC) and len(codes) > 3
    spec = spec_of(definition_of(app), FORM)
    mine = {f.title for _, f in spec.fields() if f.unit == "Puskesmas" and not f.computed
            and f.kind != "file"}
    theirs = {f.title for _, f in spec.fields() if f.unit == "Setcam"}
    titles = set(headers_of(ws)) - {"Kode", "Nama"}
    assert "Jumlah Ibu Hamil KEK" in titles and titles <= mine
    assert "Jumlah Penduduk" in theirs and not titles & theirs
    # The stage page links it, named for the unit.
    page = client.get(STAGE_URL).get_data(as_text=True)
    assert f"{STAGE_URL}/templat/{FORM}" in page and "(unit Puskesmas)" in page


def test_a_stage_without_parts_and_one_with_several_forms_name_their_templates(app):
    client = client_of(app, person("operator", KEC))
    answer = client.get(f"/tugas/{YEAR}/{KEC}/penandaan_apbd_berjalan/templat/"
                        "kec_penandaan_apbd_berjalan")
    assert answer.status_code == 200
    assert 'filename="penandaan-apbd-berjalan-19.01.01-2026.xlsx"' in answer.headers[
        "Content-Disposition"]
    load_workbook(io.BytesIO(answer.data))
    answer = client.get(f"/tugas/{YEAR}/{KEC}/pra_musrenbang/templat/kec_pra_musrenbang")
    assert answer.status_code == 200
    assert 'filename="kec-pra-musrenbang-19.01.01-2026.xlsx"' in answer.headers[
        "Content-Disposition"]
    assert client.get(f"{STAGE_URL}/templat/{FORM}?unit=Kecamatan").status_code == 404
    assert client.get(f"{STAGE_URL}/templat/kec_regulasi").status_code == 404


def test_a_viewer_gets_every_units_columns(app):
    content, disposition = download_template(client_of(app, VERIFIKATOR))
    assert "analisis-situasi-19.01.01-2026-semua-unit.xlsx" in disposition
    titles = set(headers_of(load_workbook(io.BytesIO(content))[DESA_SHEET]))
    assert {"Jumlah Ibu Hamil KEK", "Jumlah Penduduk"} <= titles
    page = client_of(app, VERIFIKATOR).get(STAGE_URL).get_data(as_text=True)
    assert "(semua unit)" in page and "Unggah dan impor" not in page


# -- the import ----------------------------------------------------------------------------------

def test_a_filled_template_comes_back_into_the_units_part(app):
    client = client_of(app, PUSKESMAS)
    d1, d2 = desa_of(app, KEC)[:2]
    content, _ = download_template(client)
    filled = type_into(content, {(d1, "Jumlah Ibu Hamil KEK"): 4,
                                 (d2, "Jumlah Ibu Hamil KEK"): "1.200"})
    answer = upload(client, filled, "isian puskesmas.xlsx")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(STAGE_URL)
    version, data = saved_parts(app)["Puskesmas"]
    assert version == 1
    assert data[FORM]["desa"][d1]["jumlah_ibu_hamil_kek"] == 4
    assert data[FORM]["desa"][d2]["jumlah_ibu_hamil_kek"] == 1200
    page = client.get(STAGE_URL).get_data(as_text=True)
    assert ("Berkas &#39;isian puskesmas.xlsx&#39; diimpor ke bagian unit Puskesmas (versi 1): "
            "2 isian dibaca, 2 berubah") in page
    # Downloaded again, the template holds what was saved; sent back as it is, it changes
    # nothing but the version.
    again, _ = download_template(client)
    ws = load_workbook(io.BytesIO(again))[DESA_SHEET]
    letter, rows = cell_letter(again, "Jumlah Ibu Hamil KEK")
    assert ws[f"{letter}{rows[d2]}"].value == 1200
    assert upload(client, again, "lagi.xlsx").status_code == 302
    assert "(versi 2): 2 isian dibaca, 0 berubah" in client.get("/tugas").get_data(as_text=True)
    assert saved_parts(app)["Puskesmas"] == (2, data)


def test_a_dry_run_shows_what_would_be_saved_and_saves_nothing(app):
    client = client_of(app, PUSKESMAS)
    d1 = desa_of(app, KEC)[0]
    content, _ = download_template(client)
    answer = upload(client, type_into(content, {(d1, "Jumlah Ibu Hamil KEK"): 4}), "isian.xlsx",
                    uji="1")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "1 isian terbaca (1 berubah) dan akan tersimpan ke bagian unit Puskesmas" in text
    assert "Ini uji coba: tidak ada yang disimpan." in text
    assert saved_parts(app) == {}


def test_a_text_in_a_number_cell_is_named_by_sheet_row_column_and_field(app):
    client = client_of(app, PUSKESMAS)
    d1, d2 = desa_of(app, KEC)[:2]
    content, _ = download_template(client)
    filled = type_into(content, {(d1, "Jumlah Ibu Hamil KEK"): 4,
                                 (d2, "Jumlah Ibu Hamil KEK"): "banyak"})
    answer = upload(client, filled, "isian.xlsx")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    letter, rows = cell_letter(content, "Jumlah Ibu Hamil KEK")
    assert "1 masalah ditemukan. Tidak ada yang disimpan." in text
    assert f"<span data-sheet>Lembar &#39;{DESA_SHEET}&#39;</span>" in text
    assert f"<span data-row>baris {rows[d2]}</span>" in text
    assert f"<span data-column>kolom {letter}</span>" in text
    assert "<span data-label>«Jumlah Ibu Hamil KEK»</span>" in text
    assert "harus bilangan bulat ≥ 0, bukan &#39;banyak&#39;" in text
    assert saved_parts(app) == {}  # the good cell of d1 is not saved either


def test_another_regions_template_is_refused_by_name(app):
    client = client_of(app, PUSKESMAS)
    definition = definition_of(app, OTHER)
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, OTHER, STAGE, YEAR)
        rows = dict(context_for(s, definition, task).rows)
        name = s.get(Region, OTHER).name
    theirs = spreadsheet.template(definition, FORM, region_code=OTHER, region_name=name,
                                  year=YEAR, stage=STAGE, rows=rows, unit="Puskesmas")
    answer = upload(client, theirs, "templat-tetangga.xlsx")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "templat ini untuk Kecamatan" in text and f"({OTHER})" in text and f"({KEC})" in text
    assert saved_parts(app) == {}


def test_uploads_are_judged_by_their_content(app):
    client = client_of(app, PUSKESMAS)
    not_a_workbook = upload(client, b"Kode;Jumlah Ibu Hamil KEK\n19.01.01.2001;4\n", "isian.xlsx")
    assert not_a_workbook.status_code == 422
    assert "bernama .xlsx tetapi isinya bukan buku kerja Excel" in not_a_workbook.get_data(as_text=True)
    a_pdf = upload(client, PDF, "isian.xlsx")
    assert a_pdf.status_code == 422 and "terbaca sebagai PDF" in a_pdf.get_data(as_text=True)
    old_excel = upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "isian.xls")
    assert old_excel.status_code == 422 and "Excel lama (.xls)" in old_excel.get_data(as_text=True)
    broken = upload(client, b"PK\x03\x04 not really a zip", "isian.xlsx")
    assert broken.status_code == 422
    assert "bukan buku kerja Excel (.xlsx) yang dapat dibaca" in broken.get_data(as_text=True)
    assert upload(client, b"", "kosong.xlsx").status_code == 422
    assert saved_parts(app) == {}


def test_a_csv_of_the_units_columns_is_imported(app):
    client = client_of(app, PUSKESMAS)
    d1 = desa_of(app, KEC)[0]
    answer = upload(client, f"Kode;Jumlah Ibu Hamil KEK\n{d1};7\n".encode(), "data.csv")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert saved_parts(app)["Puskesmas"][1][FORM]["desa"][d1] == {"jumlah_ibu_hamil_kek": 7}
    # Another unit's column is refused by its owner's name.
    refused = upload(client, f"Kode;Jumlah Ibu Hamil KEK;Jumlah Penduduk\n{d1};8;900\n".encode(),
                     "data.csv")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "<span data-sheet>Berkas &#39;data.csv&#39;</span>" in text
    assert "<span data-column>kolom C</span>" in text
    assert "milik unit Setcam, bukan unit Puskesmas" in text
    assert saved_parts(app)["Puskesmas"][0] == 1


def test_an_upload_without_its_csrf_token_is_refused(app):
    client = client_of(app, PUSKESMAS)
    d1 = desa_of(app, KEC)[0]
    content, _ = download_template(client)
    filled = type_into(content, {(d1, "Jumlah Ibu Hamil KEK"): 4})
    assert upload(client, filled, "isian.xlsx", token=None).status_code == 400
    assert upload(client, filled, "isian.xlsx", token="palsu").status_code == 400
    assert saved_parts(app) == {}


def test_only_those_who_write_a_part_may_upload(app):
    client = client_of(app, VERIFIKATOR)
    content, _ = download_template(client)
    answer = upload(client, content, "isian.xlsx")
    assert answer.status_code == 403
    # An operator without a unit may not write a stage filled per unit.
    unitless = client_of(app, person("operator", KEC))
    assert upload(unitless, content, "isian.xlsx").status_code == 403
    assert saved_parts(app) == {}


def test_a_file_over_the_limit_is_refused_before_it_is_read(app, monkeypatch):
    from engine.web import sheets

    monkeypatch.setattr(sheets, "MAX_UPLOAD", 1000)
    client = client_of(app, PUSKESMAS)
    answer = upload(client, b"x" * 200_000, "besar.csv")
    assert answer.status_code == 413 and "Berkas terlalu besar" in answer.get_data(as_text=True)
    assert saved_parts(app) == {}


# -- documents and attachments -----------------------------------------------------------------

def test_the_print_view_and_the_pdf_of_each_output(app):
    client = client_of(app, VERIFIKATOR)
    stage = f"/tugas/{YEAR}/{KEC}/pra_musrenbang"
    page = client.get(stage).get_data(as_text=True)
    for form in ("kec_pra_musrenbang", "kec_berita_acara_pra_musrenbang"):
        assert f"{stage}/cetak/{form}" in page and f"{stage}/pdf/{form}" in page
    html = client.get(f"{stage}/cetak/kec_berita_acara_pra_musrenbang")
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert "Kecamatan Sungailiat" in html.get_data(as_text=True)
    assert html.headers["Content-Disposition"].startswith("inline;")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    pdf = client.get(f"{stage}/pdf/kec_pra_musrenbang")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith(
        'attachment; filename="kec_pra_musrenbang_19.01.01_2026.pdf"')
    assert client.get(f"{stage}/pdf/kec_analisis_situasi").status_code == 404


def attach(app, size: int, name: str) -> dict:
    """A PDF of ``size`` bytes uploaded for dukungan_regulasi (as its operator): its file
    object."""
    content = PDF + b"%" * (size - len(PDF))
    with app.extensions["aksi.db"].session() as s:
        task = find_task(s, KEC, "dukungan_regulasi", YEAR)
        field = spec_of(pinned(s, task.definition_hash), "kec_regulasi").find(
            "regulasi.dokumen_regulasi")[1]
        return store_upload(s, task=task, field=field, content=content, name=name,
                            username=person("operator", KEC), now=NOW)


def test_the_attachments_are_listed_with_size_and_type_and_download(app):
    sha = attach(app, 1_258_291, "Perbup <SK> 2026.pdf")["sha256"]
    used = attach(app, 3000, "se-camat.pdf")
    with app.extensions["aksi.db"].session() as s:
        save_on(s, KEC, "dukungan_regulasi", YEAR, person("operator", KEC), {"kec_regulasi": {
            "regulasi": [{"jenis_dokumen": "surat_edaran", "dokumen_regulasi": used}]}})
    client = client_of(app, VERIFIKATOR)
    stage = f"/tugas/{YEAR}/{KEC}/dukungan_regulasi"
    page = client.get(stage).get_data(as_text=True)
    files = re.search(r'<ul class="sheet-files">(.*?)</ul>', page, re.S).group(1)
    assert "se-camat.pdf" in files and "3 KB" in files and "isian «Upload Dokumen Regulasi»" in files
    item = next(li for li in files.split("<li>") if "Perbup" in li)
    assert "Perbup &lt;SK&gt; 2026.pdf" in item
    assert '<span class="sheet-type" title="application/pdf">PDF</span>' in item
    assert '<span class="sheet-size">1,2 MB</span>' in item
    assert "diunggah oleh operator@19.01.01, 5 Januari 2026, 10.00 WIB" in item
    assert "belum dipakai dalam isian" in item
    answer = client.get(f"{stage}/berkas/{sha}")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    assert len(answer.data) == 1_258_291
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="Perbup _SK_ 2026.pdf"')
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # The file belongs to that stage: not downloadable under another one, nor a made-up hash.
    assert client.get(f"{STAGE_URL}/berkas/{sha}").status_code == 404
    assert client.get(f"{stage}/berkas/{'0' * 64}").status_code == 404
    assert client.get(f"{stage}/berkas/..%2F..%2Fetc").status_code == 404


def test_another_regions_user_is_refused_on_every_route(app):
    sha = attach(app, 2048, "sk.pdf")["sha256"]
    client = client_of(app, STRANGER)
    content, _ = download_template(client_of(app, PUSKESMAS))
    token = csrf_token(client.get("/tugas").data)
    regulasi = f"/tugas/{YEAR}/{KEC}/dukungan_regulasi"
    for url in (STAGE_URL, f"{STAGE_URL}/templat/{FORM}", f"{STAGE_URL}/templat/tidak_ada",
                f"{STAGE_URL}/cetak/{FORM}", f"{STAGE_URL}/pdf/{FORM}",
                f"{regulasi}/berkas/{sha}", f"/tugas/{YEAR}/{KEC}/tidak_ada/pdf/{FORM}"):
        assert client.get(url).status_code == 403, url
    posted = client.post(f"{STAGE_URL}/impor", content_type="multipart/form-data", data={
        "csrf_token": token, "formulir": FORM, "berkas": (io.BytesIO(content), "isian.xlsx")})
    assert posted.status_code == 403
    assert saved_parts(app) == {}


def test_signed_out_visitors_are_sent_to_sign_in(app):
    client = app.test_client()
    for url in (f"{STAGE_URL}/templat/{FORM}", f"{STAGE_URL}/pdf/{FORM}"):
        answer = client.get(url)
        assert answer.status_code == 302 and "/masuk" in answer.headers["Location"]
    assert client.post(f"{STAGE_URL}/impor").status_code in (302, 400)
