"""The forms a definition names: their shape, owners and rules, located in their own files.

A form schema (``forms/X.json``) and its rules file (``forms/X.rules.yaml``) are read
with positions like the definitions (JSON is YAML), so every finding points at the
offending node of the file it is in. What is checked (docs/form-format.md):

- the shape: sections of three kinds holding leaf fields, every one with a title;
- owners: ``x-unit`` names a unit of the level's roles; in a stage split into ``parts``
  every field has an owner among the parts, and a section of repeating rows one owner;
- the rules file: its structure, every section and field it names, every rule's JSON
  Logic (operators, and types against the schema, by python-jsonlogic), the roll-up's
  source stage, form and section in the child level, and the computed fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import jsonschema

from ..forms.logic import type_problems
from ..forms.rules import CYCLE
from ..forms.spec import FIELDS, PER_REGION, ROWS, build
from .. import source
from ..findings import Finding
from ..source import SourceDoc
from .corpus import Corpus, suggest
from .references import form_problem, forms_dir, rules_file, shown

COMPUTED_KINDS = ("published_stages", "child_state", "child_classification")
DEEPEST_TIER = 4  # desa/kelurahan: no Kemendagri region lies below one

RULES_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["form"],
    "properties": {
        "form": {"type": "string"},
        "rules": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["id", "check"],
            "properties": {"id": {"type": "string", "minLength": 1}, "section": {"type": "string"},
                           "check": {"type": ["object", "boolean"]},
                           "severity": {"enum": ["error", "warning"]},
                           "message": {"type": "string"}, "source": {"type": "string"},
                           "description": {"type": "string"}}}},
        "coverage": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["section", "served", "targeted"],
            "properties": {"section": {"type": "string"},
                           "served": {"type": ["string", "array"], "items": {"type": "string"}},
                           "targeted": {"type": ["string", "array"], "items": {"type": "string"}},
                           "severity": {"enum": ["error", "warning"]},
                           "source": {"type": "string"}}}},
        "unique": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "section", "fields"],
            "properties": {"id": {"type": "string", "minLength": 1}, "section": {"type": "string"},
                           "fields": {"type": "array", "minItems": 1,
                                      "items": {"type": "string"}},
                           "severity": {"enum": ["error", "warning"]},
                           "message": {"type": "string"}, "source": {"type": "string"},
                           "description": {"type": "string"}}}},
        "year_over_year": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["section"],
            "properties": {"section": {"type": "string"},
                           "fields": {"type": "array", "items": {"type": "string"}},
                           "factor": {"type": "number", "exclusiveMinimum": 1}}}},
        "rollup": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["section", "from", "sum"],
            "properties": {"section": {"type": "string"},
                           "from": {"type": "object", "additionalProperties": False,
                                    "required": ["stage", "form", "section"],
                                    "properties": {"stage": {"type": "string"},
                                                   "form": {"type": "string"},
                                                   "section": {"type": "string"}}},
                           "sum": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}},
        "computed": {"type": "array", "items": {
            "type": "object", "required": ["field", "kind"],
            "properties": {"field": {"type": "string"}, "kind": {"enum": list(COMPUTED_KINDS)}}}},
    },
}


def check(corpus: Corpus) -> Iterator[Finding]:
    checked: set[Path] = set()
    for doc in corpus:
        yield from _stage_parts(doc)
        yield from _lifecycle_parts(doc)
        folder = forms_dir(doc)
        for i, stage in Corpus.stages(doc):
            for form in stage.get("outputs", []):
                path = shown(folder / f"{form}.json")
                schema_doc = _read_schema(path)
                if schema_doc is None:
                    continue  # missing or broken: references.py reports it
                if path not in checked:
                    yield from _shape(schema_doc, doc)
                yield from _owners(schema_doc, doc, i, stage)
                if path not in checked:
                    rules_path = shown(rules_file(folder, form))
                    if rules_path.is_file():
                        yield from _rules(rules_path, form, schema_doc, doc, corpus)
                checked.add(path)


def _read_schema(path: Path) -> SourceDoc | None:
    if form_problem(path) is not None:  # said by checks/references.py
        return None
    doc, _ = source.read(path)
    return doc if doc is not None and isinstance(doc.data, dict) else None


def _units(doc: SourceDoc) -> set[str]:
    return {u for role in doc.data["roles"].values() for u in role.get("units", [])}


def _stage_parts(doc: SourceDoc) -> Iterator[Finding]:
    units = _units(doc)
    for i, stage in Corpus.stages(doc):
        for j, unit in enumerate(stage.get("parts", [])):
            if unit not in units:
                yield doc.error(("stages", i, "parts", j), "unknown-unit",
                                f"unit '{unit}' tidak ada di 'units' peran mana pun"
                                f"{suggest(unit, units)}")
        if stage.get("parts") and not doc.data["lifecycle"].get("parts"):
            yield doc.error(("stages", i, "parts"), "parts-without-lifecycle",
                            "tahap ini dibagi per unit, tetapi 'lifecycle' tidak punya 'parts' "
                            "(pemicu mana yang berlaku per bagian)")


def _lifecycle_parts(doc: SourceDoc) -> Iterator[Finding]:
    lc = doc.data["lifecycle"]
    for kind in ("all", "any"):
        for j, trigger in enumerate(lc.get("parts", {}).get(kind, [])):
            if trigger not in lc["triggers"]:
                yield doc.error(("lifecycle", "parts", kind, j), "unknown-trigger",
                                f"pemicu '{trigger}' tidak ada{suggest(trigger, lc['triggers'])}")


def _is_leaf(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("readOnly"):
        return True  # computed by the engine: any shape it fills
    if schema.get("type") == "object":
        return schema.get("x-kind") == "file"
    if schema.get("type") == "array":
        items = schema.get("items", {})
        return not (isinstance(items, dict) and items.get("type") == "object")
    return True


def _shape(form: SourceDoc, doc: SourceDoc) -> Iterator[Finding]:
    units = _units(doc)
    data = form.data
    if data.get("x-unit") and data["x-unit"] not in units:
        yield form.error(("x-unit",), "unknown-unit", _unit_message(data["x-unit"], units, doc))
    for name, section in (data.get("properties") or {}).items():
        base = ("properties", name)
        if not isinstance(section, dict):
            continue
        if section.get("type") == "array":
            row, row_path = section.get("items"), base + ("items",)
        elif "x-per" in section:
            row, row_path = section.get("additionalProperties"), base + ("additionalProperties",)
            if section["x-per"] not in ("desa", "child"):
                yield form.error(base + ("x-per",), "form-shape",
                                 "x-per harus 'desa' atau 'child'")
            elif doc.data["tier"] >= DEEPEST_TIER:
                yield form.error(base + ("x-per",), "no-child-regions", _no_rows_message(doc))
        else:
            row, row_path = section, base
        if not isinstance(row, dict) or row.get("type") != "object" or "properties" not in row:
            yield form.error(base, "form-shape",
                             f"bagian '{name}' harus berupa objek berisi 'properties' (isian "
                             "dokumen), x-per (satu baris per wilayah) atau daftar baris")
            continue
        if "title" not in section:
            yield form.error(base, "form-shape", f"bagian '{name}' tidak punya 'title'")
        for key in ("x-unit",):
            for holder, path in ((section, base), (row, row_path)):
                if holder.get(key) and holder[key] not in units:
                    yield form.error(path + (key,), "unknown-unit",
                                     _unit_message(holder[key], units, doc))
        for fname, field in row["properties"].items():
            fpath = row_path + ("properties", fname)
            if not _is_leaf(field):
                yield form.error(fpath, "form-shape",
                                 f"isian '{name}.{fname}' harus isian tunggal, bukan bagian bertingkat")
                continue
            if "title" not in field:
                yield form.error(fpath, "form-shape", f"isian '{name}.{fname}' tidak punya 'title'")
            if field.get("x-ref") in ("desa", "kelurahan", "child") \
                    and doc.data["tier"] >= DEEPEST_TIER:
                yield form.error(fpath + ("x-ref",), "no-child-regions", _no_rows_message(doc))
            if field.get("x-unit") and field["x-unit"] not in units:
                yield form.error(fpath + ("x-unit",), "unknown-unit",
                                 _unit_message(field["x-unit"], units, doc))


def _no_rows_message(doc: SourceDoc) -> str:
    return (f"tingkat '{doc.data['level']}' (tier {doc.data['tier']}: desa/kelurahan) tidak "
            "punya wilayah di bawahnya: baris per wilayah (x-per) dan isian yang menunjuk "
            "desa atau wilayah anak (x-ref) tidak punya pilihan; isian per desa ditulis di "
            "formulir tingkat kecamatan")


def _unit_message(unit: str, units: set[str], doc: SourceDoc) -> str:
    return (f"unit '{unit}' tidak ada pada peran tingkat {doc.data['level']}"
            f"{suggest(unit, units)}")


def _owners(form: SourceDoc, doc: SourceDoc, index: int, stage: dict) -> Iterator[Finding]:
    parts = stage.get("parts")
    if not parts:
        return
    spec = build(form.path.stem, form.data)
    for section in spec.sections:
        row_path = _row_path(section)
        for f in section.fields:
            if f.computed:
                continue
            if f.unit is None or f.unit not in parts:
                yield form.error(row_path + ("properties", f.name), "unowned-field",
                                 f"tahap '{stage['id']}' ({doc.name}) dibagi per unit "
                                 f"({', '.join(parts)}), tetapi isian '{section.name}.{f.name}' "
                                 + ("tidak punya x-unit" if f.unit is None
                                    else f"milik unit '{f.unit}' yang bukan bagiannya"))
        owners = {f.unit for f in section.fields if not f.computed}
        if section.kind == ROWS and len(owners) > 1:
            yield form.error(("properties", section.name), "unowned-field",
                             f"baris bagian '{section.name}' diisi satu unit saja, bukan "
                             f"{', '.join(sorted(map(str, owners)))}")


def _row_path(section: Any) -> tuple:
    base = ("properties", section.name)
    if section.kind == ROWS:
        return base + ("items",)
    if section.kind == PER_REGION:
        return base + ("additionalProperties",)
    return base


def _rules(path: Path, form_id: str, form: SourceDoc, doc: SourceDoc,
           corpus: Corpus) -> Iterator[Finding]:
    rules, problems = source.read(path)
    yield from problems
    if rules is None:
        return
    if not isinstance(rules.data, dict):
        yield rules.error((), "form-rules", "berkas aturan harus berupa pemetaan (mapping)")
        return
    for err in jsonschema.Draft202012Validator(RULES_SCHEMA).iter_errors(rules.data):
        path = tuple(err.absolute_path)
        where = "/".join(map(str, path)) or "(akar)"
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            allowed = err.schema.get("properties", {})
            yield rules.error(path + (extra[0],), "form-rules",
                              f"{where}: kunci '{extra[0]}' tidak dikenal"
                              f"{suggest(extra[0], allowed)}", key=True)
        else:
            yield rules.error(path, "form-rules", f"{where}: {err.message}")
        return
    if rules.data["form"] != form_id:
        yield rules.error(("form",), "form-rules",
                          f"'form' harus '{form_id}' (nama berkas), bukan '{rules.data['form']}'")
    spec = build(form_id, form.data)
    for j, rule in enumerate(rules.data.get("rules", [])):
        yield from _rule(rules, ("rules", j), rule, spec)
    for j, c in enumerate(rules.data.get("coverage", [])):
        section = spec.section(c["section"])
        if section is None:
            yield section_missing(rules, ("coverage", j, "section"), spec, c["section"])
            continue
        for key in ("served", "targeted"):
            names = [c[key]] if isinstance(c[key], str) else c[key]
            for k, name in enumerate(names):
                f = section.field(name)
                at = ("coverage", j, key) + ((k,) if not isinstance(c[key], str) else ())
                if f is None or not f.numeric:
                    yield rules.error(at, "unknown-field",
                                      f"'{name}' bukan isian angka di bagian '{section.name}'"
                                      f"{suggest(name, [x.name for x in section.fields])}")
    for j, u in enumerate(rules.data.get("unique", [])):
        section = spec.section(u["section"])
        if section is None:
            yield section_missing(rules, ("unique", j, "section"), spec, u["section"])
        elif section.kind not in (ROWS, PER_REGION):
            yield rules.error(("unique", j, "section"), "form-rules",
                              f"aturan '{u['id']}': bagian '{section.name}' tidak berbaris")
        else:
            for k, name in enumerate(u["fields"]):
                if section.field(name) is None:
                    yield rules.error(("unique", j, "fields", k), "unknown-field",
                                      f"isian '{name}' tidak ada di bagian '{section.name}'"
                                      f"{suggest(name, [x.name for x in section.fields])}")
    for j, y in enumerate(rules.data.get("year_over_year", [])):
        section = spec.section(y["section"])
        if section is None:
            yield section_missing(rules, ("year_over_year", j, "section"), spec, y["section"])
            continue
        for k, name in enumerate(y.get("fields", [])):
            if section.field(name) is None:
                yield rules.error(("year_over_year", j, "fields", k), "unknown-field",
                                  f"isian '{name}' tidak ada di bagian '{section.name}'"
                                  f"{suggest(name, [x.name for x in section.fields])}")
    for j, r in enumerate(rules.data.get("rollup", [])):
        yield from _rollup(rules, ("rollup", j), r, spec, doc, corpus)
    for j, c in enumerate(rules.data.get("computed", [])):
        found = spec.find(c["field"])
        if found is None:
            yield rules.error(("computed", j, "field"), "unknown-field",
                              f"isian '{c['field']}' (bagian.isian) tidak ada di formulir")
        elif not found[1].computed:
            yield rules.error(("computed", j, "field"), "form-rules",
                              f"isian '{c['field']}' dihitung sistem: beri 'readOnly: true' "
                              "di skemanya")


def section_missing(rules: SourceDoc, at: tuple, spec: Any, name: str) -> Finding:
    return rules.error(at, "unknown-section",
                       f"bagian '{name}' tidak ada di formulir"
                       f"{suggest(name, [s.name for s in spec.sections])}")


def _row_data_schema(spec: Any, section_name: str | None) -> dict:
    cycle = {"type": "object", "properties": {"tahun": {"type": "integer"}}}
    if section_name is None:
        props = {s.name: {"type": "object",
                          "properties": {f.name: dict(_plain(f.schema)) for f in s.fields}}
                 for s in spec.sections if s.kind == FIELDS}
    else:
        section = spec.section(section_name)
        props = {f.name: dict(_plain(f.schema)) for f in section.fields}
    return {"type": "object", "properties": {**props, CYCLE: cycle}}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _rule(rules: SourceDoc, at: tuple, rule: dict, spec: Any) -> Iterator[Finding]:
    name = rule.get("section")
    if name is not None and spec.section(name) is None:
        yield section_missing(rules, at + ("section",), spec, name)
        return
    for problem in type_problems(rule["check"], _row_data_schema(spec, name)):
        code = "unknown-field" if problem.startswith("isian '") else "bad-rule"
        yield rules.error(at + ("check",), code, f"aturan '{rule['id']}': {problem}"
                          + (f" di bagian '{name}'" if code == "unknown-field" and name else ""))


def _rollup(rules: SourceDoc, at: tuple, r: dict, spec: Any, doc: SourceDoc,
            corpus: Corpus) -> Iterator[Finding]:
    section = spec.section(r["section"])
    if section is None:
        yield section_missing(rules, at + ("section",), spec, r["section"])
        return
    if section.kind != PER_REGION or section.per != "child":
        yield rules.error(at + ("section",), "form-rules",
                          f"roll-up mengisi bagian x-per: child; '{section.name}' bukan")
        return
    child = corpus.child(doc)
    if child is None:
        yield rules.error(at + ("from",), "unknown-level",
                          f"tingkat '{doc.data['level']}' tidak punya tingkat anak untuk roll-up")
        return
    stages = {s["id"]: s for s in child.data["stages"]}
    source_stage = stages.get(r["from"]["stage"])
    if source_stage is None:
        yield rules.error(at + ("from", "stage"), "unknown-stage",
                          f"tingkat '{child.data['level']}' tidak punya tahap "
                          f"'{r['from']['stage']}'{suggest(r['from']['stage'], stages)}")
        return
    if r["from"]["form"] not in source_stage.get("outputs", []):
        yield rules.error(at + ("from", "form"), "unknown-form",
                          f"tahap '{source_stage['id']}' tingkat '{child.data['level']}' tidak "
                          f"mengeluarkan formulir '{r['from']['form']}'")
        return
    source_doc = _read_schema(forms_dir(child) / f"{r['from']['form']}.json")
    if source_doc is None:
        return
    source_section = build(r["from"]["form"], source_doc.data).section(r["from"]["section"])
    if source_section is None:
        yield rules.error(at + ("from", "section"), "unknown-section",
                          f"formulir '{r['from']['form']}' tidak punya bagian "
                          f"'{r['from']['section']}'")
        return
    for k, name in enumerate(r["sum"]):
        mine, theirs = section.field(name), source_section.field(name)
        if mine is None or theirs is None:
            where = f"'{section.name}'" if mine is None else f"'{r['from']['form']}.{source_section.name}'"
            yield rules.error(at + ("sum", k), "unknown-field",
                              f"isian '{name}' tidak ada di bagian {where}")
        elif not (theirs.numeric or theirs.kind == "yes-no"):
            yield rules.error(at + ("sum", k), "form-rules",
                              f"isian '{name}' bukan angka atau ya/tidak: tidak dapat dijumlahkan")
