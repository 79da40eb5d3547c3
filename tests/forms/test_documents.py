"""Documents: the printable HTML and PDF of a stage, kept unchanged once approved."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from helpers import track_cli_databases
from engine.cli import main
from engine.errors import NotPermitted
from engine.forms.documents import (
    document, format_count, format_date, format_moment, format_number, format_rupiah,
    region_title, render_html,
)
from engine.forms.files import open_download
from engine.definitions.forms.spec import spec_of
from engine.people import actor
from engine.runtime import act_on
from engine.store.models import RenderedDocument
from runtime.support import UTC, YEAR, user

from .files_support import (  # noqa: F401  (fixtures)
    BA, KEC, LIST, NAMES, STAGE, approve, ba_stage, files_dir, fill_pra_musrenbang,
    juknis_defs, open_stage, pdf_text, regions, year,
)

TITLE = "Berita Acara Hasil Pra Musrenbang Kecamatan Tematik Stunting"
WHERE = f"Kecamatan Merawang — Tahun {YEAR}"


def doc(db, fmt: str = "html", *, as_user: str | None = None, now: dt.datetime | None = None,
        form: str | None = None) -> tuple[bytes, str, str]:
    with db.session() as s:
        return document(s, region=KEC, stage=STAGE, year=YEAR, form=form, fmt=fmt,
                        user=actor(s, as_user) if as_user else None, now=now)


def kept(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(RenderedDocument))


# -- formats -----------------------------------------------------------------------------------

def test_indonesian_formats():
    assert format_rupiah(1234567) == "Rp1.234.567"
    assert format_count(1234) == "1.234" and format_count(7) == "7"
    assert format_number(1234.5) == "1.234,5" and format_number(12.0) == "12"
    assert format_date("2027-01-15") == "15 Januari 2027"
    assert format_date("bukan tanggal") == "bukan tanggal"
    moment = dt.datetime(2027, 2, 12, 3, 0, tzinfo=UTC)
    assert format_moment(moment, "Asia/Jakarta") == "12 Februari 2027 pukul 10.00 WIB"
    assert format_moment(moment, "Asia/Makassar") == "12 Februari 2027 pukul 11.00 WITA"
    assert format_moment(moment.isoformat(), "Asia/Jayapura") == "12 Februari 2027 pukul 12.00 WIT"


def test_region_titles():
    assert region_title("19.01.03", "MERAWANG") == "Kecamatan Merawang"
    assert region_title("19.01.03", "Merawang") == "Kecamatan Merawang"
    assert region_title("19.01", "KAB. BANGKA") == "Kabupaten Bangka"
    assert region_title("19.01", "BANGKA") == "Kabupaten Bangka"
    assert region_title("19.71", "KOTA PANGKAL PINANG") == "Kota Pangkal Pinang"
    assert region_title("19.71", "PANGKAL PINANG") == "Kota Pangkal Pinang"
    assert region_title("19", "KEPULAUAN BANGKA BELITUNG") == "Provinsi Kepulauan Bangka Belitung"
    assert region_title("31", "DKI JAKARTA") == "Provinsi DKI Jakarta"
    assert region_title("19.01.03.2001", "BATU RUSA") == "Desa Batu Rusa"
    assert region_title("19.01.01.1001", "SUNGAILIAT") == "Kelurahan Sungailiat"


def test_labels_and_formatted_values(juknis_defs):
    """Rupiah, counts, yes/no, dates and enumerations the Indonesian way; the trail in the
    region's own zone (a kecamatan of Makassar keeps WITA)."""
    definition = juknis_defs["kecamatan"]
    form = "kec_analisis_situasi"
    spec = spec_of(definition, form)
    multi = spec.find("pertemuan.unsur_peserta")[1]
    value, label = multi.choices()[1]
    data = {form: {
        "desa": {"73.71.01.1001": {"jumlah_penduduk": 1234, "desa_pemanfaatan_pekarangan": True},
                 "73.71.01.1002": {"desa_pemanfaatan_pekarangan": False}},
        "program": [{"alokasi_anggaran": 1234567}],
        "pertemuan": {"tanggal_pelaksanaan": "2027-01-15", "unsur_peserta": [value]},
    }}
    task = SimpleNamespace(region_code="73.71.01", year=2027, stage="analisis_situasi",
                           state="submitted", done_at=None)
    trail = [{"id": 1, "at": "2027-01-14T02:30:00+00:00", "kind": "submit", "actor": "ops",
              "from": "ready", "to": "submitted",
              "payload": {"roles": ["operator"], "units": ["Puskesmas"]}},
             {"id": 2, "at": "2027-01-14T02:31:00+00:00", "kind": "save", "actor": "ops",
              "payload": {}}]
    html = render_html(definition, task, "MARISO", data, trail, form=form,
                       names={"73.71.01.1001": "MARISO", "73.71.01.1002": "LETTE"},
                       rows=["73.71.01.1001", "73.71.01.1002"])
    assert f"<title>{spec.title} — Kecamatan Mariso — Tahun 2027 (DRAF)</title>" in html
    for text in ("Rp1.234.567", "1.234", ">Ya<", ">Tidak<", "15 Januari 2027", label,
                 "Kelurahan Mariso", "Kelurahan Lette",
                 spec.find("desa.jumlah_penduduk")[1].title,
                 spec.find("program.alokasi_anggaran")[1].title, spec.section("desa").title,
                 "14 Januari 2027 pukul 10.30 WITA", "Operator Kecamatan (Puskesmas)", "DRAF"):
        assert text in html, text
    assert html.count("pukul") == 2  # the trail row and its signature; a save is no step


# -- the Berita Acara --------------------------------------------------------------------------

def test_draft_html_is_rendered_fresh_and_marked(ba_stage, juknis_defs):
    html = doc(ba_stage)[0].decode("utf-8")
    spec = spec_of(juknis_defs["kecamatan"], BA)
    assert f"<title>{TITLE} — {WHERE} (DRAF)</title>" in html
    assert f"<h1>{TITLE}<span class=\"sub\">{WHERE}</span></h1>" in html
    assert "Kecamatan Merawang, Kabupaten Bangka, Provinsi Kepulauan Bangka Belitung" in html
    assert 'class="draft-mark"' in html and "belum disetujui" in html
    for section in spec.sections:
        assert section.title in html
    assert spec.find("pertemuan.tanggal_pelaksanaan")[1].title in html
    assert f"5 Februari {YEAR}" in html
    assert "BA pra-musrenbang (ttd).pdf" in html  # the uploaded scan, named
    # the daftar rencana comes along as Lampiran 1, with its programme rows
    assert f"Terlampir: {spec_of(juknis_defs['kecamatan'], LIST).title} (Lampiran 1)" in html
    assert "Program/kegiatan 3: pemberian makanan tambahan lokal" in html
    assert "Belum ada verifikasi atau persetujuan." in html
    assert html.count("(belum)") == 3  # Operator, Verifikator, Camat: unsigned
    assert kept(ba_stage) == 0


def test_trail_and_signatures_once_approved(ba_stage):
    approve(ba_stage)
    html = doc(ba_stage)[0].decode("utf-8")
    assert "DRAF" not in html
    assert f"Disetujui 12 Februari {YEAR} pukul 10.00 WIB" in html
    for action, who, role, when in (
            ("Kirim untuk verifikasi", NAMES["operator"], "Operator Kecamatan", "10 Februari"),
            ("Verifikasi", NAMES["verifikator"], "Verifikator Kecamatan", "11 Februari"),
            ("Setujui", NAMES["approver"], "Camat", "12 Februari")):
        assert (f"<td>{action}</td><td>{who}</td><td>{role}</td>"
                f"<td>{when} {YEAR} pukul") in html
    signatures = html[html.index('class="signatures"'):]
    for heading, role in (("Disusun oleh,", "Operator Kecamatan"),
                          ("Diperiksa oleh,", "Verifikator Kecamatan"),
                          ("Disetujui oleh,", "Camat")):
        assert f'<p class="heading">{heading}</p>\n      <p class="role">{role}</p>' in signatures
    for name in NAMES.values():
        assert f'<p class="name">{name}</p>' in signatures
    assert f"Merawang, 12 Februari {YEAR}" in html
    assert "(belum)" not in html


def test_pdf_has_the_title(ba_stage):
    content, media_type, name = doc(ba_stage, "pdf")
    assert content.startswith(b"%PDF")
    assert media_type == "application/pdf" and name == f"{BA}_{KEC}_{YEAR}.pdf"
    text = " ".join(pdf_text(content).split())
    assert TITLE in text and WHERE in text and "DRAF" in text


def test_an_approved_document_never_changes(ba_stage, files_dir):
    approved_at = approve(ba_stage)
    first = doc(ba_stage, "pdf", now=approved_at + dt.timedelta(hours=1))[0]
    again = doc(ba_stage, "pdf", now=approved_at + dt.timedelta(days=30))[0]
    assert again == first and kept(ba_stage) == 1
    html = doc(ba_stage, "html")[0]
    assert doc(ba_stage, "html")[0] == html and kept(ba_stage) == 2
    with ba_stage.session() as s:
        row = s.execute(select(RenderedDocument.sha256, RenderedDocument.done_at)
                        .where(RenderedDocument.media_type == "application/pdf")).one()
        assert row.done_at == approved_at
        # the kept PDF downloads for those who see the stage, not for the others
        path, media_type, name = open_download(s, sha256=row.sha256,
                                               user=actor(s, user("supervisor", "19.01")))
        assert path.read_bytes() == first and name == f"{BA}_{KEC}_{YEAR}.pdf"
        with pytest.raises(NotPermitted):
            open_download(s, sha256=row.sha256, user=actor(s, user("supervisor", "19.02")))

    # Reopened: a draft again, rendered fresh and not kept.
    reopened_at = approved_at + dt.timedelta(days=3)
    with ba_stage.session() as s:
        act_on(s, KEC, STAGE, YEAR, "reopen", user("approver", KEC),
               reason="lampiran belum lengkap", now=reopened_at)
    draft = doc(ba_stage)[0].decode("utf-8")
    assert "DRAF" in draft and "lampiran belum lengkap" in draft and kept(ba_stage) == 2
    # Approved again: a new done_at, a new rendering, itself kept from then on.
    second_at = approve(ba_stage, start=reopened_at)
    renewed = doc(ba_stage, "html")[0]
    assert renewed != html and kept(ba_stage) == 3
    assert doc(ba_stage, "html")[0] == renewed
    text = renewed.decode("utf-8")
    assert f"Disetujui {second_at.day} Februari {YEAR}" in text
    assert text.count("Buka kembali") == 1  # the trail keeps the reopening


def test_only_those_who_see_the_region(ba_stage):
    with pytest.raises(NotPermitted):
        doc(ba_stage, as_user=user("supervisor", "19.02"))
    assert doc(ba_stage, as_user=user("supervisor", "19.01"))[0].startswith(b"<!DOCTYPE html>")


def test_cli_document(ba_stage, tmp_path, monkeypatch):
    opened = track_cli_databases(monkeypatch)
    runner = CliRunner()
    try:
        out = tmp_path / "ba.html"
        result = runner.invoke(main, ["--db", ba_stage.url, "document", KEC, STAGE, "--year",
                                      str(YEAR), "--format", "html", "-o", str(out),
                                      "--as", user("supervisor", "19.01")])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"tertulis: {out} (HTML, ")
        assert f"{TITLE} — {WHERE}" in out.read_text(encoding="utf-8")
        result = runner.invoke(main, ["--db", ba_stage.url, "document", KEC, STAGE, "--year",
                                      str(YEAR), "--form", LIST, "-o", str(tmp_path / "d.pdf")])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")
        result = runner.invoke(main, ["--db", ba_stage.url, "document", KEC, STAGE, "--year",
                                      str(YEAR), "-o", str(tmp_path / "x.pdf"),
                                      "--as", user("supervisor", "19.02")])
        assert result.exit_code == 1 and "tidak berhak melihat wilayah" in result.output
        assert not (tmp_path / "x.pdf").exists()
    finally:
        for db in opened:
            db.dispose()


def test_a_berita_acara_with_40_rows_carries_its_list(year):
    """A Berita Acara with a 40-row daftar rencana, approved: one PDF with the list as its
    lampiran, kept (timings are benchmarks/document_pdf.py's job, never a test's)."""
    open_stage(year)
    fill_pra_musrenbang(year, rows=40)
    approve(year)
    content = doc(year, "pdf")[0]
    assert doc(year, "pdf")[0] == content
    assert content.startswith(b"%PDF") and "Lampiran 1" in pdf_text(content)
