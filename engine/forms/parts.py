"""Where a stage's form data lives: one row per part, merged into documents on read.

A stage without parts keeps its whole document in one part, unit ``WHOLE`` (""). A stage
split into parts (``parts:`` in the YAML) keeps one row per unit, holding only the fields
that unit owns; the document people see is the merge of the parts, over the roll-up rows
of its child regions (what the parent's operators type wins over what was rolled up).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..store.models import FormPart, FormRollup
from ..store.prepared import Prepared
from ..definitions.forms.spec import PER_REGION, ROWS, spec_of

WHOLE = ""


@dataclass(frozen=True)
class Part:
    unit: str
    state: str | None
    data: Mapping[str, Any]
    version: int
    updated_at: dt.datetime | None
    updated_by: str | None
    note: str | None = None

    def as_dict(self) -> dict:
        return {"unit": self.unit, "state": self.state, "version": self.version,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "updated_by": self.updated_by, "note": self.note}


_PARTS = FormPart.__table__
_READ = Prepared(select(_PARTS.c.unit, _PARTS.c.state, _PARTS.c.data, _PARTS.c.version,
                        _PARTS.c.updated_at, _PARTS.c.updated_by, _PARTS.c.note)
                 .where(_PARTS.c.task_id == bindparam("task_id")).order_by(_PARTS.c.unit))


def parts_of(session: Session, task_id: int) -> dict[str, Part]:
    """Unit -> part, for every part of the stage that has a row."""
    return {unit: Part(unit, state, data or {}, version, at, by, note)
            for unit, state, data, version, at, by, note in _READ.rows(session, task_id=task_id)}


@dataclass(frozen=True)
class PartState:
    """A part's state and version, without its data."""

    unit: str
    state: str | None
    version: int


_STATES = Prepared(select(_PARTS.c.unit, _PARTS.c.state, _PARTS.c.version)
                   .where(_PARTS.c.task_id == bindparam("task_id")))


def part_states(session: Session, task_id: int) -> dict[str, PartState]:
    """Unit -> its part's state and version: what judging who may act needs, without
    reading (and decoding) the data of a large document."""
    return {unit: PartState(unit, state, version)
            for unit, state, version in _STATES.rows(session, task_id=task_id)}


_ROLLUPS = Prepared(select(FormRollup.__table__.c.child_code, FormRollup.__table__.c.data)
                    .where(FormRollup.__table__.c.task_id == bindparam("task_id")))


def rollups_of(session: Session, task_id: int) -> dict[str, Mapping[str, Any]]:
    """Child code -> its rolled-up data ({form: {section: {field: value}}})."""
    return {code: data for code, data in _ROLLUPS.rows(session, task_id=task_id)}


def merge_into(target: dict, patch: Mapping[str, Any], *, depth: int = 0) -> dict:
    """Merge a document (or part) into another: objects key by key down to the fields,
    lists of rows replaced whole; a None deletes. Returns ``target``."""
    if depth >= 2 and None not in patch.values():  # a row's fields, none deleted: as a whole
        target.update(patch)
        return target
    for key, value in patch.items():
        mapping = isinstance(value, (dict, Mapping))  # dict first: the ABC check is slow
        if value is None:
            target.pop(key, None)
        elif mapping and depth < 2 and isinstance(target.get(key), dict):
            merge_into(target[key], value, depth=depth + 1)
        elif mapping and depth < 2:
            target[key] = merge_into({}, value, depth=depth + 1)
        else:
            target[key] = value
    return target


def documents(definition: Any, stage_id: str, parts: Mapping[str, Part],
              rollups: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict]:
    """Form id -> the document of a stage: its roll-up rows, then every part merged in."""
    out: dict[str, dict] = {}
    for form in definition.stage(stage_id).outputs:
        doc: dict = {}
        for code, data in (rollups or {}).items():
            for section, values in (data.get(form) or {}).items():
                doc.setdefault(section, {})[code] = dict(values)
        for unit in sorted(parts):
            part_doc = parts[unit].data.get(form)
            if isinstance(part_doc, Mapping):
                _merge_doc(doc, part_doc, definition, form)
        out[form] = doc
    return out


def _merge_doc(doc: dict, part_doc: Mapping[str, Any], definition: Any, form: str) -> None:
    spec = spec_of(definition, form)
    for name, value in part_doc.items():
        section = spec.section(name)
        if section is not None and section.kind == ROWS or not isinstance(value, Mapping):
            doc[name] = value  # rows belong to one unit: its list stands whole
        elif section is not None and section.kind == PER_REGION:
            rows = doc.setdefault(name, {})
            for code, row in value.items():
                if isinstance(row, Mapping) and isinstance(rows.get(code), dict):
                    rows[code] = {**rows[code], **row}
                else:
                    rows[code] = row
        else:
            doc[name] = {**doc.get(name, {}), **value} if isinstance(doc.get(name), dict) else dict(value)


_INSERT = Prepared(insert(_PARTS).values(
    task_id=bindparam("task_id"), unit=bindparam("unit"), state=bindparam("state"),
    data=bindparam("data"), version=1, updated_at=bindparam("now"), updated_by=bindparam("by"),
    note=bindparam("note")))
_WRITE = Prepared(update(_PARTS).where(
    _PARTS.c.task_id == bindparam("task_id"), _PARTS.c.unit == bindparam("unit"),
    _PARTS.c.version == bindparam("read_version")).values(
    data=bindparam("data"), state=bindparam("state"), note=bindparam("note"),
    updated_at=bindparam("now"), updated_by=bindparam("by"), version=_PARTS.c.version + 1))


def write_part(session: Session, task_id: int, part: Part | None, *, unit: str,
               data: Mapping[str, Any], state: str | None, note: str | None, by: str,
               now: dt.datetime) -> bool:
    """Insert or update one part, on the version that was read; False when somebody
    else wrote it meanwhile (nothing is written then)."""
    if part is None:
        return _INSERT.write(session, task_id=task_id, unit=unit, state=state, data=dict(data),
                             now=now, by=by, note=note) == 1
    return _WRITE.write(session, task_id=task_id, unit=unit, read_version=part.version,
                        data=dict(data), state=state, note=note, now=now, by=by) == 1


_ALL_STATES = Prepared(update(_PARTS).where(_PARTS.c.task_id == bindparam("task_id"))
                       .values(state=bindparam("state"), version=_PARTS.c.version + 1))


def set_every_state(session: Session, task_id: int, state: str) -> None:
    """A whole-stage transition (approve, reopen) takes every part along."""
    _ALL_STATES.write(session, task_id=task_id, state=state)


def units_with(parts: Iterable[Part]) -> list[str]:
    return [p.unit for p in parts]
