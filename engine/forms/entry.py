"""Entering form data: who may write which fields of a stage, and a save that refuses
whole or writes whole.

Who: the roles of the lifecycle's data-entry triggers (those with ``valid_forms``), in the
stage's region, while the stage (and, in a stage split into parts, the unit's own part)
is in a state such a trigger starts from. In a stage with parts a person writes only the
fields their unit owns (``x-unit``); nobody writes a computed field.

A save is a patch merged field by field into the unit's part, checked as a draft (any
field may still be empty, none may have the wrong type), then written on the version that
was read. The stage row is locked first (``FOR NO KEY UPDATE`` on PostgreSQL; SQLite runs
every write transaction alone), so that a part's state and the stage state derived from
all parts are always judged on what the other units have committed. `save_parts` saves
several units' parts at once (an import of a spreadsheet of the whole stage): each checked
as its own save, the merged document checked once, all written or none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidForm, NotPermitted, Refused
from ..people import Actor, acting_roles
from ..people.scope import holds
from ..regions import tier_of
from ..store import events
from ..store.library import pinned
from ..store.models import Region, Task
from ..store.prepared import Prepared
from . import computed, files
from .parts import WHOLE, Part, documents, merge_into, parts_of, rollups_of, write_part
from ..definitions.forms.spec import PER_REGION, ROWS, spec_of
from .validate import DRAFT, SUBMIT, FormContext, Problem, check_document, owned_by

ROW_KINDS = {4: "desa", 3: "Kecamatan", 2: "Kabupaten/Kota", 1: "Provinsi"}


def entry_triggers(definition: Any, stage: str) -> list:
    """The data-entry triggers of ``stage``, each with the roles that fire it there."""
    return [t for t in definition.triggers(stage).values() if t.needs_valid_forms]


def part_start_state(definition: Any) -> str:
    """The state of a part that has no row yet: where the stage stood when it opened."""
    lc = definition.lifecycle
    return lc.triggers[lc.opens_with].dest


def unit_for(actor: Actor, refs: tuple, level: str, region: str) -> str | None:
    """The unit of the assignment that lets ``actor`` hold one of ``refs`` here."""
    for grant in actor.assignments:
        if any(holds(grant, ref, level, region) for ref in refs) and getattr(grant, "unit", None):
            return grant.unit
    return None


_TASKS = Task.__table__
_LOCK = Prepared(select(_TASKS.c.id, _TASKS.c.state, _TASKS.c.version)
                 .where(_TASKS.c.id == bindparam("task_id")).with_for_update(key_share=True))


@dataclass(frozen=True)
class WriteAccess:
    """Whether a person writes a part of a stage now, judged as `save_parts` judges a save
    (the pages ask before offering fields, a spreadsheet or an upload)."""

    writes: bool  # holds a data-entry role here (and a unit, in a stage filled per unit)
    unit: str | None  # their part's unit; None in a stage filled as one document
    blocked: str | None = None  # why they may not write now, in Bahasa; None: they may

    @property
    def part(self) -> str | None:
        """The part they may write now (``WHOLE`` in a stage without parts), else None."""
        if not self.writes or self.blocked is not None:
            return None
        return WHOLE if self.unit is None else self.unit


def write_access(definition: Any, task: Any, actor: Actor,
                 parts: Mapping[str, Any]) -> WriteAccess:
    """May ``actor`` write into ``task``'s stage now, and which part? ``parts``: unit ->
    the stage's parts (`parts_of` or `engine.forms.parts.part_states`)."""
    triggers = entry_triggers(definition, task.stage)
    refs = tuple(ref for t in triggers for ref in t.by)
    if not triggers or not acting_roles(actor, refs, task.level, task.region_code):
        return WriteAccess(False, None)
    stage = definition.stage(task.stage)
    unit = unit_for(actor, refs, task.level, task.region_code) if stage.parts else None
    if stage.parts and unit not in stage.parts:
        return WriteAccess(False, None,
                           "akun Anda belum ditetapkan unitnya; tahap ini diisi per unit")
    editable = {s for t in triggers for s in t.sources}
    states = definition.lifecycle.states
    if task.state not in editable:
        return WriteAccess(True, unit, f"tahap ini berstatus '{states[task.state].name}'")
    if stage.parts:
        part = parts.get(unit)
        state = part.state if part is not None and part.state else part_start_state(definition)
        if state not in editable:
            return WriteAccess(True, unit, f"bagian unit {unit} berstatus '{states[state].name}'")
    return WriteAccess(True, unit)


def lock_stage(session: Session, task_id: int) -> Any:
    """The stage row, locked until the transaction ends (fresh state and version)."""
    return _LOCK.first(session, task_id=task_id)


# -- the context a document is checked in ----------------------------------------------------

def _needs_rows(definition: Any, stage_id: str) -> bool:
    """Do the stage's forms have rows per region, or fields naming one?"""
    return any(section.kind == PER_REGION or any(f.ref in ("desa", "kelurahan", "child")
                                                 for f in section.fields)
               for form in definition.stage(stage_id).outputs if form in definition.forms
               for section in spec_of(definition, form).sections)


def context_for(session: Session, definition: Any, task: Any, *,
                previous: Mapping[str, Any] | None = None) -> FormContext:
    rows = dict(session.execute(select(Region.code, Region.name)
                                .where(Region.parent_code == task.region_code)
                                .order_by(Region.code)).all()) \
        if _needs_rows(definition, task.stage) else {}
    return FormContext(region=task.region_code, year=task.year, rows=rows,
                       stages=tuple(s.id for s in definition.stages), previous=previous,
                       row_kind=ROW_KINDS.get(tier_of(task.region_code) + 1, "Wilayah"))


def last_year(session: Session, task: Any, definition_of: Any) -> dict[str, dict]:
    """The same region's approved documents of this stage a year earlier ({} if none)."""
    before = session.execute(select(Task.id, Task.stage, Task.state, Task.definition_hash)
                             .where(Task.region_code == task.region_code,
                                    Task.stage == task.stage, Task.year == task.year - 1)).first()
    if before is None:
        return {}
    definition = definition_of(before.definition_hash)
    if before.state != definition.lifecycle.done:
        return {}
    return documents(definition, before.stage, parts_of(session, before.id),
                     rollups_of(session, before.id))


# -- saving ----------------------------------------------------------------------------------

@dataclass
class SaveResult:
    unit: str
    version: int
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"unit": self.unit, "version": self.version,
                "problems": [p.as_dict() for p in self.problems]}


def _field_label(definition: Any, form: str, section: str, name: str) -> str:
    found = spec_of(definition, form).find(f"{section}.{name}")
    return f"«{found[1].title}»" if found else f"«{name}»"


def _written_fields(definition: Any, form: str, patch: Mapping[str, Any]):
    """(section, field) of every field a patch writes, each once."""
    spec = spec_of(definition, form)
    for name, value in patch.items():
        section = spec.section(name)
        if section is None:
            yield name, None
            continue
        if section.kind == PER_REGION and isinstance(value, Mapping):
            rows = [r for r in value.values() if isinstance(r, Mapping)]
        elif section.kind == ROWS and isinstance(value, list):
            rows = [r for r in value if isinstance(r, Mapping)]
            if not rows:  # clearing the rows is writing every field of them
                yield from ((name, f.name) for f in section.fields)
        elif isinstance(value, Mapping):
            rows = [value]
        else:
            yield name, None
            continue
        names: dict = {}  # each field once, in the order first written
        for row in rows:
            names.update(dict.fromkeys(row))
        yield from ((name, key) for key in names)


def _refuse_foreign(definition: Any, stage: Any, unit: str,
                    data: Mapping[str, Any], context: dict) -> None:
    """Refuse fields this unit may not write: computed ones, and in a stage with parts,
    those another unit owns."""
    foreign, computed = [], []
    for form, patch in data.items():
        spec = spec_of(definition, form)
        fields_of = {s.name: {f.name: f for f in s.fields} for s in spec.sections}
        for section_name, name in _written_fields(definition, form, patch):
            f = fields_of.get(section_name, {}).get(name) if name else None
            if f is None:
                continue  # unknown: the schema check names it
            if f.computed:
                computed.append(f"«{f.title}»")
            elif stage.parts and f.unit != unit:
                foreign.append(f"«{f.title}» (milik {f.unit or 'tanpa unit'})")
    if computed:
        raise NotPermitted("isian ini dihitung otomatis dan tidak dapat diisi: "
                           + ", ".join(sorted(set(computed))), **context)
    if foreign:
        raise NotPermitted(f"unit {unit} tidak berhak mengisi: " + ", ".join(sorted(set(foreign))),
                           unit=unit, **context)


@dataclass(frozen=True)
class PartSave:
    """One unit's share of a save: who writes, what (``{form: patch}``), into which unit
    (None: the person's own) and on which version of that part (None: whatever it is)."""

    actor: Actor
    data: Mapping[str, Any]
    unit: str | None = None
    expected_version: int | None = None


def save(session: Session, *, task: Any, definition: Any, actor: Actor,
         data: Mapping[str, Any], unit: str | None = None, expected_version: int | None = None,
         now: dt.datetime, definition_of: Any = None) -> SaveResult:
    """Merge ``data`` ({form: patch}) into the part of the person's unit, as a draft.

    Raises `NotPermitted`, `InvalidForm`, `Refused` or `Conflict`, and has then written
    nothing.
    """
    return save_parts(session, task=task, definition=definition,
                      saves=[PartSave(actor, data, unit, expected_version)], now=now)[0]


def _shape_checked(stage: Any, data: Any, context: dict) -> None:
    if not isinstance(data, Mapping) or not data:
        raise InvalidForm("tidak ada isian untuk disimpan", problems=[], **context)
    unknown = [k for k in data if k not in stage.outputs]
    if unknown:
        raise InvalidForm(f"formulir {', '.join(map(str, unknown))} bukan keluaran tahap ini "
                          f"(keluaran: {', '.join(stage.outputs) or '-'})",
                          problems=[str(k) for k in unknown], **context)
    bad = [k for k, v in data.items() if not isinstance(v, Mapping)]
    if bad:
        raise InvalidForm(f"isi formulir {', '.join(bad)} harus berupa objek", problems=bad,
                          **context)


def _part_unit(stage: Any, item: PartSave, refs: tuple, task: Any, context: dict) -> str:
    """The unit whose part ``item`` writes, once its actor may write there at all."""
    actor = item.actor
    if not refs or not acting_roles(actor, refs, task.level, task.region_code):
        raise NotPermitted(f"{actor.username} tidak berhak mengisi formulir tahap ini di "
                           f"{task.region_code}", username=actor.username, **context)
    if not stage.parts:
        return WHOLE
    own_unit = unit_for(actor, refs, task.level, task.region_code)
    if own_unit is None:
        raise NotPermitted(f"{actor.username} belum ditetapkan unitnya; tahap ini diisi per "
                           f"unit ({', '.join(stage.parts)})", username=actor.username,
                           **context)
    if item.unit not in (None, own_unit):
        raise NotPermitted(f"{actor.username} mengisi bagian unit {own_unit}, bukan {item.unit}",
                           **context)
    return own_unit


def save_parts(session: Session, *, task: Any, definition: Any, saves: Sequence[PartSave],
               now: dt.datetime) -> list[SaveResult]:
    """Several units' saves of one stage in one go - a spreadsheet of the whole stage,
    say - each checked as `save` checks it (who may write which unit's fields, the
    part's state and version), the stage locked once, the document with every part
    merged checked once, and every part written (one event each); all or nothing.

    A problem blocks when it is an error of a field one of the written units owns.
    Returns one `SaveResult` per save, in order (each with every problem of the document).
    """
    stage = definition.stage(task.stage)
    context = {"region": task.region_code, "stage": task.stage, "year": task.year}
    if not saves:
        raise InvalidForm("tidak ada isian untuk disimpan", problems=[], **context)
    for item in saves:
        _shape_checked(stage, item.data, context)
    triggers = entry_triggers(definition, task.stage)
    refs = tuple(ref for t in triggers for ref in t.by)
    units = []
    for item in saves:
        part_unit = _part_unit(stage, item, refs, task, context)
        if part_unit in units:
            raise InvalidForm(f"bagian unit {part_unit or '(seluruh dokumen)'} disimpan lebih "
                              "dari sekali dalam satu penyimpanan", problems=[], **context)
        units.append(part_unit)
        _refuse_foreign(definition, stage, part_unit, item.data, context)
    known = files.known_files(session, task.id)
    for item in saves:
        strangers = files.unknown_files(definition, item.data, known)
        if strangers:  # a hash alone must not attach (and so open) another stage's file
            raise InvalidForm("berkas belum diunggah untuk tahap ini: " + ", ".join(strangers),
                              problems=strangers, **context)

    locked = lock_stage(session, task.id)
    editable = {s for t in triggers for s in t.sources}
    if locked.state not in editable:
        raise Refused(f"tahap ini berstatus "
                      f"'{definition.lifecycle.states[locked.state].name}': isian tidak dapat "
                      "diubah", **context)
    parts = parts_of(session, task.id)
    trial = dict(parts)
    written = []
    for item, part_unit in zip(saves, units):
        mine = parts.get(part_unit)
        if stage.parts:
            state = mine.state if mine else part_start_state(definition)
            if state not in editable:
                raise Refused(f"bagian unit {part_unit} berstatus "
                              f"'{definition.lifecycle.states[state].name}': isian tidak dapat "
                              "diubah sampai dikembalikan", unit=part_unit, **context)
        if item.expected_version is not None and \
                item.expected_version != (mine.version if mine else 0):
            raise Conflict(f"bagian ini sudah diubah orang lain (versi "
                           f"{mine.version if mine else 0}, Anda melihat versi "
                           f"{item.expected_version}); muat ulang lalu coba lagi", **context)
        new_data = _merged_part(mine, item.data)
        trial[part_unit] = Part(part_unit, mine.state if mine else None, new_data,
                                mine.version if mine else 0, None, item.actor.username)
        written.append((item, part_unit, mine, new_data))
    docs = documents(definition, task.stage, trial, rollups_of(session, task.id))
    ctx = context_for(session, definition, task)
    problems: list[Problem] = []
    blocking: list[Problem] = []
    for form in stage.outputs:
        found = check_document(definition, form, docs[form], ctx, phase=DRAFT)
        problems += found
        spec = spec_of(definition, form)
        blocking += [p for p in found if p.is_error and p.rule is None
                     and (not stage.parts or any(owned_by(spec, p, u) for u in units))]
    if blocking:
        raise InvalidForm(f"isian belum dapat disimpan ({len(blocking)} masalah)",
                          problems=[str(p) for p in blocking], **context)
    results = []
    for item, part_unit, mine, new_data in written:
        state = (mine.state if mine else (part_start_state(definition) if stage.parts else None))
        if not write_part(session, task.id, mine, unit=part_unit, data=new_data, state=state,
                          note=mine.note if mine else None, by=item.actor.username, now=now):
            raise Conflict("bagian ini baru saja disimpan orang lain; muat ulang lalu coba lagi",
                           **context)
        events.record(session, "save", actor=item.actor.username, at=now, task=task,
                      from_state=locked.state, to_state=locked.state,
                      payload={"unit": part_unit, "forms": sorted(item.data)})
        results.append(SaveResult(part_unit, (mine.version if mine else 0) + 1, problems))
    return results


def _copy(value: Any, depth: int = 3) -> Any:
    """The dicts `merge_into` writes into - the document, its sections, their rows - copied
    (the part read stays as it was); values below them are replaced, never changed, so they
    are shared."""
    if not depth or not isinstance(value, dict):
        return value
    if depth == 1:
        return dict(value)
    return {k: _copy(v, depth - 1) for k, v in value.items()}


def _merged_part(mine: Part | None, data: Mapping[str, Any]) -> dict:
    out = dict(mine.data) if mine else {}
    for form, patch in data.items():
        out[form] = merge_into(_copy(out.get(form) or {}), patch)
    return out


# -- checking a whole stage ------------------------------------------------------------------

def stage_documents(session: Session, definition: Any, task: Any) -> dict[str, dict]:
    """Form id -> the stage's document as it stands: roll-up under every part, and the
    fields the engine computes (publication list, children's states and classes)."""
    docs = documents(definition, task.stage, parts_of(session, task.id),
                     rollups_of(session, task.id))
    computed.fill(session, definition, task, docs, lambda h: pinned(session, h))
    return docs


def stage_problems(session: Session, definition: Any, task: Any, *, phase: str = SUBMIT,
                   unit: str | None = None, docs: Mapping[str, dict] | None = None,
                   previous: Mapping[str, Any] | None = None,
                   ctx: FormContext | None = None) -> list[Problem]:
    """Every problem of the stage's documents; with ``unit``, those of its own fields.
    ``ctx``: the stage's `context_for`, when the caller has it already."""
    docs = docs if docs is not None else stage_documents(session, definition, task)
    ctx = ctx if ctx is not None else context_for(session, definition, task, previous=None)
    problems: list[Problem] = []
    for form in definition.stage(task.stage).outputs:
        if form not in definition.forms:
            continue
        form_ctx = ctx if previous is None else FormContext(
            ctx.region, ctx.year, ctx.rows, ctx.stages, previous.get(form), ctx.row_kind)
        found = check_document(definition, form, docs.get(form, {}), form_ctx, phase=phase)
        if unit is not None:
            spec = spec_of(definition, form)
            found = [p for p in found if owned_by(spec, p, unit)]
        problems += found
    return problems
