"""The forms through the JSON API, on the shipped definitions: read a stage's documents, save
a part (ownership and conflicts as in the engine), upload a file checked by its content,
download only what the caller may see, the printable document."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine

from engine.forms.parts import parts_of
from engine.people import issue_token
from engine.runtime import find_task, start_year
from engine.web import create_app
from forms.walk import add_people, person
from runtime.conftest import juknis_defs, regions  # noqa: F401

NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=dt.timezone.utc)
YEAR, KEC, OTHER = 2026, "19.01.01", "19.01.02"
D1 = f"{KEC}.1001"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture
def app(regions, juknis_defs, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AKSI_FILES", str(tmp_path / "berkas"))
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        add_people(s, juknis_defs, KEC)
        add_people(s, juknis_defs, OTHER)
    app = create_app({"DATABASE_URL": regions.url, "SECRET_KEY": "test", "TESTING": True})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


def token(app, username: str) -> dict:
    with app.extensions["aksi.db"].session() as s:
        return {"Authorization": f"Bearer {issue_token(s, username, 'uji')}"}


def parts(app, stage: str) -> dict:
    with app.extensions["aksi.db"].session() as s:
        return {u: (p.version, p.data) for u, p in parts_of(s, find_task(s, KEC, stage, YEAR).id).items()}


def test_save_a_part_then_read_it_back_with_its_problems(app):
    client = app.test_client()
    url = f"/api/v1/forms/{YEAR}/{KEC}/analisis_situasi"
    headers = token(app, person("operator", KEC, "Puskesmas"))
    body = {"data": {"kec_analisis_situasi": {"desa": {D1: {
        "jumlah_ibu_hamil_kek": 4, "bumil_kek_makanan_tambahan": 9}}}}}
    saved = client.put(url, json=body, headers=headers)
    assert saved.status_code == 200, saved.json
    assert (saved.json["unit"], saved.json["version"]) == ("Puskesmas", 1)
    assert any("melebihi «Jumlah Ibu Hamil KEK» (4)" in p["message"] for p in saved.json["problems"])
    shown = client.get(url, headers=headers).json
    assert shown["parts"]["Puskesmas"]["version"] == 1
    assert shown["documents"]["kec_analisis_situasi"]["desa"][D1]["jumlah_ibu_hamil_kek"] == 4
    assert shown["completeness"]["Puskesmas"]["filled"] == 2
    assert any(p["row"] == D1 and p["severity"] == "error" for p in shown["problems"])


def test_a_field_of_another_unit_is_403_and_changes_nothing(app):
    client = app.test_client()
    url = f"/api/v1/forms/{YEAR}/{KEC}/analisis_situasi"
    headers = token(app, person("operator", KEC, "Puskesmas"))
    answer = client.put(url, headers=headers, json={"data": {"kec_analisis_situasi": {"desa": {
        D1: {"jumlah_penduduk": 1000}}}}})
    assert answer.status_code == 403 and "«Jumlah Penduduk» (milik Setcam)" in answer.json["message"]
    assert parts(app, "analisis_situasi") == {}


def test_a_stale_version_is_409_and_bad_bodies_are_400(app):
    client = app.test_client()
    url = f"/api/v1/forms/{YEAR}/{KEC}/analisis_situasi"
    headers = token(app, person("operator", KEC, "Setcam"))
    patch = {"kec_analisis_situasi": {"desa": {D1: {"jumlah_penduduk": 1000}}}}
    assert client.put(url, headers=headers, json={"data": patch}).status_code == 200
    assert client.put(url, headers=headers, json={"data": patch, "expected_version": 1}).status_code == 200
    stale = client.put(url, headers=headers, json={"data": patch, "expected_version": 1})
    assert stale.status_code == 409
    for bad in ({"data": "x"}, {"data": {}, "expected_version": "1"}, ["x"]):
        assert client.put(url, headers=headers, json=bad).status_code == 400
    assert client.put(url, headers=headers, data="{", content_type="application/json").status_code == 400
    assert parts(app, "analisis_situasi")["Setcam"][0] == 2


def test_another_kecamatan_is_403(app):
    client = app.test_client()
    headers = token(app, person("operator", OTHER, "Setcam"))
    assert client.get(f"/api/v1/forms/{YEAR}/{KEC}/analisis_situasi", headers=headers).status_code == 403
    assert client.get(f"/api/v1/documents/{YEAR}/{KEC}/pra_musrenbang",
                      headers=headers).status_code == 403


def test_uploads_are_judged_by_content_and_downloads_by_scope(app):
    client = app.test_client()
    url = f"/api/v1/forms/{YEAR}/{KEC}/dukungan_regulasi/files"
    field = "kec_regulasi.regulasi.dokumen_regulasi"
    headers = token(app, person("operator", KEC))

    lying = client.post(url, headers=headers, data={
        "field": field, "file": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "perbup.pdf")})
    assert lying.status_code == 422 and "PDF" in lying.json["message"]
    stored = client.post(url, headers=headers, data={
        "field": field, "file": (io.BytesIO(PDF), "../Perbup \"SK\" 2026.png")})
    assert stored.status_code == 201, stored.json
    assert stored.json["jenis"] == "application/pdf"
    sha = stored.json["sha256"]
    mine = client.get(f"/api/v1/files/{sha}", headers=headers)
    assert mine.status_code == 200 and mine.data == PDF
    assert "/" not in mine.headers["Content-Disposition"].split("filename*")[0]
    assert client.get(f"/api/v1/files/{sha}", headers=token(
        app, person("operator", OTHER))).status_code == 403
    # A file object naming a hash never uploaded for this stage is refused.
    saved = client.put(f"/api/v1/forms/{YEAR}/{KEC}/dukungan_regulasi", headers=headers, json={
        "data": {"kec_regulasi": {"regulasi": [{"dokumen_regulasi": {"sha256": "0" * 64}}]}}})
    assert saved.status_code == 422
    saved = client.put(f"/api/v1/forms/{YEAR}/{KEC}/dukungan_regulasi", headers=headers, json={
        "data": {"kec_regulasi": {"regulasi": [{"jenis_dokumen": "surat_edaran",
                                                "dokumen_regulasi": stored.json}]}}})
    assert saved.status_code == 200, saved.json


def test_the_document_comes_as_pdf_and_html(app):
    client = app.test_client()
    headers = token(app, person("operator", KEC))
    pdf = client.get(f"/api/v1/documents/{YEAR}/{KEC}/pra_musrenbang", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    html = client.get(f"/api/v1/documents/{YEAR}/{KEC}/pra_musrenbang?format=html", headers=headers)
    assert html.status_code == 200 and "Sungailiat" in html.get_data(as_text=True)
    assert client.get(f"/api/v1/documents/{YEAR}/{KEC}/pra_musrenbang?format=doc",
                      headers=headers).status_code == 400
