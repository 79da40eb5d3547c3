"""What changed since a part's last submission, and what a return sent back.

A verifikator who returned a part wants to see, when it comes back, exactly which cells
the operator changed; the operator wants to see why it came back and which cells were
marked. Kept per part (the whole document is the part of unit ``WHOLE`` in a stage
without parts), in three columns of ``form_parts`` (migration 0009):

- ``submitted``: the part's data as it was submitted last - the baseline. One copy per
  part, rewritten by each submission; kept on the row, not in the submission's event,
  because events are the webhooks' outbox and the largest analysis holds ~6,500 values.
- ``changes``: written by a submission: the cells it changed against the previous one
  (``cells`` is None for a first submission), when and by whom, and the return it answers.
  Small: only changed cells, so the review page never diffs two snapshots.
- ``returned``: written by a send-back (``trigger``, ``by``, ``at``, ``reason``, ``cells``),
  cleared by the next submission (which keeps it as ``changes["answered"]``).

Which triggers submit and which send back is read from the lifecycle, never named: a
submission is a trigger that needs valid forms; a send-back is one that needs a reason
and leads to a state a submission starts from (the juknis' "Kembalikan" and "Buka
kembali").

Cells are addressed by cell key ``FORM/SECTION/ROW/FIELD``: ROW is the region code in a
per-region section, the 1-based row number in a repeating section, ``-`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..errors import InvalidForm
from ..store.models import FormPart
from ..store.prepared import Prepared
from .parts import WHOLE
from ..definitions.forms.spec import FIELDS, PER_REGION, ROWS, Section, spec_of

NO_ROW = "-"


# -- cell keys ---------------------------------------------------------------------------------

def cell_key(form: str, section: str, row: str | int | None, field: str) -> str:
    return f"{form}/{section}/{NO_ROW if row is None else row}/{field}"


def split_cell(key: str) -> tuple[str, str, str, str] | None:
    """(form, section, row, field) of a cell key, or None if it is not shaped like one."""
    if not isinstance(key, str):
        return None
    parts = key.split("/")
    if len(parts) != 4 or not all(parts):
        return None
    return parts[0], parts[1], parts[2], parts[3]


# -- the lifecycle's submissions and send-backs ------------------------------------------------

def is_submission(trigger: Any) -> bool:
    return bool(trigger.needs_valid_forms)


@functools.lru_cache(maxsize=64)
def editable_states(definition: Any) -> frozenset[str]:
    """States a submission starts from: where the operators write. (Cached: asked on
    every click; definitions never change, and equal ones hash alike.)"""
    return frozenset(s for t in definition.lifecycle.triggers.values() if is_submission(t)
                     for s in t.sources)


@functools.lru_cache(maxsize=64)
def send_back_ids(definition: Any) -> frozenset[str]:
    """The triggers that send a submitted (or approved) stage or part back to its
    operators with a written reason."""
    editable = editable_states(definition)
    return frozenset(t.id for t in definition.lifecycle.triggers.values()
                     if t.reason_required and not is_submission(t) and t.dest in editable)


def is_send_back(definition: Any, trigger: Any) -> bool:
    return trigger.id in send_back_ids(definition)


def send_back_triggers(definition: Any, stage: str) -> list[Any]:
    """The send-backs of ``stage``, each with the roles that fire it there."""
    ids = send_back_ids(definition)
    return [t for t in definition.triggers(stage).values() if t.id in ids]


# -- comparing two versions of a part ----------------------------------------------------------

@dataclass(frozen=True)
class Change:
    cell: str
    before: Any
    after: Any

    def as_list(self) -> list:
        return [self.cell, self.before, self.after]


def _rows_of(section: Section | None, value: Any) -> Iterator[tuple[str | int | None, Mapping]]:
    """(row, fields) of one section's value, keyed as cell keys key them."""
    kind = section.kind if section is not None else (ROWS if isinstance(value, list) else FIELDS)
    if kind == ROWS and isinstance(value, list):
        for i, row in enumerate(value, start=1):
            yield i, row if isinstance(row, Mapping) else {}
    elif kind == PER_REGION and isinstance(value, Mapping):
        for code, row in value.items():
            yield code, row if isinstance(row, Mapping) else {}
    elif isinstance(value, Mapping):
        yield None, value


def cells_of(definition: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """Cell key -> value of every value a part (``{form: document}``) holds."""
    out: dict[str, Any] = {}
    for form, doc in (data or {}).items():
        if not isinstance(doc, Mapping):
            continue
        spec = spec_of(definition, form) if form in definition.forms else None
        for name, value in doc.items():
            section = spec.section(name) if spec is not None else None
            for row, fields in _rows_of(section, value):
                for field, v in fields.items():
                    if v is not None:
                        out[cell_key(form, name, row, field)] = v
    return out


def diff(definition: Any, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """The cells whose value differs between two versions of a part, in cell-key order
    (a value that is missing on one side is None there)."""
    old, new = cells_of(definition, before), cells_of(definition, after)
    return [Change(key, old.get(key), new.get(key))
            for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key)]


# -- storage -----------------------------------------------------------------------------------

_PARTS = FormPart.__table__
_READ = Prepared(select(_PARTS.c.unit, _PARTS.c.data, _PARTS.c.submitted_data, _PARTS.c.changes,
                        _PARTS.c.sent_back)
                 .where(_PARTS.c.task_id == bindparam("task_id"), _PARTS.c.unit == bindparam("unit")))
_RETURNED = Prepared(select(_PARTS.c.unit, _PARTS.c.state, _PARTS.c.sent_back)
                     .where(_PARTS.c.task_id == bindparam("task_id")))
_REVIEWS = Prepared(select(_PARTS.c.unit, _PARTS.c.state, _PARTS.c.submitted_data.is_not(None),
                           _PARTS.c.changes, _PARTS.c.sent_back)
                    .where(_PARTS.c.task_id == bindparam("task_id")).order_by(_PARTS.c.unit))
_REVIEWS_DATA = Prepared(select(_PARTS.c.unit, _PARTS.c.state, _PARTS.c.data,
                                _PARTS.c.submitted_data, _PARTS.c.changes, _PARTS.c.sent_back)
                         .where(_PARTS.c.task_id == bindparam("task_id")).order_by(_PARTS.c.unit))
_DATA = Prepared(select(_PARTS.c.data, _PARTS.c.submitted_data)
                 .where(_PARTS.c.task_id == bindparam("task_id"), _PARTS.c.unit == bindparam("unit")))
_SUBMITTED = Prepared(update(_PARTS).where(
    _PARTS.c.task_id == bindparam("task_id"), _PARTS.c.unit == bindparam("unit")).values(
    submitted_data=bindparam("submitted"), changes=bindparam("changes"),
    sent_back=bindparam("returned")))
_SENT_BACK = Prepared(update(_PARTS).where(
    _PARTS.c.task_id == bindparam("task_id"), _PARTS.c.unit == bindparam("unit")).values(
    sent_back=bindparam("returned")))
_NEW_WHOLE = Prepared(insert(_PARTS).values(
    task_id=bindparam("task_id"), unit=WHOLE, state=None, data={}, version=1,
    updated_at=bindparam("now"), updated_by=bindparam("by"), sent_back=bindparam("returned")))


@dataclass(frozen=True)
class PartReview:
    """One part as the review sees it: its state, whether it has a baseline (the data at
    its last submission), its last changes and outstanding return; with ``data`` read
    (`reviews_of`), its data and that baseline."""

    unit: str
    state: str | None
    baseline: bool
    changes: Mapping[str, Any] | None
    returned: Mapping[str, Any] | None
    data: Mapping[str, Any] | None = None
    submitted: Mapping[str, Any] | None = None


def reviews_of(session: Session, task_id: int, *, data: bool = True) -> dict[str, PartReview]:
    """Unit -> the part with its baseline, last changes and outstanding return. Without
    ``data``, the parts' data and baselines are not read (``data``/``submitted`` are None):
    they are the largest values of a stage (~180 KB of JSON for a unit of the largest
    kecamatan), and the review panel needs them only for some parts (`part_data`)."""
    if not data:
        return {unit: PartReview(unit, state, bool(baseline), changes, returned)
                for unit, state, baseline, changes, returned
                in _REVIEWS.rows(session, task_id=task_id)}
    return {unit: PartReview(unit, state, submitted is not None, changes, returned,
                             stored or {}, submitted)
            for unit, state, stored, submitted, changes, returned
            in _REVIEWS_DATA.rows(session, task_id=task_id)}


def part_data(session: Session, task_id: int,
              unit: str) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    """(a part's data, its baseline or None): what `reviews_of` without data leaves out."""
    row = _DATA.first(session, task_id=task_id, unit=unit)
    return (row.data or {}, row.submitted_data) if row is not None else ({}, None)


def after_move(session: Session, *, definition: Any, task_id: int, stage_id: str,
               trigger: Any, units: Iterable[str], by: str, reason: str | None,
               now: dt.datetime) -> None:
    """Called where a stage or part moves, in its transaction: a submission keeps the
    part as submitted and the cells it changed; a send-back records who, when and why.
    Any other trigger costs nothing."""
    submission = is_submission(trigger)
    if not (submission or is_send_back(definition, trigger)) \
            or not definition.stage(stage_id).outputs:
        return
    if submission:
        for unit in units:
            row = _READ.first(session, task_id=task_id, unit=unit)
            if row is None:
                continue  # nothing saved: nothing to compare later
            baseline = row.submitted_data
            cells = (None if baseline is None else
                     [c.as_list() for c in diff(definition, baseline, row.data or {})])
            changes = {"at": now.isoformat(), "by": by, "cells": cells,
                       "since": (row.changes or {}).get("at"), "answered": row.sent_back}
            _SUBMITTED.write(session, task_id=task_id, unit=unit, submitted=row.data or {},
                             changes=changes, returned=None)
    else:
        info = {"trigger": trigger.id, "by": by, "at": now.isoformat(), "reason": reason,
                "cells": []}
        for unit in units:
            if _SENT_BACK.write(session, task_id=task_id, unit=unit, returned=info) == 0 \
                    and unit == WHOLE:
                # A whole stage sent back before anything was typed (or a document kept
                # elsewhere): the row exists to carry the return.
                _NEW_WHOLE.write(session, task_id=task_id, now=now, by=by, returned=info)


def mark_cells(session: Session, *, task_id: int, cells: Mapping[str, list[str]]) -> None:
    """Add the cells ``cells`` (unit -> cell keys) to the parts' outstanding returns."""
    for unit, keys in cells.items():
        row = _READ.first(session, task_id=task_id, unit=unit)
        if row is None or row.sent_back is None:
            continue
        _SENT_BACK.write(session, task_id=task_id, unit=unit,
                         returned={**row.sent_back, "cells": sorted(set(keys))})


# -- returning with marked cells ---------------------------------------------------------------

def cell_owner(definition: Any, stage: Any, key: str, rows: Mapping[str, Any],
               repeated: Mapping[tuple[str, str], int]) -> tuple[str | None, str | None]:
    """(unit whose part holds the cell, None) or (None, why it is not a cell of the stage)."""
    parts = split_cell(key)
    if parts is None:
        return None, f"'{key}' bukan alamat sel (FORMULIR/BAGIAN/BARIS/ISIAN)"
    form, section_name, row, field_name = parts
    if form not in stage.outputs or form not in definition.forms:
        return None, f"'{key}': formulir '{form}' bukan keluaran tahap ini"
    spec = spec_of(definition, form)
    section = spec.section(section_name)
    f = section.field(field_name) if section is not None else None
    if f is None:
        return None, f"'{key}': isian '{section_name}/{field_name}' tidak ada di {spec.title}"
    if f.computed:
        return None, f"'{key}': «{f.title}» dihitung otomatis, bukan diisi operator"
    if section.kind == PER_REGION and row not in rows:
        return None, f"'{key}': wilayah '{row}' tidak termasuk baris «{section.title}»"
    if section.kind == ROWS and not (row.isascii() and row.isdigit()
                                     and 1 <= int(row) <= repeated.get((form, section_name), 0)):
        return None, (f"'{key}': «{section.title}» tidak punya baris {row} "
                      f"(ada {repeated.get((form, section_name), 0)} baris)")
    if section.kind == FIELDS and row != NO_ROW:
        return None, f"'{key}': «{section.title}» tidak berbaris; tulis '{NO_ROW}' sebagai baris"
    if stage.parts:
        return f.unit, None
    return WHOLE, None


def compose_cells(definition: Any, picked: Iterable[str], rows: Iterable[str],
                  fields: Iterable[str]) -> tuple[list[str], list[str]]:
    """The cell keys a return asks for: the ``picked`` keys, and every chosen field
    ("form/section/field") in every chosen desa or row ("#n") that applies to its section
    (the stage page's return form). Returns (keys, problems in Bahasa)."""
    keys = [k for k in picked if k]
    rows = [r for r in rows if r]
    regions = [r for r in rows if not r.startswith("#")]
    numbers = [r[1:] for r in rows if r.startswith("#")]
    problems = []
    for value in fields:
        form, _, rest = value.partition("/")
        section_name, _, name = rest.partition("/")
        if form not in definition.forms:
            problems.append(f"isian '{value}' tidak dikenal")
            continue
        section = spec_of(definition, form).section(section_name)
        f = section.field(name) if section else None
        if f is None:
            problems.append(f"isian '{value}' tidak dikenal")
        elif section.kind == FIELDS:
            keys.append(cell_key(form, section_name, None, name))
        else:
            wanted = regions if section.kind == PER_REGION else numbers
            if not wanted:
                what = "desa/wilayah" if section.kind == PER_REGION else "nomor baris"
                problems.append(f"«{f.title}»: pilih juga {what} yang dimaksud")
            keys += [cell_key(form, section_name, row, name) for row in wanted]
    return list(dict.fromkeys(keys)), problems


MARK_FORMAT = "FORMULIR.BAGIAN.ISIAN[@KODE_WILAYAH atau @NOMOR_BARIS]"


def marked_cells(definition: Any, marks: Iterable[str]) -> tuple[list[str], list[str]]:
    """The cell keys of marks written ``FORM.SECTION.FIELD[@ROW]`` (ROW: a region code in a
    section per region, a row number in a repeating one; none in a section of fields), as
    ``aksi task act --mark`` and the API's ``marks`` take them: `compose_cells` of each.
    Returns (keys, problems in Bahasa)."""
    keys: list[str] = []
    problems: list[str] = []
    for mark in marks:
        where, _, row = str(mark).partition("@")
        parts = where.split(".")
        if len(parts) != 3 or not all(parts):
            problems.append(f"tanda '{mark}' tidak sah; tulis {MARK_FORMAT}")
            continue
        form, section_name, name = parts
        section = spec_of(definition, form).section(section_name) \
            if form in definition.forms else None
        rows = ["#" + row if section is not None and section.kind == ROWS else row] if row else []
        if row and section is not None and section.kind == FIELDS:
            problems.append(f"tanda '{mark}': «{section.title}» tidak berbaris; tulis tanpa '@'")
            continue
        found, why = compose_cells(definition, [], rows, [f"{form}/{section_name}/{name}"])
        keys += found
        problems += [f"tanda '{mark}': {w}" for w in why]
    return list(dict.fromkeys(keys)), problems


def check_cells(definition: Any, stage: Any, keys: Iterable[str], *, units: Iterable[str],
                rows: Mapping[str, Any], documents: Mapping[str, Mapping[str, Any]],
                context: dict) -> dict[str, list[str]]:
    """Unit -> its marked cells; refuses (`InvalidForm`, in Bahasa) any key that is not a
    cell of the parts being sent back."""
    units = list(units)
    repeated = {(form, s.name): len(doc.get(s.name) or []) for form, doc in documents.items()
                if form in definition.forms
                for s in spec_of(definition, form).sections if s.kind == ROWS}
    out: dict[str, list[str]] = {}
    wrong: list[str] = []
    for key in dict.fromkeys(keys):
        unit, why = cell_owner(definition, stage, key, rows, repeated)
        if why is None and unit not in units:
            why = (f"'{key}' milik bagian unit {unit or 'tanpa unit'}, bukan bagian yang "
                   f"dikembalikan ({', '.join(u for u in units if u) or 'seluruh dokumen'})")
        if why is not None:
            wrong.append(why)
        else:
            out.setdefault(unit, []).append(key)
    if wrong:
        raise InvalidForm(f"sel yang ditandai tidak dikenal ({len(wrong)}); tidak ada yang "
                          "diubah", problems=wrong, **context)
    return out


# -- what the task list and the stage page show -----------------------------------------------

def _returned_states(definition: Any) -> set[str]:
    ids = send_back_ids(definition)
    return {t.dest for t in definition.lifecycle.triggers.values() if t.id in ids}


def returned_info(session: Session, definition: Any, task: Any) -> dict | None:
    """The outstanding return of a stage, or None: the latest send-back still waiting for
    a new submission (``reason``, ``by``, ``at``, ``unit``, ``cells``, the trigger's
    ``name``), with every returned part in ``parts``.

    Asked of every row of a task list: it reads the parts only when the stage stands
    where a return leaves it (or, split into parts, where a part may stand returned
    while the stage waits for the others), in one indexed query; otherwise no query.
    """
    stage = definition.stage(task.stage)
    if not stage.outputs:
        return None
    if task.state not in _returned_states(definition) and not (
            stage.parts and task.state in editable_states(definition)):
        return None
    found = [(unit, returned) for unit, _state, returned
             in _RETURNED.rows(session, task_id=task.id) if returned]
    if not found:
        return None
    lc = definition.lifecycle
    parts = []
    for unit, r in sorted(found, key=lambda item: (item[1].get("at") or "", item[0])):
        trigger = lc.triggers.get(r.get("trigger"))
        parts.append({"unit": unit or None, "reason": r.get("reason"), "by": r.get("by"),
                      "at": r.get("at"), "cells": list(r.get("cells") or []),
                      "trigger": r.get("trigger"),
                      "name": trigger.name if trigger else r.get("trigger"),
                      "state_name": lc.states[trigger.dest].name if trigger else None})
    latest = parts[-1]
    return {**latest, "units": [p["unit"] for p in parts if p["unit"]], "parts": parts}
