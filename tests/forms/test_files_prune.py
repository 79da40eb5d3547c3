"""Blobs of uploads whose transaction rolled back are removed by `prune_blobs` (and
``aksi form prune-files``) once an hour old; referenced blobs, young ones (an upload in
flight) and files the store did not name stay. Every backend; the clock pinned."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from helpers import track_cli_databases
from engine.cli import main
from engine.forms.files import blob_path, keep_blob, prune_blobs, put_blob, read_blob
from engine.store.models import Attachment

from .files_support import (  # noqa: F401  (fixtures)
    files_dir, juknis_defs, pdf_bytes, regions, year,
)
from .test_files import upload
from runtime.support import NOW


class RolledBack(Exception):
    pass


def upload_rolled_back(db, content: bytes) -> str:
    """An upload whose transaction fails after the blob was written; its SHA-256."""
    with pytest.raises(RolledBack):
        with db.session() as s:
            sha = keep_blob(s, content, "application/pdf", now=NOW)
            raise RolledBack(sha)
    return sha


def age(path, delta: dt.timedelta) -> None:
    """Set ``path``'s time to ``delta`` before the pinned clock."""
    stamp = (NOW - delta).timestamp()
    os.utime(path, (stamp, stamp))


def test_a_rolled_back_upload_leaves_a_blob_that_prune_removes_once_old(year, files_dir):
    kept = upload(year, pdf_bytes(), "sk.pdf")["sha256"]
    orphan = upload_rolled_back(year, pdf_bytes(pad=10))
    with year.session() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1
    assert blob_path(files_dir, orphan).is_file()  # the leak this prunes
    half = blob_path(files_dir, kept).parent / ".tmp-abc123"
    half.write_bytes(b"%PDF-")
    stranger = files_dir / "catatan.txt"
    stranger.write_text("bukan blob")
    for path in (blob_path(files_dir, kept), blob_path(files_dir, orphan), half, stranger):
        age(path, dt.timedelta(minutes=59))
    with year.session() as s:  # younger than an hour: may be an upload in flight
        assert prune_blobs(s, now=NOW) == []
    for path in (blob_path(files_dir, kept), blob_path(files_dir, orphan), half, stranger):
        age(path, dt.timedelta(hours=2))
    with year.session() as s:
        assert prune_blobs(s, now=NOW, dry_run=True) == [
            (half, 5), (blob_path(files_dir, orphan), len(pdf_bytes(pad=10)))]
        assert blob_path(files_dir, orphan).is_file()
        removed = prune_blobs(s, now=NOW)
    assert sorted(p for p, _ in removed) == sorted([half, blob_path(files_dir, orphan)])
    assert not blob_path(files_dir, orphan).exists() and not half.exists()
    assert read_blob(kept) == pdf_bytes() and stranger.exists()
    assert sorted(p.name for p in files_dir.rglob("*") if p.is_file()) == sorted(
        [kept, "catatan.txt"])


def test_uploading_an_old_orphan_again_keeps_it(year, files_dir):
    content = pdf_bytes(pad=3)
    orphan = upload_rolled_back(year, content)
    age(blob_path(files_dir, orphan), dt.timedelta(hours=5))
    assert put_blob(content) == orphan  # reused: touched, so a prune sees it in use
    assert blob_path(files_dir, orphan).stat().st_mtime > (NOW - dt.timedelta(hours=1)).timestamp()
    with year.session() as s:
        assert prune_blobs(s, now=NOW) == []
    aside = blob_path(files_dir, orphan).with_name(".prune-" + orphan)
    os.replace(blob_path(files_dir, orphan), aside)  # a prune stopped half-way ...
    upload(year, content, "ba.pdf")  # ... and the same content uploaded for good since
    os.replace(blob_path(files_dir, orphan), aside)
    with year.session() as s:
        assert prune_blobs(s, now=NOW) == []
    assert read_blob(orphan) == content and not aside.exists()  # put back: a row names it


@pytest.fixture
def cli(year, monkeypatch):
    monkeypatch.setattr("engine.cli.form_files.utcnow", lambda: NOW)
    opened = track_cli_databases(monkeypatch)
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, ["--db", year.url, *args])
    for db in opened:
        db.dispose()


def test_prune_files_command(cli, year, files_dir):
    orphan = upload_rolled_back(year, pdf_bytes(pad=20))
    age(blob_path(files_dir, orphan), dt.timedelta(hours=3))
    dry = cli("form", "prune-files", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["files"] == [str(blob_path(files_dir, orphan))]
    assert cli("form", "prune-files", "--older-than", "4").output.endswith(
        "dihapus: 0 berkas tak terpakai, 0 bait\n")
    done = cli("form", "prune-files")
    assert done.exit_code == 0, done.output
    size = len(pdf_bytes(pad=20))
    assert done.output.endswith(f"dihapus: 1 berkas tak terpakai, {size} bait\n")
    assert not blob_path(files_dir, orphan).exists()
    refused = cli("form", "prune-files", "--older-than", "0.5")
    assert refused.exit_code == 2 and "0.5" in refused.output
