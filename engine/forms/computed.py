"""Fields the engine fills when a document is read (``computed:`` in a rules file).

- ``published_stages``: the stages of the case in one of ``states`` (approved; at provinsi
  the book says "terinput": submitted or later), each with the day it got there - the
  publication rule, "setiap tahapan … jika sudah terinput dan disetujui … adalah bagian
  dari publikasi". A stage reopened after approval drops out until approved again.
- ``child_state``: per child region, the state of its ``stage``, by the state's name.
- ``child_classification``: per child region, the class its penilaian was approved with
  (the scoring kept in the approval's event).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import Event, Task
from ..definitions.forms.rules import rules_of
from ..definitions.forms.spec import PER_REGION, spec_of


def fill(session: Session, definition: Any, task: Any, docs: dict[str, dict],
         definition_of: Any) -> None:
    """Write every computed field of the stage's documents into ``docs`` (in place)."""
    for form, doc in docs.items():
        if form not in definition.forms:
            continue
        for c in rules_of(definition, form).computed:
            found = spec_of(definition, form).find(c.field)
            if found is None:
                continue
            section, field = found
            if c.kind == "published_stages":
                doc.setdefault(section.name, {})[field.name] = _published(
                    session, definition, task, c.options.get("states") or
                    [definition.lifecycle.done])
            elif section.kind == PER_REGION and c.kind in ("child_state", "child_classification"):
                values = (_child_states(session, task, c.options.get("stage", task.stage),
                                        definition_of)
                          if c.kind == "child_state" else _child_classes(session, task))
                rows = doc.setdefault(section.name, {})
                for code, value in values.items():
                    if value is not None:
                        rows.setdefault(code, {})[field.name] = _choice(field, value)


def _choice(field: Any, value: str) -> str:
    """A name (a band, a state's name) as the field's own value: the enum value whose label
    or id it is, else the name itself."""
    for choice, label in field.choices():
        if value in (choice, label) or value.lower() in (choice.lower(), label.lower()):
            return choice
    return value


def _published(session: Session, definition: Any, task: Any, states: list[str]) -> list[dict]:
    rows = session.execute(select(Task.stage, Task.state, Task.done_at, Task.updated_at)
                           .where(Task.case_id == task.case_id).order_by(Task.id)).all()
    order = {s.id: i for i, s in enumerate(definition.stages)}
    out = [{"tahapan": r.stage, "tanggal": (r.done_at or r.updated_at).date().isoformat()}
           for r in rows if r.state in states]
    return sorted(out, key=lambda item: order.get(item["tahapan"], 99))


def _child_states(session: Session, task: Any, stage: str, definition_of: Any) -> dict[str, str]:
    rows = session.execute(select(Task.region_code, Task.state, Task.definition_hash)
                           .where(Task.parent_code == task.region_code, Task.year == task.year,
                                  Task.stage == stage)).all()
    return {r.region_code: definition_of(r.definition_hash).lifecycle.states[r.state].name
            for r in rows}


def child_scores(session: Session, parent_code: str, year: int) -> dict[str, dict]:
    """Child region -> the scoring its penilaian was last approved with."""
    rows = session.execute(select(Event.region_code, Event.payload)
                           .join(Task, Task.id == Event.task_id)
                           .where(Task.parent_code == parent_code, Task.year == year,
                                  Event.case_id == Task.case_id)
                           .order_by(Event.id)).all()
    out: dict[str, dict] = {}
    for code, payload in rows:
        if isinstance(payload, dict) and isinstance(payload.get("scoring"), dict):
            out[code] = payload["scoring"]
    return out


def _child_classes(session: Session, task: Any) -> dict[str, str | None]:
    return {code: s.get("band") for code, s in child_scores(session, task.region_code,
                                                             task.year).items()}
