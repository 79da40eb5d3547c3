"""Attachments: scans of Berita Acara, SK and regulations, kept once by their SHA-256.

A file field's value in form data is a *file object* (docs/form-format.md)::

    {"sha256": "…64 hex…", "nama": "ba-pramusrenbang.pdf", "ukuran": 183220, "jenis": "application/pdf"}

- The bytes live in a blob store outside any static folder: ``$AKSI_FILES`` (default
  ``./aksi-files``), at ``ab/cd/<sha256>``, written once (temporary file, then rename), so
  a reader never sees half a file and the same content uploaded twice is kept once.
- ``attachments`` has one row per blob (size, media type); ``attachment_uses`` one per
  (stage, blob): the upload that lets the stage's data name the file (`known_files`), and
  what says who may download it - whoever sees the region of a stage that uses it
  (`open_download`). Knowing a hash gives nothing.
- A file's type is read from its content (magic bytes, the ``filetype`` library), never
  from its name or a type the uploader declares: a PDF named ``.png`` is a PDF.

The blob is written before the rows, so that a committed row always has its bytes (the
other order loses a file when the disk write fails after the commit). A transaction that
rolls back leaves a blob no row names; `prune_blobs` (``aksi form prune-files``, run from
cron like a backup) removes those, and temporary files of writes that never finished, once
they are an hour old - an upload in flight is younger than that. Reusing a stored blob
touches it (its time is that of its last upload), and a prune first renames a blob aside
and only then looks at its time: an upload that touched it before is seen and the blob put
back; one that comes after finds no blob and writes it again. Either way no committed row
is left without its bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import quote

import filetype
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from ..errors import InvalidForm, NotFound, NotPermitted, Refused
from ..people import Actor, acting_roles, actor as actor_of
from ..regions import within_clause
from ..store.models import Attachment, AttachmentUse, RenderedDocument, Task
from ..definitions.forms.spec import FIELDS, PER_REGION, ROWS, Field, spec_of

ENV_VAR = "AKSI_FILES"
DEFAULT_DIRECTORY = "./aksi-files"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PRUNE_AFTER = dt.timedelta(hours=1)  # older than any upload in flight
_TEMPORARY = ".tmp-"  # a blob being written
_ASIDE = ".prune-"  # a blob a prune is removing

SHORT_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png",
              "text/html; charset=utf-8": "html", "text/html": "html"}


# -- the blob store ----------------------------------------------------------------------------

def files_directory(files_dir: str | os.PathLike | None = None) -> Path:
    """Where blobs live: ``files_dir``, else ``$AKSI_FILES``, else ``./aksi-files``."""
    root = Path(files_dir or os.environ.get(ENV_VAR) or DEFAULT_DIRECTORY).expanduser()
    static = (Path(__file__).resolve().parents[1] / "web" / "static")
    resolved = root.resolve()
    if resolved == static or static in resolved.parents:
        raise Refused(f"direktori berkas {root} berada di folder statis web: berkas akan "
                      f"terbuka tanpa pemeriksaan hak akses; pilih direktori lain ({ENV_VAR})")
    return root


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def put_blob(content: bytes, *, files_dir: str | os.PathLike | None = None) -> str:
    """Keep ``content`` once; its SHA-256. Atomic: a temporary file in the same directory,
    flushed to disk, then renamed over the final name."""
    digest = hashlib.sha256(content).hexdigest()
    path = blob_path(files_directory(files_dir), digest)
    if path.is_file() and path.stat().st_size == len(content):
        try:
            os.utime(path)  # uploaded again: a prune leaves it alone for another hour
            return digest
        except FileNotFoundError:
            pass  # pruned meanwhile: written again below
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_TEMPORARY, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return digest


def prune_blobs(session: Session, *, now: dt.datetime, older_than: dt.timedelta = PRUNE_AFTER,
                files_dir: str | os.PathLike | None = None,
                dry_run: bool = False) -> list[tuple[Path, int]]:
    """Remove the blobs no ``attachments`` row names, and temporary files of writes that
    never finished, last touched more than ``older_than`` before ``now``; (path, size) of
    each. Files not named as the store names them are left alone."""
    root = files_directory(files_dir)
    if not root.is_dir():
        return []
    cutoff = (now - older_than).timestamp()
    referenced = set(session.scalars(select(Attachment.sha256)))
    removed = []
    for path in sorted(root.glob("??/??/*")):
        name = path.name
        if name.startswith(_ASIDE):  # left by a prune that stopped half-way
            back = path.with_name(name[len(_ASIDE):])
            if dry_run:
                continue
            with contextlib.suppress(FileNotFoundError):  # another prune may be at it too
                if back.name in referenced and not back.exists():
                    os.replace(path, back)
                else:
                    path.unlink()
            continue
        stored = SHA256.match(name) and path.parent.parent.name == name[:2] \
            and path.parent.name == name[2:4]
        if not (stored and name not in referenced) and not name.startswith(_TEMPORARY):
            continue
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if not path.is_file() or info.st_mtime >= cutoff:
            continue
        if dry_run:
            removed.append((path, info.st_size))
            continue
        aside = path.with_name(_ASIDE + name)
        try:
            os.replace(path, aside)
            if stored and aside.stat().st_mtime >= cutoff:  # touched by an upload meanwhile
                os.replace(aside, path)  # same bytes as any rewrite: the name is their hash
                continue
            aside.unlink()
        except FileNotFoundError:  # another prune took it
            continue
        removed.append((path, info.st_size))
    return removed


def read_blob(sha256: str, *, files_dir: str | os.PathLike | None = None) -> bytes:
    path = blob_path(files_directory(files_dir), sha256)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"berkas {sha256[:12]}… tidak ada di penyimpanan berkas "
                       f"({files_directory(files_dir)}); pulihkan dari cadangan",
                       sha256=sha256) from None


# -- names -------------------------------------------------------------------------------------

def safe_name(name: str, *, default: str = "berkas") -> str:
    """An uploader's file name as it may be kept and shown: the last path component, NFC,
    no control characters, no leading dots, at most 200 characters (extension kept)."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if unicodedata.category(c).startswith("Z") else c
                   for c in name if not unicodedata.category(c).startswith("C"))
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if not name:
        return default
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def _ascii_fallback(name: str) -> str:
    """``name`` in the characters a quoted header parameter may safely hold."""
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(c if c.isascii() else "" if unicodedata.combining(c) else "_"
                   for c in decomposed)  # "é" -> "e", "✓" -> "_"
    text = re.sub(r"[^A-Za-z0-9._()+ -]", "_", text)
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:10]
    stem = re.sub(r"_+", "_", stem).strip(" ._")[:140]
    if not re.search(r"[A-Za-z0-9]", stem):
        stem = "berkas"
    return stem + (f".{ext}" if ext else "")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A Content-Disposition header value (RFC 6266): an ASCII ``filename`` fallback with no
    quotes, backslashes, CR/LF or path separators, and the real name as
    ``filename*=UTF-8''…`` (RFC 8187 percent-encoding)."""
    name = safe_name(filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- uploading ---------------------------------------------------------------------------------

def short_name(media_type: str) -> str:
    return SHORT_NAMES.get(media_type, media_type.split("/")[-1].upper())


def sniff(content: bytes) -> tuple[str | None, str | None]:
    """(media type, usual extension) the content's magic bytes say, or (None, None)."""
    kind = filetype.guess(content[:8192])
    return (kind.mime, kind.extension) if kind else (None, None)


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".", ",")
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bait"


def check_upload(field: Field, content: bytes) -> str:
    """The media type of ``content`` if ``field`` accepts it; `InvalidForm` if not."""
    label = f"«{field.title}»"
    if field.kind != "file":
        raise InvalidForm(f"{label} bukan isian berkas", problems=[field.name])
    if not content:
        raise InvalidForm(f"{label}: berkas kosong (0 bait)", problems=[field.name])
    if len(content) > field.max_bytes:
        raise InvalidForm(f"{label}: berkas terlalu besar ({_size(len(content))}); paling besar "
                          f"{_size(field.max_bytes)}", problems=[field.name])
    media_type, extension = sniff(content)
    if media_type not in field.accept:
        allowed = "/".join(short_name(t) for t in field.accept)
        seen = (f"{short_name(media_type)} ({media_type})" if media_type
                else "jenis yang tidak dikenali")
        raise InvalidForm(f"{label}: berkas ini bukan {allowed}: isinya terbaca sebagai {seen}",
                          problems=[field.name])
    return media_type


def _insert_ignore(session: Session, table: Any, values: dict, keys: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the engine runs on these two
        exists = session.execute(select(*(table.c[k] for k in keys)).where(
            *(table.c[k] == values[k] for k in keys))).first()
        if exists is None:
            session.execute(insert(table).values(**values))
        return
    session.execute(dialect_insert(table).values(**values).on_conflict_do_nothing(
        index_elements=keys))


def keep_blob(session: Session, content: bytes, media_type: str, *, now: dt.datetime,
              files_dir: str | os.PathLike | None = None) -> str:
    """Store ``content`` (blob and ``attachments`` row, once); its SHA-256."""
    digest = put_blob(content, files_dir=files_dir)
    _insert_ignore(session, Attachment.__table__,
                   {"sha256": digest, "size": len(content), "media_type": media_type,
                    "stored_at": now}, ["sha256"])
    return digest


def _may_upload(session: Session, task: Any, username: str) -> None:
    """Only those who may enter the stage's data, while it may be entered."""
    from ..store.library import pinned
    from .entry import entry_triggers

    definition = pinned(session, task.definition_hash)
    context = {"region": task.region_code, "stage": task.stage, "year": task.year}
    triggers = entry_triggers(definition, task.stage)
    refs = tuple(ref for t in triggers for ref in t.by)
    who = actor_of(session, username)
    if not acting_roles(who, refs, task.level, task.region_code):
        raise NotPermitted(f"{username} tidak berhak mengunggah berkas untuk tahap ini di "
                           f"{task.region_code}", username=username, **context)
    editable = {s for t in triggers for s in t.sources}
    if task.state not in editable:
        state = definition.lifecycle.states[task.state].name
        raise Refused(f"tahap ini berstatus '{state}': berkas tidak dapat diunggah", **context)


def store_upload(session: Session, *, task: Any, field: Field, content: bytes, name: str,
                 username: str, now: dt.datetime,
                 files_dir: str | os.PathLike | None = None) -> dict:
    """Keep an upload for ``field`` of ``task``'s stage; the file object to save in its data.

    Refuses (`InvalidForm`) an empty file, one larger than the field's ``x-max-bytes``, and
    one whose content is not of a type in its ``x-accept``; `NotPermitted` someone who may
    not enter the stage's data, `Refused` a stage whose data cannot change now.
    """
    _may_upload(session, task, username)
    media_type = check_upload(field, content)
    digest = keep_blob(session, content, media_type, now=now, files_dir=files_dir)
    nama = safe_name(name)
    _insert_ignore(session, AttachmentUse.__table__,
                   {"task_id": task.id, "sha256": digest, "name": nama, "uploaded_by": username,
                    "uploaded_at": now}, ["task_id", "sha256"])
    return {"sha256": digest, "nama": nama, "ukuran": len(content), "jenis": media_type}


def known_files(session: Session, task_id: int) -> set[str]:
    """The SHA-256 of every file uploaded for this stage."""
    return set(session.scalars(select(AttachmentUse.sha256)
                               .where(AttachmentUse.task_id == task_id)))


def file_values(definition: Any, form: str, doc: Mapping[str, Any]) -> Iterator[tuple[Field, Any]]:
    """(field, value) of every file field a document (or patch) fills."""
    spec = spec_of(definition, form)
    for section in spec.sections:
        files = [f for f in section.fields if f.kind == "file"]
        value = doc.get(section.name) if isinstance(doc, Mapping) else None
        if not files or value is None:
            continue
        if section.kind == PER_REGION and isinstance(value, Mapping):
            rows = list(value.values())
        elif section.kind == ROWS and isinstance(value, list):
            rows = value
        elif section.kind == FIELDS:
            rows = [value]
        else:
            rows = []
        for row in rows:
            if isinstance(row, Mapping):
                yield from ((f, row[f.name]) for f in files if row.get(f.name) is not None)


def unknown_files(definition: Any, data: Mapping[str, Any], known: set[str]) -> list[str]:
    """Labels of the file values in ``data`` ({form: patch}) that name no file uploaded for
    the stage (``known``, from `known_files`): for `entry.save` to refuse."""
    out = []
    for form, patch in data.items():
        if form not in definition.forms or not isinstance(patch, Mapping):
            continue
        for f, value in file_values(definition, form, patch):
            sha = value.get("sha256") if isinstance(value, Mapping) else None
            if not isinstance(sha, str) or sha not in known:
                out.append(f"«{f.title}»")
    return out


# -- downloading -------------------------------------------------------------------------------

def rendered_name(form: str, region: str, year: int, media_type: str) -> str:
    return f"{form}_{region}_{year}.{EXTENSIONS.get(media_type, 'bin')}"


def open_download(session: Session, *, sha256: str, user: Actor,
                  files_dir: str | os.PathLike | None = None) -> tuple[Path, str, str]:
    """(path, media type, file name) of a file ``user`` may download: one used by a stage
    (uploaded for it, or its rendered document) whose region they see. Anything else - an
    unknown hash, a malformed one, a file of other regions only - is `NotPermitted`, with
    the same message: a refusal does not tell whether the file exists."""
    refused = NotPermitted(f"{user.username} tidak berhak mengunduh berkas ini", sha256=sha256)
    if not isinstance(sha256, str) or not SHA256.match(sha256) or not user.active:
        raise refused
    areas = sorted({a.region_code for a in user.assignments})
    if not areas:
        raise refused
    seen = or_(*(within_clause(Task.region_code, a) for a in areas))
    found = session.execute(
        select(AttachmentUse.name, Attachment.media_type)
        .join(Task, Task.id == AttachmentUse.task_id)
        .join(Attachment, Attachment.sha256 == AttachmentUse.sha256)
        .where(AttachmentUse.sha256 == sha256, seen)
        .order_by(AttachmentUse.id).limit(1)).first()
    if found is not None:
        name, media_type = found
    else:
        rendered = session.execute(
            select(RenderedDocument.form, Task.region_code, Task.year, Attachment.media_type)
            .join(Task, Task.id == RenderedDocument.task_id)
            .join(Attachment, Attachment.sha256 == RenderedDocument.sha256)
            .where(RenderedDocument.sha256 == sha256, seen)
            .order_by(RenderedDocument.id).limit(1)).first()
        if rendered is None:
            raise refused
        name = rendered_name(rendered.form, rendered.region_code, rendered.year,
                             rendered.media_type)
        media_type = rendered.media_type
    path = blob_path(files_directory(files_dir), sha256)
    if not path.is_file():
        raise NotFound(f"berkas {sha256[:12]}… tidak ada di penyimpanan berkas; pulihkan dari "
                       "cadangan", sha256=sha256)
    return path, media_type, name
