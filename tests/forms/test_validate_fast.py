"""The schema's fast path (fastjsonschema) never lets through what jsonschema refuses.

`check_document` asks the compiled validator first and walks jsonschema only for a document
it refuses; so a document the fast path accepts must be one jsonschema accepts, on every
shipped form, for drafts and submissions alike. Every field of every form of each level is
broken in turn with values of the wrong kind, out of bounds, unknown choices, impossible
dates and stray keys; each broken document must be refused by the fast path whenever
jsonschema refuses it, and the problems reported are jsonschema's, word for word.
"""

from __future__ import annotations

import copy
import random

import pytest

from engine.definitions import load
from engine.forms import check_document
from engine.definitions.forms.spec import spec_of
from engine.forms import validate
from engine.forms.sample import sample_document
from engine.definitions.forms.spec import PER_REGION, ROWS
from engine.forms.validate import DRAFT, SUBMIT, FormContext

DEFINITIONS = load(None)
LEVELS = ("kecamatan", "kabkota", "provinsi")
CHILDREN = {"kecamatan": ("19.01.04", {"19.01.04.2001": "Petaling", "19.01.04.1002": "Kemuja"}),
            "kabkota": ("19.01", {"19.01.01": "Sungailiat", "19.01.04": "Mendo Barat"}),
            "provinsi": ("19", {"19.01": "Bangka", "19.71": "Pangkalpinang"})}
BAD = ["seribu", -1, 1.5, 2.0, True, 10**16, "2026-02-30", "05/01/2026", "https://x.id/a b",
       "x" * 5000, [], ["a", "a"], {}, None, 0]


def _ctx(level: str) -> FormContext:
    region, rows = CHILDREN[level]
    definition = DEFINITIONS[level]
    return FormContext(region, 2026, rows, tuple(s.id for s in definition.stages))


def _broken(definition, form: str, doc: dict):
    """Copies of ``doc``, each with one place broken."""
    spec = spec_of(definition, form)
    for section in spec.sections:
        value = doc.get(section.name)
        if section.kind == PER_REGION and isinstance(value, dict) and value:
            key = next(iter(value))
        elif section.kind == ROWS and isinstance(value, list) and value:
            key = 0
        else:
            key = None
        for f in section.fields:
            for bad in BAD:
                out = copy.deepcopy(doc)
                target = out.setdefault(section.name, {}) if key is None else out[section.name][key]
                if not isinstance(target, dict):
                    continue
                target[f.name] = bad
                yield out
        for stray in ({"isian_asing": 1}, "bukan objek", [1, 2]):
            out = copy.deepcopy(doc)
            if isinstance(stray, dict) and key is not None:
                out[section.name][key].update(stray)
            elif isinstance(stray, dict):
                out.setdefault(section.name, {}).update(stray)
            else:
                out[section.name] = stray
            yield out
    yield {**doc, "bagian_asing": {}}
    if any(s.kind == PER_REGION for s in spec.sections):
        section = next(s for s in spec.sections if s.kind == PER_REGION)
        out = copy.deepcopy(doc)
        out.setdefault(section.name, {})["bukan-kode"] = {}
        yield out


def _forms():
    return [(level, form) for level in LEVELS for form in DEFINITIONS[level].forms]


def test_every_shipped_form_takes_the_fast_path():
    slow = [(level, form, phase) for level, form in _forms() for phase in (DRAFT, SUBMIT)
            if validate._fast_validator(DEFINITIONS[level], form, phase) is None]
    assert slow == []


@pytest.mark.parametrize("level,form", _forms())
def test_the_fast_path_refuses_whatever_jsonschema_refuses(level, form):
    definition, ctx = DEFINITIONS[level], _ctx(level)
    doc = sample_document(definition, form, ctx, rng=random.Random(5))
    checked = refused = 0
    for phase in (DRAFT, SUBMIT):
        fast = validate._fast_validator(definition, form, phase)
        slow = validate._validator(definition, form, phase)
        for broken in _broken(definition, form, doc):
            checked += 1
            if slow.is_valid(broken):
                continue
            refused += 1
            with pytest.raises(Exception) as caught:
                fast(broken)
            assert type(caught.value).__name__ == "JsonSchemaValueException", broken
    assert checked > 20 and refused > checked // 4


def test_problems_are_jsonschemas_word_for_word(monkeypatch):
    definition, ctx = DEFINITIONS["kecamatan"], _ctx("kecamatan")
    form = "kec_analisis_situasi"
    doc = sample_document(definition, form, ctx, rng=random.Random(5))
    docs = [doc, *list(_broken(definition, form, doc))[::7]]
    with_fast = [check_document(definition, form, d, ctx, phase=DRAFT) for d in docs]
    monkeypatch.setattr(validate, "_fast_validator", lambda *args: None)
    without = [check_document(definition, form, d, ctx, phase=DRAFT) for d in docs]
    assert with_fast == without
    assert sum(1 for found in without if any(p.is_error for p in found)) > len(docs) // 3


def test_a_schema_with_other_keywords_is_left_to_jsonschema():
    formats: set[str] = set()
    assert validate._fast_keywords({"type": "object", "properties": {
        "tanggal": {"type": "string", "format": "date", "x-kind": "date"}}}, formats)
    assert formats == {"date"}
    assert not validate._fast_keywords({"type": "array", "prefixItems": [{"type": "integer"}]},
                                       set())
    assert not validate._fast_keywords({"properties": {"a": {"$ref": "#/$defs/a"}}}, set())
