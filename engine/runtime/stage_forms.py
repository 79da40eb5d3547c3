"""A stage's documents as people ask for them: by region, stage and year, as a user.

The forms package knows documents; this module finds the stage, checks who is asking,
and puts together what the CLI, the API and the web show: every part's state, the data,
the problems, how complete each unit's part is, and last year's approved values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy.orm import Session

from ..clock import utcnow
from ..errors import NotPermitted
from ..forms import SUBMIT
from ..definitions.forms.spec import spec_of
from ..forms import entry
from ..forms.entry import stage_documents, stage_problems
from ..forms.parts import parts_of
from ..forms.entry import SaveResult, last_year
from ..definitions.forms.spec import PER_REGION, ROWS
from ..people import Actor, actor, can_see
from .actions import _FIND
from ..store.library import pinned
from ..store.task_rows import find_task


def _task(session: Session, region: str, stage: str, year: int) -> Any:
    row = _FIND.first(session, region=region, stage=stage, year=year)
    if row is None:
        find_task(session, region, stage, year)  # raises the right NotFound
    return row


def save_on(session: Session, region: str, stage: str, year: int, username: str,
            data: Mapping[str, Any], *, unit: str | None = None,
            expected_version: int | None = None, now: dt.datetime | None = None) -> SaveResult:
    """Save a draft of ``data`` ({form: patch}) into ``username``'s part of a stage."""
    task = _task(session, region, stage, year)
    user = actor(session, username)
    if not can_see(user, region):
        raise NotPermitted(f"{username} tidak berhak melihat wilayah {region}", region=region)
    return entry.save(session, task=task, definition=pinned(session, task.definition_hash),
                      actor=user, data=data, unit=unit, expected_version=expected_version,
                      now=now or utcnow())


@dataclass
class FormsView:
    region: str
    stage: str
    year: int
    state: str
    parts: dict[str, dict]
    documents: dict[str, dict]
    problems: list[dict]
    completeness: dict[str, dict]  # unit ("" for the whole) -> {"filled", "required"}
    previous: dict[str, dict] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"region": self.region, "stage": self.stage, "year": self.year,
                "state": self.state, "parts": self.parts, "documents": self.documents,
                "problems": self.problems, "completeness": self.completeness,
                "previous": self.previous}


def completeness(definition: Any, stage_id: str, docs: Mapping[str, dict],
                 rows: Mapping[str, str]) -> dict[str, dict]:
    """Per owning unit: how many required values are filled, of how many."""
    out: dict[str, dict] = {}
    for form in definition.stage(stage_id).outputs:
        spec = spec_of(definition, form)
        doc = docs.get(form, {})
        for section in spec.sections:
            value = doc.get(section.name)
            if section.kind == PER_REGION:
                instances = [value.get(code) if isinstance(value, dict) else None for code in rows]
            elif section.kind == ROWS:
                instances = value if isinstance(value, list) else []
            else:
                instances = [value]
            present = [row for row in instances if isinstance(row, dict)]
            for f in section.fields:
                if not f.required or f.computed:
                    continue
                tally = out.setdefault(f.unit or "", {"filled": 0, "required": 0})
                tally["required"] += len(instances)
                tally["filled"] += sum(1 for row in present if _filled(row.get(f.name)))
    return out


def _filled(value: Any) -> bool:
    return value is not None and (type(value) is int or value not in ("", []))


def show_forms(session: Session, region: str, stage: str, year: int, *,
               user: Actor | None = None) -> FormsView:
    task = _task(session, region, stage, year)
    if user is not None and not can_see(user, region):
        raise NotPermitted(f"{user.username} tidak berhak melihat wilayah {region}", region=region)
    definition = pinned(session, task.definition_hash)
    docs = stage_documents(session, definition, task)
    previous = last_year(session, task, lambda h: pinned(session, h))
    problems = stage_problems(session, definition, task, phase=SUBMIT, docs=docs,
                              previous=previous)
    ctx = entry.context_for(session, definition, task)
    return FormsView(
        region=region, stage=stage, year=year, state=task.state,
        parts={u: p.as_dict() for u, p in parts_of(session, task.id).items()},
        documents=docs, problems=[p.as_dict() for p in problems],
        completeness=completeness(definition, stage, docs, ctx.rows), previous=previous)



