"""Fixtures and helpers of the attachment and document tests (test_files, test_documents).

The database fixtures (`db`: every backend) are in tests/conftest.py; `regions` (province
19 with its desa) and `juknis_defs` come from the runtime tests.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import shutil
import subprocess

import pytest

from engine.forms.entry import context_for
from engine.forms.files import store_upload
from engine.forms.sample import sample_document
from engine.definitions.forms.spec import spec_of
from engine.people import add_user
from engine.runtime import act_on, find_task, save_on, start_year
from engine.runtime.gates import open_task
from engine.store.library import pinned
from runtime.conftest import juknis_defs, regions  # noqa: F401
from runtime.support import NOW, UTC, YEAR, add_standard_users, user

KEC = "19.01.03"  # Kecamatan Merawang, Kabupaten Bangka
OUTSIDE = "19.02.01"  # Tanjungpandan, Kabupaten Belitung: not KEC's
STAGE = "pra_musrenbang"
BA = "kec_berita_acara_pra_musrenbang"
LIST = "kec_pra_musrenbang"
BA_FILE = "berita_acara.berkas_berita_acara"
# Pra-musrenbang is held in February: 10 February 2026, 10:00 WIB.
FEB = dt.datetime(2026, 2, 10, 3, 0, tzinfo=UTC)
NAMES = {"operator": "Siti Rahmawati", "verifikator": "Budi Santoso",
         "approver": "Drs. H. Ahmad Fauzi, M.Si."}


def pdf_bytes(pad: int = 0) -> bytes:
    """A small file that is a PDF by its content."""
    body = (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n")
    return body + b"%" + b"0" * pad + b"\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def image_bytes(kind: str) -> bytes:
    """A real 4x4 image: PNG, JPEG or GIF."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


def pdf_text(content: bytes) -> str:
    """The text of a PDF: pdftotext (poppler-utils) if installed, else pypdf."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content,
                              capture_output=True, check=True).stdout.decode("utf-8")
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf is a test dependency
        pytest.skip("neither pdftotext nor pypdf is installed")
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def files_dir(tmp_path, monkeypatch):
    """An empty blob store, as ``$AKSI_FILES``."""
    path = tmp_path / "aksi-files"
    monkeypatch.setenv("AKSI_FILES", str(path))
    return path


@pytest.fixture
def year(regions, juknis_defs, files_dir):  # noqa: F811
    """Year `YEAR` started at `NOW` on the shipped definitions, with the standard users
    (operator/verifikator/approver of every Kabupaten Bangka kecamatan, supervisors of
    19.01 and 19.02, an operator of `OUTSIDE`) and display names for `KEC`'s."""
    with regions.session() as s:
        start_year(s, juknis_defs, YEAR, province="19", now=NOW)
        add_standard_users(s, juknis_defs)
        for role, name in NAMES.items():
            add_user(s, juknis_defs, user(role, KEC), display_name=name, now=NOW)
    return regions


def open_stage(db, region: str = KEC, stage: str = STAGE, now: dt.datetime = FEB) -> None:
    """Open a locked stage as the clock would once its gate holds (the earlier stages are
    not what these tests are about)."""
    with db.session() as s:
        task = find_task(s, region, stage, YEAR)
        open_task(s, task, pinned(s, task.definition_hash), now)


def fill_pra_musrenbang(db, *, rows: int = 3, region: str = KEC, now: dt.datetime = FEB,
                        seed: int = 1) -> dict:
    """Save plausible documents of the stage (``rows`` programme rows) with an uploaded,
    signed Berita Acara scan; the data saved."""
    with db.session() as s:
        task = find_task(s, region, STAGE, YEAR)
        definition = pinned(s, task.definition_hash)
        ctx = context_for(s, definition, task)
        rng = random.Random(seed)
        data = {form: sample_document(definition, form, ctx, rng=rng)
                for form in definition.stage(STAGE).outputs}
        plan = []
        for i in range(rows):
            row = sample_document(definition, LIST, ctx, rng=random.Random(seed + i))["rencana"][0]
            row["program_kegiatan"] = f"Program/kegiatan {i + 1}: pemberian makanan tambahan lokal"
            row["prioritas"] = i + 1
            plan.append(row)
        data[LIST]["rencana"] = plan
        meeting = data[BA]["pertemuan"]
        meeting["tanggal_pelaksanaan"] = f"{YEAR}-02-05"
        meeting["tempat_pelaksanaan"] = "Aula Kantor Camat Merawang"
        meeting["pimpinan_rapat"] = "Drs. H. Ahmad Fauzi, M.Si."
        data[BA]["berita_acara"].pop("tanggal_musrenbang_kecamatan", None)
        _, field = spec_of(definition, BA).find(BA_FILE)
        data[BA]["berita_acara"]["berkas_berita_acara"] = store_upload(
            s, task=task, field=field, content=pdf_bytes(), name="BA pra-musrenbang (ttd).pdf",
            username=user("operator", region), now=now)
        save_on(s, region, STAGE, YEAR, user("operator", region), data, now=now)
    return data


def approve(db, region: str = KEC, *, start: dt.datetime = FEB) -> dt.datetime:
    """Submit, verify and approve the stage an hour, a day and two days after ``start``;
    the approval's time."""
    at = start
    for trigger, role, hours in (("submit", "operator", 1), ("verify", "verifikator", 24),
                                 ("approve", "approver", 48)):
        at = start + dt.timedelta(hours=hours)
        with db.session() as s:
            act_on(s, region, STAGE, YEAR, trigger, user(role, region), now=at)
    return at


@pytest.fixture
def ba_stage(year):
    """`KEC`'s pra-musrenbang opened and filled (3 programme rows), not yet submitted."""
    open_stage(year)
    fill_pra_musrenbang(year)
    return year
