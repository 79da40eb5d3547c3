"""Spreadsheets, printable documents and attachments from the stage page.

`sheets_panel` gives the stage page's ``tasks/_sheets.html`` its context (None when the
stage has no documents); the blueprint ``sheets`` serves what the panel links to, under
the stage's own address ``/tugas/<year>/<region>/<stage>/``:

- ``templat/<form>``: the .xlsx template (engine/forms/spreadsheet.py) of the user's unit,
  pre-filled with the document as it stands; every unit's fields for a stage without
  parts and for people who do not write a unit's part (``?unit=`` picks another unit);
- ``impor`` (POST): a filled template or a CSV, read whole. Any problem refuses the whole
  file: a page (422) lists each one by sheet, row, column and field label, and nothing is
  saved. ``uji`` checks and saves in a transaction that is rolled back (a preview);
- ``cetak/<form>`` and ``pdf/<form>``: the printable page (inline, sandboxed) and the
  PDF of an output form (engine/forms/documents.py keeps an approved one unchanged);
- ``berkas/<sha256>``: a file uploaded for the stage.

Everyone who may see the stage's region may download and print (checked before the stage
is looked up, like the stage page); only those who may write a part of it may upload, and
the engine's `save_on` checks that again under the stage's lock. The upload's size is
limited before its body is parsed: CSRF is checked here, after setting the limit, rather
than by the app before any view runs (`init_app` exempts the one view from the automatic
check; the view then calls the same check itself).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from flask import (Blueprint, Flask, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import AksiError, Conflict, InvalidForm, NotFound, NotPermitted
from ..forms import documents as printable
from ..forms import entry, spreadsheet
from ..definitions.forms.spec import spec_of
from ..forms.files import file_values, open_download, safe_name, short_name, sniff
from ..forms.parts import WHOLE, part_states, parts_of
from ..people import Actor, can_see
from ..regions import ZONE_NAMES, zone_of
from ..runtime import find_task, save_on
from ..store.library import pinned
from ..store.models import Attachment, AttachmentUse, Region
from .auth import require_sign_in
from .downloads import send_download
from .form_page import stage_data, stage_parts
from .store import database

bp = Blueprint("sheets", __name__, url_prefix="/tugas/<int:year>/<region>/<stage>")
require_sign_in(bp)

MAX_UPLOAD = 20 * 1024 * 1024  # a filled template of a kabupaten's desa is well under 5 MB
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ZIP, _OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def init_app(app: Flask) -> None:
    """Register the blueprint; the upload checks its CSRF token itself (see the module)."""
    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(f"{__name__}.upload")


# -- who may do what ---------------------------------------------------------------------------

def writer(session: Session, definition: Any, task: Any, actor: Actor, *,
           parts: Mapping[str, Any] | None = None) -> entry.WriteAccess:
    """Whether ``actor`` writes a part of the stage (and may upload now): what `entry.save`
    would allow (`engine.forms.entry.write_access`). ``parts``: the part states when the
    caller has them read already."""
    return entry.write_access(definition, task, actor,
                              part_states(session, task.id) if parts is None else parts)


def _forms_of(definition: Any, stage_id: str) -> list[str]:
    return [f for f in definition.stage(stage_id).outputs if f in definition.forms]


@functools.lru_cache(maxsize=1024)
def _entered_by(definition: Any, form: str, unit: str | None) -> bool:
    """Does a template of ``unit`` (None: every unit) have any sheet for ``form``? (Asked
    on every stage page; the definitions are immutable, so the answer is kept.)"""
    return bool(spreadsheet.layout(spec_of(definition, form), unit))


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z.]+", "-", text.lower()).strip("-.")


def template_name(definition: Any, task: Any, form: str, unit: str | None) -> str:
    """"analisis-situasi-19.01.01-2026-puskesmas.xlsx": the stage (the form, when the stage
    has several), region, year and unit ("semua-unit" for every unit of a stage with parts)."""
    several = len(_forms_of(definition, task.stage)) > 1
    parts = [_slug(form if several else task.stage), task.region_code, str(task.year)]
    if unit:
        parts.append(_slug(unit))
    elif definition.stage(task.stage).parts:
        parts.append("semua-unit")
    return "-".join(parts) + ".xlsx"


# -- the panel ---------------------------------------------------------------------------------

def _stage_url(endpoint: str, task: Any, **values: Any) -> str:
    return url_for(endpoint, year=task.year, region=task.region_code, stage=task.stage, **values)


def moment(at: Any, zone: str) -> str:
    """"15 Januari 2027, 23.59 WIB": an instant in the region's own time."""
    here = at.replace(tzinfo=at.tzinfo or dt.timezone.utc).astimezone(ZoneInfo(zone))
    return f"{printable.format_date(here.date())}, {here:%H.%M} {ZONE_NAMES.get(zone, zone)}"


def attachments(session: Session, definition: Any, task: Any) -> list[dict]:
    """The files uploaded for the stage, newest first: name, size, type, who and when, and
    the fields of the stage's data that name each one (none: uploaded, not yet saved).
    The data is read only when the stage has files at all."""
    rows = session.execute(
        select(AttachmentUse.sha256, AttachmentUse.name, AttachmentUse.uploaded_by,
               AttachmentUse.uploaded_at, Attachment.size, Attachment.media_type)
        .join(Attachment, Attachment.sha256 == AttachmentUse.sha256)
        .where(AttachmentUse.task_id == task.id)
        .order_by(AttachmentUse.uploaded_at.desc(), AttachmentUse.id.desc())).all()
    if not rows:
        return []
    used: dict[str, list[str]] = {}
    for form, doc in stage_data(session, definition, task)[0].items():  # every unit's part
        if form not in definition.forms or not isinstance(doc, Mapping):
            continue
        for f, value in file_values(definition, form, doc):
            sha = value.get("sha256") if isinstance(value, Mapping) else None
            if isinstance(sha, str) and f.title not in used.setdefault(sha, []):
                used[sha].append(f.title)
    zone = zone_of(task.region_code)
    return [{"name": r.name, "size": printable.format_size(r.size),
             "type": short_name(r.media_type), "media_type": r.media_type,
             "uploaded_by": r.uploaded_by, "uploaded_at": moment(r.uploaded_at, zone),
             "used_in": used.get(r.sha256, []),
             "url": _stage_url("sheets.attachment", task, sha256=r.sha256)} for r in rows]


def sheets_panel(session: Session, *, task: Any, definition: Any, actor: Any) -> dict | None:
    """Context of ``tasks/_sheets.html``: per output form its template, print and PDF
    links; the upload form for those who write a part now; the stage's attachments."""
    forms = _forms_of(definition, task.stage)
    if not forms:
        return None
    who = writer(session, definition, task, actor, parts=stage_parts(session, task))
    parts = definition.stage(task.stage).parts
    unit = who.unit if who.writes else None
    shown = []
    for form in forms:
        has_template = _entered_by(definition, form, unit)
        shown.append({
            "id": form, "title": spec_of(definition, form).title,
            "template": _stage_url("sheets.template", task, form=form) if has_template else None,
            "template_name": template_name(definition, task, form, unit) if has_template else None,
            "print": _stage_url("sheets.print_view", task, form=form),
            "pdf": _stage_url("sheets.pdf", task, form=form),
        })
    importable = [f for f in shown if f["template"]]
    upload = None
    if who.writes and who.blocked is None and importable:
        upload = {"action": _stage_url("sheets.upload", task), "forms": importable,
                  "max_mb": MAX_UPLOAD // (1024 * 1024)}
    return {
        "forms": shown,
        "unit_label": (f"unit {unit}" if unit else "semua unit") if parts else None,
        "upload": upload,
        "upload_blocked": f"Unggah isian tidak tersedia: {who.blocked}." if who.blocked else None,
        "draft": task.state != definition.lifecycle.done,
        "attachments": attachments(session, definition, task),
    }


# -- routes ------------------------------------------------------------------------------------

def _refuse(status: int, title: str, message: str):
    return render_template("error.html", title=title, message=message), status


@bp.url_value_preprocessor
def _visible_or_abort(_endpoint: str | None, values: dict | None) -> None:
    # Before anything is looked up: a region outside the user's scope is a 403 whether
    # or not the stage (or the form, or the file) exists there.
    if (values is not None and current_user.is_authenticated
            and not can_see(current_user.actor, str(values.get("region")))):
        abort(403)


def _stage(session: Session, year: int, region: str, stage: str) -> tuple[Any, Any]:
    try:
        task = find_task(session, region, stage, year)
    except NotFound:
        abort(404)
    return task, pinned(session, task.definition_hash)


def _form_or_404(definition: Any, task: Any, form: str) -> str:
    if form not in _forms_of(definition, task.stage):
        abort(404)
    return form


@bp.get("/templat/<form>")
def template(year: int, region: str, stage: str, form: str):
    """The .xlsx template of ``form``: the user's unit, else every unit (``?unit=``:
    another unit of the stage)."""
    with database().read() as session:
        task, definition = _stage(session, year, region, stage)
        _form_or_404(definition, task, form)
        parts = definition.stage(stage).parts
        asked = request.args.get("unit")
        if asked and asked not in parts:
            abort(404)
        who = writer(session, definition, task, current_user.actor)
        unit = asked or (who.unit if who.writes else None)
        if not _entered_by(definition, form, unit):
            return _refuse(404, "Tidak ada templat",
                           f"{'Unit ' + unit if unit else 'Formulir ini'} tidak mengisi apa pun "
                           f"di formulir {spec_of(definition, form).title} lewat lembar kerja.")
        rows = dict(entry.context_for(session, definition, task).rows)
        place = session.get(Region, region)
        document = entry.stage_documents(session, definition, task).get(form, {})
        content = spreadsheet.template(
            definition, form, region_code=region, region_name=place.name if place else region,
            year=year, stage=stage, rows=rows, unit=unit, data=document)
        name = template_name(definition, task, form, unit)
    return send_download(content, XLSX_TYPE, name)


class _NotASheet(Exception):
    """An upload that is no workbook and no CSV (the reason, in Bahasa Indonesia)."""


def read_as(content: bytes, filename: str) -> str:
    """The name to read an upload under: its kind judged by its content (a workbook is a
    zip; a CSV is text), whatever its name says. `_NotASheet` for anything else."""
    stem, dot, ext = filename.rpartition(".")
    stem, ext = (stem, ext.lower()) if dot else (filename, "")
    if not content:
        raise _NotASheet(f"berkas '{filename}' kosong (0 bait)")
    if content.startswith(_ZIP):
        return filename if ext in ("xlsx", "xlsm") else f"{stem}.xlsx"
    if content.startswith(_OLE2):
        raise _NotASheet(f"berkas '{filename}' berformat Excel lama (.xls): buka di Excel lalu "
                         "simpan sebagai \"Excel Workbook (.xlsx)\"")
    media_type, _ = sniff(content)
    if media_type is not None:
        raise _NotASheet(f"berkas '{filename}' bukan lembar kerja: isinya terbaca sebagai "
                         f"{short_name(media_type)} ({media_type}); unggah templat .xlsx atau "
                         "berkas CSV")
    if ext in ("xlsx", "xlsm", "xls", "ods"):
        raise _NotASheet(f"berkas '{filename}' bernama .{ext} tetapi isinya bukan buku kerja "
                         "Excel: unggah templat yang diunduh dari halaman ini (.xlsx)")
    if b"\x00" in content[:8192]:
        raise _NotASheet(f"berkas '{filename}' bukan berkas teks (CSV) maupun buku kerja "
                         "Excel (.xlsx)")
    return filename if ext == "csv" else f"{filename}.csv"


_PLACE = re.compile(r"(?P<where>Lembar|Berkas) '(?P<sheet>.+?)'(?=[,:])(?:, baris (?P<row>\d+))?"
                    r"(?:, kolom (?P<column>[A-Z]+)(?: \(«(?P<label>.*?)»\))?)?: (?P<message>.*)",
                    re.DOTALL)


def located(problem: str) -> dict:
    """A problem of `spreadsheet.read` split into its place (sheet, row, column, label) and
    what is wrong, for the page to lay out; a problem with no place is all message."""
    found = _PLACE.fullmatch(problem)
    if found is None:
        return {"sheet": None, "row": None, "column": None, "label": None, "message": problem}
    kind = "Lembar" if found["where"] == "Lembar" else "Berkas"
    return {"sheet": f"{kind} '{found['sheet']}'", "row": found["row"],
            "column": found["column"], "label": found["label"], "message": found["message"]}


def _cells(doc: Mapping[str, Any]) -> dict[tuple, Any]:
    """(section, row, field) -> value of a document or patch: row is the region code of a
    per-region section, the row number of a list, "-" for plain fields."""
    out: dict[tuple, Any] = {}
    for section, value in doc.items():
        if isinstance(value, list):
            rows = {str(i): r for i, r in enumerate(value, start=1)}
        elif isinstance(value, Mapping) and value and all(isinstance(v, Mapping)
                                                           for v in value.values()):
            rows = dict(value)
        else:
            rows = {"-": value}
        for key, row in rows.items():
            if isinstance(row, Mapping):
                out.update(((section, key, name), v) for name, v in row.items())
    return out


def counted(patch: Mapping[str, Any], before: Mapping[str, Any]) -> tuple[int, int]:
    """(values the patch holds, those of them that differ from ``before``): a template
    comes back pre-filled, so most of what it holds is what was already saved."""
    old = _cells(before)
    new = _cells(patch)
    return len(new), sum(1 for k, v in new.items() if old.get(k) != v)


class _DryRun(Exception):
    """Rolls a checked and saved import back (``uji``)."""

    def __init__(self, result: Any):
        super().__init__("uji coba")
        self.result = result


def _not_imported(status: int, filename: str, problems: list[str], *, back: str,
                  summary: str | None = None):
    return render_template("sheets/import_errors.html", filename=filename, back=back,
                           summary=summary, problems=[located(p) for p in problems]), status


@bp.post("/impor")
def upload(year: int, region: str, stage: str):
    """Import a filled template or CSV into the user's part, all or nothing."""
    back = url_for("tasks.detail", year=year, region=region, stage=stage)
    request.max_content_length = MAX_UPLOAD + 64 * 1024  # the file and the few fields
    try:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            current_app.extensions["csrf"].protect()
        sent = request.files.get("berkas")
    except RequestEntityTooLarge:
        return _refuse(413, "Berkas terlalu besar",
                       f"Berkas lebih dari {MAX_UPLOAD // (1024 * 1024)} MB tidak diterima; "
                       "tidak ada yang disimpan.")
    if sent is None or not sent.filename:
        return _refuse(400, "Berkas belum dipilih",
                       "Pilih berkas templat (.xlsx) atau CSV lalu unggah lagi; tidak ada yang "
                       "disimpan.")
    filename = safe_name(sent.filename, default="isian.xlsx")
    content = sent.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        return _refuse(413, "Berkas terlalu besar",
                       f"Berkas lebih dari {MAX_UPLOAD // (1024 * 1024)} MB tidak diterima; "
                       "tidak ada yang disimpan.")
    dry_run = request.form.get("uji") == "1"
    username = current_user.username
    try:
        with database().session() as session:
            task, definition = _stage(session, year, region, stage)
            forms = _forms_of(definition, stage)
            form = request.form.get("formulir") or (forms[0] if len(forms) == 1 else "")
            if form not in forms:
                return _refuse(400, "Formulir belum dipilih",
                               "Pilih formulir yang diisi berkas ini lalu unggah lagi; tidak ada "
                               "yang disimpan.")
            who = writer(session, definition, task, current_user.actor)
            if not who.writes:
                return _refuse(403, "Tidak diizinkan",
                               who.blocked or "Anda tidak berhak mengisi formulir tahap ini; "
                               "tidak ada yang disimpan.")
            try:
                name = read_as(content, filename)
            except _NotASheet as exc:
                return _not_imported(422, filename, [str(exc)], back=back)
            place = session.get(Region, region)
            rows = dict(entry.context_for(session, definition, task).rows)
            expect = {"region": region, "region_name": place.name if place else region,
                      "year": year, "stage": stage, "form": form, "unit": who.unit,
                      "content_hash": task.definition_hash, "rows": rows}
            try:
                patch = spreadsheet.read(definition, form, content, filename=name, expect=expect)
            except InvalidForm as exc:
                return _not_imported(422, filename, exc.problems or [exc.message], back=back)
            if not patch:
                return _not_imported(422, filename, [f"berkas '{filename}' tidak berisi isian "
                                                     "apa pun"], back=back)
            mine = parts_of(session, task.id).get(who.unit or WHOLE)
            values, changed = counted(patch, (mine.data.get(form) or {}) if mine else {})
            result = save_on(session, region, stage, year, username, {form: patch},
                             unit=who.unit)
            if dry_run:
                raise _DryRun(result)
    except _DryRun as done:
        return render_template("sheets/import_preview.html", filename=filename, back=back,
                               values=values, changed=changed, unit=done.result.unit or None,
                               problems=[str(p) for p in done.result.problems])
    except InvalidForm as exc:
        return _not_imported(422, filename, exc.problems or [exc.message], back=back,
                             summary=exc.message)
    except NotPermitted as exc:
        return _refuse(403, "Tidak diizinkan", exc.message + "; tidak ada yang disimpan.")
    except Conflict as exc:
        return _refuse(409, "Diubah orang lain", exc.message)
    except AksiError as exc:
        return _refuse(422, "Berkas tidak diimpor", exc.message + "; tidak ada yang disimpan.")
    part = f"bagian unit {result.unit}" if result.unit else "dokumen"
    errors = sum(1 for p in result.problems if p.is_error)
    flash(f"Berkas '{filename}' diimpor ke {part} (versi {result.version}): {values} isian "
          f"dibaca, {changed} berubah" + (f"; dokumen masih memiliki {errors} masalah yang perlu "
                                          "diperbaiki sebelum dikirim" if errors else ""),
          "success")
    return redirect(back)


def _document(year: int, region: str, stage: str, form: str, fmt: str):
    try:
        with database().session() as session:
            task, definition = _stage(session, year, region, stage)
            _form_or_404(definition, task, form)
            content, media_type, name = printable.document(
                session, region=region, stage=stage, year=year, form=form, fmt=fmt,
                user=current_user.actor)
    except NotPermitted:
        abort(403)
    except AksiError as exc:
        return _refuse(404, "Dokumen tidak tersedia", exc.message)
    return send_download(content, media_type, name, inline=fmt == "html")


@bp.get("/cetak/<form>")
def print_view(year: int, region: str, stage: str, form: str):
    """The printable page of an output form (shown in the browser, to print from it)."""
    return _document(year, region, stage, form, "html")


@bp.get("/pdf/<form>")
def pdf(year: int, region: str, stage: str, form: str):
    """The PDF of an output form (an approved one is the one kept at approval)."""
    return _document(year, region, stage, form, "pdf")


@bp.get("/berkas/<sha256>")
def attachment(year: int, region: str, stage: str, sha256: str):
    """A file uploaded for this stage, under the name it was uploaded with."""
    if not _SHA256.match(sha256):
        abort(404)
    try:
        with database().read() as session:
            task, _ = _stage(session, year, region, stage)
            name = session.scalar(select(AttachmentUse.name).where(
                AttachmentUse.task_id == task.id, AttachmentUse.sha256 == sha256))
            if name is None:
                abort(404)
            path, media_type, _ = open_download(session, sha256=sha256, user=current_user.actor)
    except NotPermitted:
        abort(403)
    except NotFound as exc:
        return _refuse(404, "Berkas tidak tersedia", exc.message)
    return send_download(path, media_type, name)
