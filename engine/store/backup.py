"""Backups of the whole service: the database and the attachment blobs, in one archive.

An archive is a gzip'd tar holding

- ``manifest.json``: format, backend, schema revision, when, the rows of every table and
  the SHA-256 and size of every blob;
- the database: ``database.sqlite`` (SQLite's online backup API: a consistent copy taken
  while the service runs) or ``database.pgdump`` (``pg_dump --format=custom``);
- ``files/<sha256>``: every blob an ``attachments`` row of that database names.

Consistency. The manifest's counts and blob list come from the very snapshot the dump
holds: on SQLite they are read from the copy itself, on PostgreSQL from the transaction
whose snapshot ``pg_dump --snapshot`` exports. Blobs are written before the rows that
name them (forms/files.py), so every blob the snapshot names is on disk when it is
copied after the snapshot was taken.

A restore checks the archive before it changes anything: the manifest, every blob
against its SHA-256, the backend, a schema revision this code knows, and (unless told to
replace) an empty target. It then restores the database, writes the blobs into the files
directory, and checks the result: the rows of every table and every attachment's bytes
against the manifest. Stop the web processes and workers while restoring.

The blob store's layout is the caller's business (``blob_path``), so this module does not
depend on the forms package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from ..errors import AksiError, Refused
from .database import Database

FORMAT = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
FILES = "files/"
BlobPath = Callable[[str], Path]  # sha256 -> where the blob lives in the files directory


class BackupError(AksiError):
    """A backup or restore that could not be made or did not check out."""


@dataclass
class Report:
    """What a backup wrote or a restore restored and checked."""

    backend: str
    schema: str | None
    created_at: str
    tables: dict[str, int]
    blobs: int
    blob_bytes: int
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"backend": self.backend, "schema": self.schema, "created_at": self.created_at,
                "tables": self.tables, "rows": sum(self.tables.values()), "blobs": self.blobs,
                "blob_bytes": self.blob_bytes, "problems": self.problems}


# -- backup -------------------------------------------------------------------------------------

def backup(db: Database, target: Path, *, blob_path: BlobPath,
           now: dt.datetime | None = None) -> Report:
    """Write an archive of ``db`` and the blobs it names to ``target`` (written aside,
    then renamed: a failed backup leaves no half archive under the name)."""
    backend = db.engine.dialect.name
    created = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".aksi-backup-") as work:
        dump = Path(work) / DUMPS[backend]
        with _snapshot(db, dump) as conn:
            schema, tables, shas = _contents(conn)
        blobs = {}
        for sha in shas:
            path = blob_path(sha)
            if not path.is_file():
                raise BackupError(f"berkas {sha} yang disebut tabel attachments tidak ada di "
                                  f"direktori berkas ({path})", sha256=sha)
            blobs[sha] = path.stat().st_size
        manifest = {"format": FORMAT, "backend": backend, "schema": schema,
                    "created_at": created, "tables": tables, "blobs": blobs}
        partial = Path(work) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            tar.add(dump, arcname=DUMPS[backend])
            for sha in sorted(blobs):
                tar.add(blob_path(sha), arcname=FILES + sha)
        os.replace(partial, target)
    return Report(backend, schema, created, tables, len(blobs), sum(blobs.values()))


@contextlib.contextmanager
def _snapshot(db: Database, dump: Path) -> Iterator[Connection]:
    """Dump the database to ``dump``; yield a connection that reads the same snapshot."""
    if db.engine.dialect.name == "sqlite":
        source = db.engine.raw_connection()
        try:
            copy = sqlite3.connect(dump)
            try:
                source.driver_connection.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        copy_db = Database(f"sqlite:///{dump}")
        try:
            with copy_db.engine.connect() as conn:
                yield conn
        finally:
            copy_db.dispose()
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            _pg_tool(db, "pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                     f"--snapshot={snapshot}", "--file", str(dump))
            yield conn


def _contents(conn: Connection) -> tuple[str | None, dict[str, int], list[str]]:
    """Schema revision, rows per table and the attachments' hashes, as ``conn`` sees them."""
    names = sorted(inspect(conn).get_table_names())
    tables = {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
              for name in names}
    schema = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
              if "alembic_version" in names else None)
    shas = (list(conn.execute(text("SELECT sha256 FROM attachments ORDER BY sha256")).scalars())
            if "attachments" in names else [])
    return schema, tables, shas


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = int(dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(content))


# -- restore ------------------------------------------------------------------------------------

def restore(db: Database, source: Path, *, blob_path: BlobPath, known_revisions: set[str],
            replace: bool = False) -> Report:
    """Restore the archive ``source`` into ``db`` and the files directory, then check it.

    Refused, with nothing changed, when the archive is damaged, of another backend or of
    a schema this code does not know, or when ``db`` already holds tables and ``replace``
    is not given."""
    source = Path(source)
    try:
        tar = tarfile.open(source, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise Refused(f"{source}: bukan arsip cadangan aksi yang bisa dibaca ({exc})") from None
    with tar, tempfile.TemporaryDirectory(prefix=".aksi-restore-",
                                          dir=_work_dir(db, source)) as work:
        manifest = _manifest(tar, source)
        backend = db.engine.dialect.name
        _check_fits(db, manifest, backend, known_revisions, replace)
        dump = _extract_checked(tar, manifest, Path(work), backend)
        if backend == "sqlite":
            _restore_sqlite(db, dump)
        else:
            _pg_tool(db, "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                     "--single-transaction", str(dump))
        size = 0
        for sha in manifest["blobs"]:
            size += _place_blob(Path(work) / "files" / sha, blob_path(sha))
    report = Report(backend, manifest["schema"], manifest["created_at"], {}, len(manifest["blobs"]),
                    size)
    _verify(db, manifest, blob_path, report)
    return report


def _work_dir(db: Database, source: Path) -> Path:
    """Extract next to the SQLite file (one file system: no copy across disks), else
    next to the archive."""
    if db.engine.dialect.name == "sqlite" and db.engine.url.database:
        return Path(db.engine.url.database).expanduser().resolve().parent
    return source.resolve().parent


def _manifest(tar: tarfile.TarFile, source: Path) -> dict:
    try:
        member = tar.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member else None
    except (KeyError, ValueError, tarfile.TarError, OSError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Refused(f"{source}: arsip tanpa manifest.json format {FORMAT}; "
                      f"bukan cadangan dari `aksi db backup`")
    for key, kind in (("backend", str), ("tables", dict), ("blobs", dict), ("created_at", str)):
        if not isinstance(manifest.get(key), kind):
            raise Refused(f"{source}: manifest.json rusak (kunci {key!r})")
    return manifest


def _check_fits(db: Database, manifest: dict, backend: str, known: set[str],
                replace: bool) -> None:
    if manifest["backend"] != backend:
        raise Refused(f"cadangan ini dari {manifest['backend']}, basis data tujuan {backend}: "
                      f"pulihkan ke basis data {manifest['backend']}", backend=backend)
    if manifest["schema"] is not None and manifest["schema"] not in known:
        raise Refused(f"cadangan ini memakai skema versi {manifest['schema']} yang tidak dikenal "
                      f"versi aksi ini: pasang versi aksi yang membuatnya")
    with db.engine.connect() as conn:
        present = inspect(conn).get_table_names()
    if present and not replace:
        raise Refused(f"basis data tujuan sudah berisi {len(present)} tabel; pulihkan ke basis "
                      f"data kosong, atau tambahkan --replace untuk menimpanya")


def _extract_checked(tar: tarfile.TarFile, manifest: dict, work: Path, backend: str) -> Path:
    """Extract the dump and the blobs, each blob checked against its name and the manifest."""
    wanted = dict(manifest["blobs"])
    dump = None
    (work / "files").mkdir()
    for member in tar:
        if not member.isfile():
            continue
        if member.name == DUMPS[backend]:
            dump = work / member.name
            _copy(tar, member, dump)
        elif member.name.startswith(FILES):
            sha = member.name[len(FILES):]
            if sha not in wanted:
                raise Refused(f"arsip memuat berkas {sha} yang tidak ada di manifest")
            digest, size = _copy(tar, member, work / "files" / sha)
            if digest != sha or size != wanted.pop(sha):
                raise Refused(f"berkas {sha} di arsip rusak: isinya tidak cocok dengan SHA-256-nya")
    if dump is None:
        raise Refused(f"arsip tidak memuat {DUMPS[backend]}")
    if wanted:
        raise Refused(f"arsip kehilangan {len(wanted)} berkas yang disebut manifest, "
                      f"mis. {sorted(wanted)[0]}")
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(dump)) as conn:
            status = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            raise Refused(f"salinan basis data di arsip rusak: {status}")
    return dump


def _copy(tar: tarfile.TarFile, member: tarfile.TarInfo, to: Path) -> tuple[str, int]:
    """Copy one member out (never by its own path: names in an archive are not trusted)."""
    digest, size = hashlib.sha256(), 0
    reader = tar.extractfile(member)
    with reader, open(to, "wb") as out:
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _restore_sqlite(db: Database, dump: Path) -> None:
    """Copy ``dump`` over the target through the backup API (pages replaced in one go, the
    target's WAL mode kept)."""
    db.dispose()
    target = db.engine.raw_connection()
    try:
        with contextlib.closing(sqlite3.connect(dump)) as copy:
            copy.backup(target.driver_connection)
    finally:
        target.close()
        db.dispose()


def _place_blob(extracted: Path, path: Path) -> int:
    size = extracted.stat().st_size
    if path.is_file() and path.stat().st_size == size:
        return size  # kept by content: the same name is the same bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    os.close(fd)
    shutil.copyfile(extracted, tmp)
    os.replace(tmp, path)
    return size


def _verify(db: Database, manifest: dict, blob_path: BlobPath, report: Report) -> None:
    """Check the restored database and files against the manifest; problems in ``report``."""
    with db.engine.connect() as conn:
        schema, tables, shas = _contents(conn)
    report.tables = tables
    if schema != manifest["schema"]:
        report.problems.append(f"versi skema {schema}, manifest {manifest['schema']}")
    for name, rows in manifest["tables"].items():
        if tables.get(name) != rows:
            report.problems.append(f"tabel {name}: {tables.get(name, 'tidak ada')} baris, "
                                   f"manifest {rows}")
    for sha in shas:
        path = blob_path(sha)
        if not path.is_file() or _sha256(path) != sha:
            report.problems.append(f"berkas {sha} tidak ada atau isinya tidak cocok")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -- PostgreSQL's tools ---------------------------------------------------------------------------

def _pg_tool(db: Database, tool: str, *args: str) -> None:
    """Run pg_dump / pg_restore on ``db``; the password goes in the environment, never on
    the command line (which other users of the machine can read) nor in a message."""
    url = db.engine.url
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    command = [tool, "--dbname", conninfo, *args]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{tool} tidak ditemukan: pasang klien PostgreSQL "
                          f"(paket postgresql-client) yang versinya sama dengan server") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(tanpa pesan)"])[-1]
        raise BackupError(f"{tool} gagal: {last}", tool=tool)
