"""Attachments: judged by content, size-limited, kept once, downloaded only by those who see
a stage that uses them; and `aksi form attach`."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from helpers import track_cli_databases
from engine.cli import main
from engine.errors import InvalidForm, NotPermitted
from engine.forms.files import (
    blob_path, content_disposition, known_files, open_download, store_upload, unknown_files,
)
from engine.forms.parts import parts_of
from engine.definitions.forms.spec import Field, spec_of
from engine.people import actor
from engine.runtime import find_task
from engine.store.library import pinned
from engine.store.models import Attachment, AttachmentUse
from runtime.support import NOW, YEAR, user

from .files_support import (  # noqa: F401  (fixtures)
    BA, BA_FILE, KEC, OUTSIDE, STAGE, ba_stage, files_dir, image_bytes, juknis_defs, open_stage,
    pdf_bytes, regions, year,
)

REG = "dukungan_regulasi"  # open all year: ready at NOW
REG_FILE = ("kec_regulasi", "regulasi.dokumen_regulasi")


def reg_title(definitions) -> str:
    form, path = REG_FILE
    return spec_of(definitions["kecamatan"], form).find(path)[1].title


def file_field(accept=("application/pdf", "image/jpeg", "image/png"), max_bytes=None) -> Field:
    schema = {"type": "object", "x-kind": "file", "x-accept": list(accept)}
    if max_bytes is not None:
        schema["x-max-bytes"] = max_bytes
    return Field("berkas", "Berkas uji", schema, None, False)


def upload(db, content: bytes, name: str, *, field: Field | None = None, region: str = KEC,
           stage: str = REG, username: str | None = None) -> dict:
    with db.session() as s:
        task = find_task(s, region, stage, YEAR)
        if field is None:
            form, path = REG_FILE
            field = spec_of(pinned(s, task.definition_hash), form).find(path)[1]
        return store_upload(s, task=task, field=field, content=content, name=name,
                            username=username or user("operator", region), now=NOW)


def refusal(db, content: bytes, name: str, **kwargs) -> str:
    with pytest.raises(InvalidForm) as caught:
        upload(db, content, name, **kwargs)
    return caught.value.message


def blobs(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file())


# -- judged by content -------------------------------------------------------------------------

def test_a_lying_extension_is_judged_by_content(year, files_dir):
    png, pdf = image_bytes("PNG"), pdf_bytes()
    only_pdf = file_field(accept=("application/pdf",))
    message = refusal(year, png, "surat-keputusan.pdf", field=only_pdf)
    assert message == ("«Berkas uji»: berkas ini bukan PDF: isinya terbaca sebagai PNG "
                       "(image/png)")
    renamed = upload(year, pdf, "scan.png", field=only_pdf)
    assert renamed["jenis"] == "application/pdf" and renamed["nama"] == "scan.png"
    # Where both are allowed, each keeps the type its content has, whatever its name.
    assert upload(year, png, "sk.pdf")["jenis"] == "image/png"
    assert upload(year, image_bytes("JPEG"), "foto.png")["jenis"] == "image/jpeg"
    assert not blobs(files_dir)[0].name.startswith(".tmp")


def test_only_the_allowed_types(year, files_dir):
    assert "bukan PDF/JPEG/PNG: isinya terbaca sebagai GIF (image/gif)" in refusal(
        year, image_bytes("GIF"), "ba.pdf")
    assert "isinya terbaca sebagai ZIP (application/zip)" in refusal(
        year, b"PK\x03\x04" + b"\0" * 200, "ba.pdf")
    assert "isinya terbaca sebagai jenis yang tidak dikenali" in refusal(
        year, b"<html><script>alert(1)</script></html>", "ba.pdf")
    assert "berkas kosong" in refusal(year, b"", "ba.pdf")
    assert blobs(files_dir) == []  # nothing refused is kept
    with year.session() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0


def test_size_limit(year, files_dir):
    small = file_field(max_bytes=1000)
    exact = pdf_bytes(pad=1000 - len(pdf_bytes()))
    assert len(exact) == 1000
    assert upload(year, exact, "pas.pdf", field=small)["ukuran"] == 1000
    message = refusal(year, exact + b"\n", "lebih.pdf", field=small)
    assert message == "«Berkas uji»: berkas terlalu besar (1001 bait); paling besar 1000 bait"
    shipped = refusal(year, pdf_bytes(pad=10 * 1024 * 1024), "besar.pdf")
    assert "berkas terlalu besar (10,0 MB); paling besar 10,0 MB" in shipped


def test_stored_once_by_hash(year, files_dir):
    content = pdf_bytes()
    first = upload(year, content, "Perbup 12 tahun 2026.pdf")
    second = upload(year, content, "salinan perbup.pdf", region="19.01.01")
    again = upload(year, content, "sama lagi.pdf")
    assert first["sha256"] == second["sha256"] == again["sha256"]
    assert (first["nama"], second["nama"]) == ("Perbup 12 tahun 2026.pdf", "salinan perbup.pdf")
    sha = first["sha256"]
    assert blobs(files_dir) == [blob_path(files_dir, sha)]
    assert blob_path(files_dir, sha) == files_dir / sha[:2] / sha[2:4] / sha
    assert blob_path(files_dir, sha).read_bytes() == content
    with year.session() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1
        uses = s.execute(select(AttachmentUse.name, AttachmentUse.uploaded_by)
                         .order_by(AttachmentUse.id)).all()
        assert [tuple(u) for u in uses] == [("Perbup 12 tahun 2026.pdf", user("operator", KEC)),
                                           ("salinan perbup.pdf", user("operator", "19.01.01"))]


def test_known_files_of_a_stage(year, juknis_defs):
    value = upload(year, pdf_bytes(), "sk.pdf")
    with year.session() as s:
        task = find_task(s, KEC, REG, YEAR)
        other = find_task(s, "19.01.01", REG, YEAR)
        assert known_files(s, task.id) == {value["sha256"]}
        assert known_files(s, other.id) == set()
        definition = pinned(s, task.definition_hash)
        row = {"dokumen_regulasi": value}
        assert unknown_files(definition, {"kec_regulasi": {"regulasi": [row]}},
                             known_files(s, task.id)) == []
        forged = {"dokumen_regulasi": {**value, "sha256": "0" * 64}}
        title = spec_of(definition, "kec_regulasi").find("regulasi.dokumen_regulasi")[1].title
        assert unknown_files(definition, {"kec_regulasi": {"regulasi": [row, forged]}},
                             known_files(s, task.id)) == [f"«{title}»"]


def test_only_data_entry_may_upload(year):
    with pytest.raises(NotPermitted):
        upload(year, pdf_bytes(), "sk.pdf", username=user("operator", OUTSIDE))
    with pytest.raises(NotPermitted):
        upload(year, pdf_bytes(), "sk.pdf", username=user("verifikator", KEC))


# -- downloading -------------------------------------------------------------------------------

def test_download_needs_sight_of_a_stage_using_the_file(year, files_dir):
    value = upload(year, pdf_bytes(), "Perbup stunting.pdf")
    sha = value["sha256"]
    with year.session() as s:
        for allowed in (user("verifikator", KEC), user("supervisor", "19.01"), user("operator", KEC)):
            path, media_type, name = open_download(s, sha256=sha, user=actor(s, allowed))
            assert (path, media_type, name) == (blob_path(files_dir, sha), "application/pdf",
                                                "Perbup stunting.pdf")
        refused = []
        for outsider in (user("operator", OUTSIDE), user("supervisor", "19.02"),
                         user("operator", "19.01.01")):
            with pytest.raises(NotPermitted) as caught:
                open_download(s, sha256=sha, user=actor(s, outsider))
            refused.append(caught.value.message.split(" ", 1)[1])
        # an unknown or malformed hash is refused alike: a refusal does not tell it exists
        for bogus in ("f" * 64, "../../etc/passwd", sha.upper()):
            with pytest.raises(NotPermitted) as caught:
                open_download(s, sha256=bogus, user=actor(s, user("operator", OUTSIDE)))
            refused.append(caught.value.message.split(" ", 1)[1])
        assert set(refused) == {"tidak berhak mengunduh berkas ini"}


def test_content_disposition_of_a_hostile_name():
    hostile = '..\\../etc/"pass\\wd"\r\nSet-Cookie: a=b; x=.pdf'
    header = content_disposition(hostile)
    assert "\r" not in header and "\n" not in header
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    assert not set(fallback) & set('"\\/\r\n;')
    assert fallback.endswith(".pdf")
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", header).group(1)
    assert re.fullmatch(r"[A-Za-z0-9%._~-]+", encoded)
    # the real name: its last path component, without the control characters
    assert unquote(encoded) == 'wd"Set-Cookie: a=b; x=.pdf'
    assert header.startswith("attachment; ")

    nice = content_disposition("Berita Acara – Kecamatan Merawang ✓.pdf")
    assert nice == ('attachment; filename="Berita Acara _ Kecamatan Merawang.pdf"; '
                    "filename*=UTF-8''Berita%20Acara%20%E2%80%93%20Kecamatan%20Merawang%20"
                    "%E2%9C%93.pdf")
    assert 'filename="berkas.pdf"' in content_disposition("✓✓✓.pdf")
    assert content_disposition("scan.png", inline=True).startswith("inline; ")


# -- aksi form attach --------------------------------------------------------------------------

@pytest.fixture
def cli(year, monkeypatch):
    """Run ``aksi --db URL ...`` on the started year, the clock at `NOW`."""
    monkeypatch.setattr("engine.cli.form_files.utcnow", lambda: NOW)
    opened = track_cli_databases(monkeypatch)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--db", year.url, *args])

    yield run
    for db in opened:
        db.dispose()


def test_cli_attach_into_rows_and_fields(cli, year, tmp_path, juknis_defs):
    scan = tmp_path / "SK Tim Percepatan.jpg"
    scan.write_bytes(pdf_bytes())  # a PDF, whatever its name says
    common = ["--year", str(YEAR), "--as", user("operator", KEC)]
    result = cli("form", "attach", KEC, REG, str(scan), *common,
                 "--field", "kec_regulasi.regulasi.dokumen_regulasi", "--row", "1")
    assert result.exit_code == 0, result.output
    assert (f"terlampir: «{reg_title(juknis_defs)}» baris 1 ← SK Tim Percepatan.jpg (PDF, 138 bait, "
            "sha256 ") in result.output
    assert "tersimpan: bagian (seluruh dokumen), versi 1" in result.output
    with year.session() as s:
        task = find_task(s, KEC, REG, YEAR)
        rows = parts_of(s, task.id)[""].data["kec_regulasi"]["regulasi"]
        assert rows[0]["dokumen_regulasi"]["jenis"] == "application/pdf"
        assert rows[0]["dokumen_regulasi"]["sha256"] in known_files(s, task.id)

    other = tmp_path / "perbup.png"
    other.write_bytes(image_bytes("PNG"))
    result = cli("form", "attach", KEC, REG, str(other), *common, "--json",
                 "--field", "kec_regulasi.regulasi.dokumen_regulasi", "--row", "2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["file"]["jenis"] == "image/png"
    with year.session() as s:
        rows = parts_of(s, find_task(s, KEC, REG, YEAR).id)[""].data["kec_regulasi"]["regulasi"]
        assert [r["dokumen_regulasi"]["nama"] for r in rows] == ["SK Tim Percepatan.jpg",
                                                                "perbup.png"]

    # a fields section takes no --row
    open_stage(year)
    ba = tmp_path / "berita acara.pdf"
    ba.write_bytes(pdf_bytes(pad=10))
    result = cli("form", "attach", KEC, STAGE, str(ba), *common, "--field", f"{BA}.{BA_FILE}")
    assert result.exit_code == 0, result.output
    with year.session() as s:
        doc = parts_of(s, find_task(s, KEC, STAGE, YEAR).id)[""].data[BA]
        assert doc["berita_acara"]["berkas_berita_acara"]["nama"] == "berita acara.pdf"


def test_cli_attach_refusals(cli, year, tmp_path, files_dir, juknis_defs):
    gif = tmp_path / "ba.pdf"
    gif.write_bytes(image_bytes("GIF"))
    common = ["--year", str(YEAR), "--as", user("operator", KEC)]
    field = ["--field", "kec_regulasi.regulasi.dokumen_regulasi"]
    result = cli("form", "attach", KEC, REG, str(gif), *common, *field, "--row", "1")
    assert result.exit_code == 1
    assert (f"Ditolak: «{reg_title(juknis_defs)}»: berkas ini bukan PDF/JPEG/PNG: isinya terbaca "
            "sebagai GIF (image/gif)") in result.output
    pdf = tmp_path / "ok.pdf"
    pdf.write_bytes(pdf_bytes())
    result = cli("form", "attach", KEC, REG, str(pdf), *common, *field)
    assert result.exit_code == 2 and "sebutkan nomor baris" in result.output
    result = cli("form", "attach", KEC, REG, str(pdf), *common, *field, "--row", "3")
    assert result.exit_code == 2 and "berisi 0 baris" in result.output
    result = cli("form", "attach", KEC, REG, str(pdf), "--year", str(YEAR),
                 "--as", user("operator", OUTSIDE), *field, "--row", "1")
    assert result.exit_code == 1 and "tidak berhak" in result.output
    with year.session() as s:  # nothing of the refused attempts stayed in the store
        assert s.scalar(select(func.count()).select_from(AttachmentUse)) == 0
