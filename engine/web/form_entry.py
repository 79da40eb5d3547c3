"""Saving the stage page's form: "Simpan draf" and "Simpan & kirim".

One POST route per stage (``/tugas/<year>/<region>/<stage>/isian``, CSRF-checked like every
POST). The posted names are cell keys (``FORM/SECTION/ROW/FIELD``, see `form_page`); they
are read back into a patch per form, the way the JSON API's callers write one:

- numbers typed the Indonesian way ("1.234.567", "12,5"; Babel parses them); text that is
  not a number is passed on as typed, so that the engine refuses it in its own words
  ("harus bilangan bulat, bukan '12a'");
- an empty input is null (the value is removed); only posted keys are written, so a
  crafted partial post changes nothing else;
- repeating rows: the rows posted for a section (its marker input ``FORM/SECTION`` says the
  list was on the page, so that removing every row is possible), less those ticked in
  ``hapus`` and those left empty, renumbered from 1;
- a file input carries the current file's SHA-256 in a hidden input of the same name and
  the upload, if any: uploads are checked by content and kept (`engine.forms.files`)
  before the save, in their own transaction, as the API's upload is; a refused upload
  refuses the whole post.

The save itself is the engine's (`save_on`; `act_on` with ``data=`` for "Simpan & kirim",
which saves and submits in one transaction): whatever it refuses - a wrong type, a field
of another unit, a stale version, an invalid submission - nothing is written, and the page
comes back (HTTP 422, 403 or 409) with what the person typed and the engine's problems
next to the cells. A save that is accepted redirects to the page (post/redirect/get).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field as dc_field
from typing import Any, Mapping

from babel.numbers import NumberFormatError, parse_decimal
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict

from ..clock import utcnow
from ..errors import AksiError, Conflict, InvalidForm, NotFound, NotPermitted
from ..forms import computed
from ..forms.files import store_upload
from ..forms.parts import Part, documents, merge_into, part_states, parts_of, rollups_of
from ..definitions.forms.spec import FIELDS, PER_REGION, ROWS, Field, spec_of
from ..forms.validate import DRAFT, ERROR, SUBMIT, Problem
from ..forms.entry import last_year, stage_problems
from ..people import can_see
from ..runtime import act_on, find_task, save_on
from ..store.library import pinned
from ..store.models import Attachment, AttachmentUse
from .auth import require_sign_in
from .form_page import NO_ROW, entry_unit, may_write, submit_trigger
from .store import database

bp = Blueprint("form_entry", __name__)
require_sign_in(bp)

DELETE = "hapus"  # checkboxes naming the rows to remove ("FORM/SECTION/ROW")
NUMERIC = ("count", "integer", "number", "percent", "rupiah", "year")
_PLAIN = re.compile(r"-?[0-9]+\Z")
_GROUPED = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{3})+\Z")
# The largest page posts ~6500 cells: above Flask's defaults (1000 parts, 500 KB).
MAX_FORM_PARTS = 20_000
MAX_FORM_MEMORY = 16 * 1024 * 1024
MAX_CONTENT = 128 * 1024 * 1024


@bp.url_value_preprocessor
def _form_limits(_endpoint, _values) -> None:
    # Runs before the app's before_request hooks, where the CSRF check parses the form.
    request.max_form_parts = MAX_FORM_PARTS
    request.max_form_memory_size = MAX_FORM_MEMORY
    request.max_content_length = MAX_CONTENT


# -- reading the post --------------------------------------------------------------------------

def parse_number(text: str) -> int | float | None:
    """An Indonesian number ("1.234.567", "12,5", "Rp 2.500"), or None if ``text`` is not
    one (a dot is a thousands separator: "1.5" is not a number, "1,5" is)."""
    text = "".join(text.split()).replace("\u00a0", "")
    if text[:2].lower() == "rp":
        text = text[2:]
    if _PLAIN.match(text):  # the usual cases without Babel (~6500 cells in a post)
        return int(text)
    if _GROUPED.match(text):
        return int(text.replace(".", ""))
    try:
        number = parse_decimal(text, locale="id", strict=True)
    except (NumberFormatError, ValueError, ArithmeticError):
        return None
    if not number.is_finite():
        return None
    if number == number.to_integral_value():
        return int(number)
    return float(number)  # in a whole-number field the engine says it is not one


def parse_value(f: Field, values: list[str], kind: str | None = None) -> Any:
    """A posted value as the document holds it (None: empty; ``kind``: ``f.kind``)."""
    kind = kind or f.kind
    choices = {str(v): v for v, _ in f.choices()} if kind in ("enum", "multi") else {}
    if kind == "multi":
        if not choices:  # codes typed in one input: "19.01.01, 19.01.02"
            values = [v for text in values for v in re.split(r"[,;\s]+", text)]
        chosen = [choices.get(v, v) for v in values if v]
        return chosen or None
    text = (values[0] if values else "").strip()
    if not text:
        return None
    if kind == "enum":
        return choices.get(text, text)  # the schema's own value (an enum of numbers too)
    if kind in NUMERIC:
        number = parse_number(text)
        return text if number is None else number
    if kind == "yes-no":
        return {"ya": True, "tidak": False}.get(text.lower(), text)
    if kind == "longtext":
        return text.replace("\r\n", "\n")
    return text


class Upload:
    """A file chosen in a file input, not kept yet."""

    def __init__(self, storage: FileStorage):
        self.storage = storage


@dataclass
class Posted:
    data: dict[str, dict] = dc_field(default_factory=dict)  # {form: patch}
    problems: list[Problem] = dc_field(default_factory=list)  # of the post itself


def _unknown(form: str, key: str) -> Problem:
    return Problem(ERROR, form, f"Isian '{key[:120]}' tidak dikenal pada tahap ini; muat ulang "
                                "halaman lalu coba lagi")


def read_post(definition: Any, stage: Any, form: MultiDict, files: MultiDict,
              known: Mapping[str, dict]) -> Posted:
    """The patch the posted cells make (uploads as `Upload`), and what is wrong with the
    post itself (names that are no cell of the stage's forms)."""
    outputs = [f for f in stage.outputs if f in definition.forms]
    posted = Posted()
    deleted = set(form.getlist(DELETE))
    lists: dict[tuple[str, str], dict[int, dict]] = {}
    fields: dict[tuple[str, str, str], tuple] = {}  # (form, section, field) -> (section, field, kind)
    for key in dict.fromkeys([*form.keys(), *files.keys()]):
        bits = key.split("/")
        if len(bits) == 2 and bits[0] in outputs:
            section = spec_of(definition, bits[0]).section(bits[1])
            if section is not None and section.kind == ROWS:
                lists.setdefault((bits[0], bits[1]), {})
                continue
        if len(bits) != 4:
            if "/" in key:
                posted.problems.append(_unknown(outputs[0] if outputs else "", key))
            continue  # csrf_token, aksi, versions, hapus
        form_id, name, row, fname = bits
        found = fields.get((form_id, name, fname))
        if found is None:
            section = spec_of(definition, form_id).section(name) if form_id in outputs else None
            f = section.field(fname) if section else None
            found = fields[(form_id, name, fname)] = (section, f, f.kind if f else "")
        section, f, kind = found
        if f is None or (section.kind == FIELDS and row != NO_ROW) or (
                section.kind == ROWS and not (row.isascii() and row.isdigit() and int(row) > 0)):
            posted.problems.append(_unknown(form_id if form_id in outputs else outputs[0], key))
            continue
        if kind == "file":
            upload = files.get(key)
            if upload is not None and upload.filename:
                value: Any = Upload(upload)
            else:
                sha = (form.get(key) or "").strip()
                value = (dict(known[sha]) if sha in known else {"sha256": sha}) if sha else None
        else:
            value = parse_value(f, form.getlist(key), kind)
        patch = posted.data.setdefault(form_id, {})
        if section.kind == FIELDS:
            patch.setdefault(name, {})[fname] = value
        elif section.kind == PER_REGION:
            patch.setdefault(name, {}).setdefault(row, {})[fname] = value
        elif f"{form_id}/{name}/{row}" not in deleted:
            lists.setdefault((form_id, name), {}).setdefault(int(row), {})[fname] = value
    for (form_id, name), rows in lists.items():
        kept = [{k: v for k, v in rows[n].items() if v is not None} for n in sorted(rows)]
        posted.data.setdefault(form_id, {})[name] = [r for r in kept if r]
    return posted


def _cells(definition: Any, data: Mapping[str, Any]):
    """(form, section, row key, field name, row dict) of every value of a patch."""
    for form_id, patch in data.items():
        spec = spec_of(definition, form_id)
        for name, value in patch.items():
            section = spec.section(name)
            if section is None:
                continue
            if section.kind == FIELDS:
                yield form_id, section, NO_ROW, value
            elif section.kind == PER_REGION:
                yield from ((form_id, section, code, row) for code, row in value.items())
            else:
                yield from ((form_id, section, str(n), row) for n, row in enumerate(value, 1))


def keep_uploads(session: Session, definition: Any, task: Any, actor: Any, unit: str | None,
                 data: Mapping[str, Any]) -> list[Problem]:
    """Store every `Upload` of ``data`` (replacing it by its file object, or by None when
    it is refused) and say what was refused. A file for a field the person may not write
    is not kept: its None lets the engine refuse the field."""
    stage = definition.stage(task.stage)
    problems = []
    for form_id, section, row, values in _cells(definition, data):
        for fname, value in list(values.items()):
            if not isinstance(value, Upload):
                continue
            f = section.field(fname)
            values[fname] = None
            if not may_write(stage, unit, f):
                continue
            content = value.storage.read(f.max_bytes + 1)
            try:
                values[fname] = store_upload(session, task=task, field=f, content=content,
                                             name=value.storage.filename or "berkas",
                                             username=actor.username, now=utcnow())
            except InvalidForm as exc:
                where = section.title + (f" baris {row}" if section.kind == ROWS else
                                         f" {row}" if section.kind == PER_REGION else "")
                problems.append(Problem(ERROR, form_id, f"{where}: {exc.message}", section.name,
                                        row if section.kind != FIELDS else None, (fname,)))
    return problems


def _known_files(session: Session, task_id: int) -> dict[str, dict]:
    """SHA-256 -> file object of every file uploaded for the stage."""
    rows = session.execute(select(AttachmentUse.sha256, AttachmentUse.name, Attachment.size,
                                  Attachment.media_type)
                           .join(Attachment, Attachment.sha256 == AttachmentUse.sha256)
                           .where(AttachmentUse.task_id == task_id))
    return {sha: {"sha256": sha, "nama": name, "ukuran": size, "jenis": kind}
            for sha, name, size, kind in rows}


# -- after a refusal ---------------------------------------------------------------------------

def _without_uploads(data: Mapping[str, Any]) -> dict:
    """``data`` with uploads not kept as empty values (safe to merge and show)."""
    def clean(value: Any) -> Any:
        if isinstance(value, Upload):
            return None
        if isinstance(value, Mapping):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    return clean(data)


def trial_documents(session: Session, definition: Any, task: Any, unit: str | None,
                    data: Mapping[str, Any]) -> dict[str, dict]:
    """The stage's documents with ``data`` merged into ``unit``'s part: what the person
    typed, over what the other units have saved."""
    parts = dict(parts_of(session, task.id))
    owner = unit if unit is not None else "\uffff"  # merged last, over every part
    mine = parts.get(owner)
    merged = copy.deepcopy(dict(mine.data)) if mine else {}
    for form_id, patch in data.items():
        merged[form_id] = merge_into(merged.get(form_id) or {}, patch)
    parts[owner] = Part(owner, mine.state if mine else None, merged,
                        mine.version if mine else 0, None, None)
    docs = documents(definition, task.stage, parts, rollups_of(session, task.id))
    computed.fill(session, definition, task, docs, lambda h: pinned(session, h))
    return docs


def _refused_page(year: int, region: str, stage: str, *, data: Mapping[str, Any] | None,
                  problems: list[Problem], message: str, phase: str, status: int):
    """The stage page again, showing ``data`` as typed, its problems, and why nothing was
    saved."""
    from .tasks import stage_page  # the tasks blueprint renders the whole page

    def override(session: Session, task: Any, definition: Any, actor: Any) -> dict:
        if data is None:
            return {"problems": problems or None, "refused": message}
        unit = entry_unit(task, definition, actor, part_states(session, task.id))
        docs = trial_documents(session, definition, task, unit, data)
        previous = last_year(session, task, lambda h: pinned(session, h))
        own = unit if phase == SUBMIT and definition.stage(task.stage).parts else None
        found = stage_problems(session, definition, task, phase=phase, unit=own, docs=docs,
                               previous=previous)
        return {"docs": docs, "problems": problems + found, "refused": message}

    return stage_page(year, region, stage, form_override=override, status=status)


def _status(exc: AksiError) -> int:
    if isinstance(exc, Conflict):
        return 409
    return 403 if isinstance(exc, NotPermitted) else 422


# -- the route ---------------------------------------------------------------------------------

@bp.post("/tugas/<int:year>/<region>/<stage>/isian")
def save(year: int, region: str, stage: str):
    actor = current_user.actor
    if not can_see(actor, region):
        abort(403)
    back = redirect(url_for("tasks.detail", year=year, region=region, stage=stage))
    action = request.form.get("aksi", "simpan")
    versions = [request.form.get(name, "") for name in ("part_version", "version")]
    if action not in ("simpan", "kirim") or not all(v.isascii() and v.isdigit() for v in versions):
        flash("Formulir tidak lengkap; muat ulang halaman lalu coba lagi. Tidak ada yang diubah.",
              "error")
        return back
    part_version, version = map(int, versions)
    phase = SUBMIT if action == "kirim" else DRAFT
    try:
        # 1. the post read, the uploads checked and kept (their own transaction, like an
        #    upload through the API: a refused save keeps them for the next try).
        with database().session() as session:
            task = find_task(session, region, stage, year)
            definition = pinned(session, task.definition_hash)
            posted = read_post(definition, definition.stage(stage), request.form,
                               request.files, _known_files(session, task.id))
            if posted.problems:
                raise _PostRefused(None, posted.problems, "Tidak ada yang disimpan: kiriman "
                                   "berisi isian yang tidak dikenal.")
            parts = parts_of(session, task.id)
            unit = entry_unit(task, definition, actor, parts)
            mine = parts.get(unit) if unit is not None else None
            if mine is not None and mine.version != part_version \
                    and mine.updated_by == actor.username:
                # The newer version is this person's own (another tab, a post sent twice):
                # the version guards against other people's changes only.
                part_version = mine.version
            refused = keep_uploads(session, definition, task, actor, unit, posted.data)
            if refused:
                raise _PostRefused(_without_uploads(posted.data), refused, "Tidak ada yang "
                                   "disimpan: berkas ditolak (lihat tanda pada isiannya).")
            trigger = submit_trigger(definition, task, actor)
    except NotFound:
        abort(404)
    except _PostRefused as exc:
        return _refused_page(year, region, stage, data=exc.data, problems=exc.problems,
                             message=exc.message, phase=phase, status=422)
    except AksiError as exc:
        return _refused_page(year, region, stage, data=None, problems=[],
                             message=f"Tidak ada yang disimpan: {exc.message}.", phase=phase,
                             status=_status(exc))
    data = posted.data
    # 2. the save (and for "Simpan & kirim" the submission), all or nothing.
    try:
        with database().session() as session:
            if action == "kirim":
                if trigger is None:
                    raise NotPermitted(f"{actor.username} tidak berhak mengirim tahap ini")
                done = act_on(session, region, stage, year, trigger.id, actor.username,
                              data=data or None, expected_version=version)
                states = definition.lifecycle.states
            else:
                saved = save_on(session, region, stage, year, actor.username, data,
                                expected_version=part_version)
    except NotFound:
        abort(404)
    except AksiError as exc:
        shown = data if not isinstance(exc, NotPermitted) else None
        return _refused_page(year, region, stage, data=shown, problems=[],
                             message=f"Tidak ada yang disimpan: {exc.message}.", phase=phase,
                             status=_status(exc))
    if action == "kirim":
        own = f"bagian unit {unit} kini '{states[trigger.dest].name}'; " if unit else ""
        flash(f"Tersimpan dan terkirim: {own}status tahap kini "
              f"'{states[done.to_state].name}'.", "success")
    else:
        errors = sum(p.is_error for p in saved.problems)
        warnings = len(saved.problems) - errors
        flash("Draf tersimpan." + (f" Masih ada {errors} kesalahan dan {warnings} peringatan; "
                                   "lihat tanda pada isian." if saved.problems else ""), "success")
    return back


class _PostRefused(Exception):
    """A post refused before the engine saw it (its transaction rolls back)."""

    def __init__(self, data: Mapping[str, Any] | None, problems: list[Problem], message: str):
        super().__init__(message)
        self.data, self.problems, self.message = data, problems, message
