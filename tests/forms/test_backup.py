"""`aksi db backup` / `aksi db restore`: the database and its attachments in one archive,
restored into an empty store (SQLite and PostgreSQL) and checked; damaged or misplaced
archives refused with nothing changed."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from conftest import reset_postgresql
from helpers import track_cli_databases
from engine.cli import main
from engine.forms.files import blob_path
from engine.store import Database

from .files_support import (  # noqa: F401  (fixtures)
    KEC, fill_pra_musrenbang, files_dir, image_bytes, juknis_defs, open_stage, regions, year,
)
from .test_files import upload


def everything(db: Database) -> dict[str, list]:
    """Every row of every table, in a comparable order."""
    with db.engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        return {name: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{name}"')).all()))
                for name in names}


def run(monkeypatch, url: str, *args: str):
    opened = track_cli_databases(monkeypatch)
    try:
        return CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)
    finally:
        for db in opened:
            db.dispose()


def empty_target(db: Database, tmp_path) -> str:
    """An empty store of the same backend: a new SQLite file, or the PostgreSQL test
    database emptied (after the backup was taken)."""
    if db.engine.dialect.name == "sqlite":
        return f"sqlite:///{tmp_path}/restored.db"
    url = db.engine.url.render_as_string(hide_password=False)
    db.dispose()
    reset_postgresql(url)
    return url


@pytest.fixture
def stocked(year, files_dir):  # noqa: F811
    """A started year with a saved stage naming an uploaded scan, and a second upload."""
    open_stage(year)
    fill_pra_musrenbang(year)
    upload(year, image_bytes("PNG"), "foto rapat.png")
    return year


def test_round_trip_restores_every_row_and_file(stocked, files_dir, tmp_path, monkeypatch):
    before = everything(stocked)
    blobs = {p.name: p.read_bytes() for p in files_dir.rglob("*") if p.is_file()}
    assert len(blobs) == 2
    archive = tmp_path / "cadangan.tar.gz"

    made = run(monkeypatch, stocked.url, "db", "backup", str(archive), "--json")
    assert made.exit_code == 0, made.output
    report = json.loads(made.output)
    assert report["blobs"] == 2 and report["problems"] == []
    assert report["tables"]["tasks"] == len(before["tasks"])

    url = empty_target(stocked, tmp_path)
    shutil.rmtree(files_dir)
    restored = run(monkeypatch, url, "db", "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "dipulihkan dari" in restored.output and "2 berkas" in restored.output

    db = Database(url)
    try:
        assert everything(db) == before
    finally:
        db.dispose()
    assert {p.name: p.read_bytes() for p in files_dir.rglob("*") if p.is_file()} == blobs


def test_restore_refuses_a_store_with_tables_and_changes_nothing(stocked, tmp_path, monkeypatch):
    archive = tmp_path / "cadangan.tar.gz"
    assert run(monkeypatch, stocked.url, "db", "backup", str(archive)).exit_code == 0
    before = everything(stocked)
    refused = run(monkeypatch, stocked.url, "db", "restore", str(archive))
    assert refused.exit_code == 1
    assert "sudah berisi" in refused.output and "--replace" in refused.output
    assert everything(stocked) == before


def test_restore_with_replace_overwrites_later_changes(stocked, tmp_path, monkeypatch):
    archive = tmp_path / "cadangan.tar.gz"
    assert run(monkeypatch, stocked.url, "db", "backup", str(archive)).exit_code == 0
    before = everything(stocked)
    with stocked.session() as s:
        s.execute(text("DELETE FROM inbox"))
        s.execute(text("UPDATE users SET display_name = 'diubah'"))
    assert everything(stocked) != before
    done = run(monkeypatch, stocked.url, "db", "restore", str(archive), "--replace")
    assert done.exit_code == 0, done.output
    assert everything(stocked) == before


def test_a_damaged_file_in_the_archive_is_refused_before_anything_changes(
        stocked, files_dir, tmp_path, monkeypatch):
    archive = tmp_path / "cadangan.tar.gz"
    assert run(monkeypatch, stocked.url, "db", "backup", str(archive)).exit_code == 0
    damaged = tmp_path / "rusak.tar.gz"
    with tarfile.open(archive, "r:gz") as src, tarfile.open(damaged, "w:gz") as out:
        first_file = min(n for n in src.getnames() if n.startswith("files/"))
        for member in src:
            content = src.extractfile(member).read() if member.isfile() else b""
            if member.name == first_file:  # one bit flipped
                content = content[:-1] + bytes([content[-1] ^ 1])
            out.addfile(member, io.BytesIO(content))
    url = empty_target(stocked, tmp_path)
    shutil.rmtree(files_dir)
    refused = run(monkeypatch, url, "db", "restore", str(damaged))
    assert refused.exit_code == 1
    assert "rusak" in refused.output and "SHA-256" in refused.output
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        db.dispose()
    assert not files_dir.exists() or not any(p.is_file() for p in files_dir.rglob("*"))


def test_not_an_archive_is_a_plain_refusal(db, tmp_path, monkeypatch):
    bogus = tmp_path / "bukan.tar.gz"
    bogus.write_bytes(b"PK\x03\x04 not a tar")
    refused = run(monkeypatch, db.url, "db", "restore", str(bogus))
    assert refused.exit_code == 1
    assert "bukan arsip cadangan aksi" in refused.output
    assert "Traceback" not in refused.output


def test_backup_names_a_missing_attachment(stocked, files_dir, tmp_path, monkeypatch):
    victim = next(p for p in files_dir.rglob("*") if p.is_file())
    victim.unlink()
    archive = tmp_path / "cadangan.tar.gz"
    failed = run(monkeypatch, stocked.url, "db", "backup", str(archive))
    assert failed.exit_code == 1
    assert victim.name in failed.output
    assert not archive.exists()
    assert blob_path(files_dir, victim.name) == victim
