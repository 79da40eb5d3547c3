"""Walking juknis stages with plausible data: every unit saves and submits its part, every
unit's verifikator verifies it, the approver approves (importable by any forms test)."""

from __future__ import annotations

import random

from engine.definitions.forms.spec import spec_of
from engine.forms.entry import context_for
from engine.forms.sample import sample_document
from engine.people import add_user
from engine.runtime import act_on, find_task, save_on
from engine.store.library import pinned


def person(role: str, region: str, unit: str | None = None) -> str:
    return f"{role}-{unit.lower().split()[0]}@{region}" if unit else f"{role}@{region}"


def add_people(session, definitions, region: str) -> None:
    """An operator and a verifikator per unit (one without units), an approver."""
    definition = definitions.by_tier(region.count(".") + 1)
    for role_id, role in definition.roles.items():
        for unit in role.units or (None,):
            add_user(session, definitions, person(role_id, region, unit), role=role_id,
                     region=region, unit=unit)
        if role.units:
            add_user(session, definitions, person(role_id, region), role=role_id, region=region)


def owned(definition, form: str, whole: dict, unit: str) -> dict:
    """The fields of a document that ``unit`` owns."""
    out: dict = {}
    for section in spec_of(definition, form).sections:
        names = {f.name for f in section.fields if f.unit == unit and not f.computed}
        value = whole.get(section.name)
        if not names or value is None:
            continue
        if section.kind == "per_region":
            out[section.name] = {code: {k: v for k, v in row.items() if k in names}
                                 for code, row in value.items()}
        elif section.kind == "rows":
            out[section.name] = value
        else:
            out[section.name] = {k: v for k, v in value.items() if k in names}
    return out


def fill_and_approve(db, region: str, stage: str, year: int, *, seed: int = 1, now=None,
                     edit=None) -> dict:
    """Save a sample document (``edit`` may change it first) part by part, submit, verify,
    approve. Returns the documents that were saved."""
    with db.session() as s:
        task = find_task(s, region, stage, year)
        definition = pinned(s, task.definition_hash)
        ctx = context_for(s, definition, task)
        docs = {form: sample_document(definition, form, ctx, rng=random.Random(seed))
                for form in definition.stage(stage).outputs}
    if edit:
        edit(docs)
    parts = definition.stage(stage).parts or (None,)
    for unit in parts:
        data = {form: owned(definition, form, doc, unit) if unit else
                {k: v for k, v in doc.items() if not _all_computed(definition, form, k)}
                for form, doc in docs.items()}
        data = {f: d for f, d in data.items() if d}
        with db.session() as s:
            if data:
                save_on(s, region, stage, year, person("operator", region, unit), data, now=now)
            act_on(s, region, stage, year, "submit", person("operator", region, unit), now=now)
    for unit in parts:
        with db.session() as s:
            act_on(s, region, stage, year, "verify", person("verifikator", region, unit), now=now)
    with db.session() as s:
        act_on(s, region, stage, year, "approve", person("approver", region), now=now)
    return docs


def _all_computed(definition, form: str, section_name: str) -> bool:
    section = spec_of(definition, form).section(section_name)
    return section is not None and all(f.computed for f in section.fields)
