"""Check a document as a careful verifikator would, and say what is wrong in Bahasa Indonesia.

Four passes, each on the whole document:

1. the JSON Schema - for a draft without ``required``, ``minItems`` and ``minProperties``
   (a draft may be incomplete, never of the wrong type). A document is first tried on
   the schema compiled to Python by fastjsonschema (a tenth of jsonschema's time on a
   kecamatan of a hundred desa); only one it refuses is walked by jsonschema, which names
   every error (the messages come from jsonschema's errors, so they are the same either
   way). The fast path is used only for schemas of the keywords both read alike
   (`_FAST_KEYWORDS`), with formats checked by jsonschema's own format checker: it may
   refuse what jsonschema accepts (then jsonschema has the last word), never the reverse;
   tests/forms/test_validate_fast.py holds both to that on broken documents;
2. the regions: a per-desa (or per-child) section has rows only for the desa of this
   kecamatan (or the child regions), and at submission one for each; region and stage
   references name real ones;
3. the rules of the form's rules file, row by row, each only once every field it reads
   is filled; then its ``unique`` rules, across the rows of a section;
4. year over year: a value far from the same desa's approved value of last year.

Every `Problem` names where it is (section, row, fields), so that a part can be judged on
the problems of its own fields, and the web page can put each next to its cell.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping


from ..regions import is_within
from ..definitions.forms.logic import NOT_JUDGED
from ..definitions.forms.rules import CYCLE, ERROR, WARNING, Rule, RuleSet, rules_of
from ..definitions.forms.spec import PER_REGION, ROWS, Field, FormSpec, Section, plain, spec_of

DRAFT, SUBMIT = "draft", "submit"


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" | "warning"
    form: str
    message: str  # the whole sentence: where, what, the values
    section: str | None = None
    row: str | int | None = None  # region code, or the 1-based row number
    fields: tuple[str, ...] = ()
    rule: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_dict(self) -> dict:
        return {"severity": self.severity, "form": self.form, "section": self.section,
                "row": self.row, "fields": list(self.fields), "rule": self.rule,
                "message": self.message}

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FormContext:
    """What a document is checked against besides itself."""

    region: str
    year: int
    rows: Mapping[str, str]  # the regions a per-region section has rows for: code -> name
    stages: tuple[str, ...] = ()  # stage ids of the case's level
    previous: Mapping[str, Any] | None = None  # last year's approved document of this form
    row_kind: str = "Wilayah"  # what a row's region is called ("Desa", "Kecamatan", ...)


def region_label(code: str, name: str, kind: str) -> str:
    """"Desa Merawang (19.01.01.2001)"; desa and kelurahan told apart by their code."""
    if kind == "desa":
        kind = "Kelurahan" if code.rsplit(".", 1)[-1].startswith("1") else "Desa"
    return f"{kind} {name.title() if name.isupper() else name} ({code})"


# -- 1. the schema ----------------------------------------------------------------------------

_DRAFT_DROPS = ("required", "minItems", "minProperties")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def _drafted(schema: Any) -> Any:
    """``schema`` without what only a complete document must have. An ``if`` is kept whole:
    it is a condition, not a demand ("if skala is given and is desa"), and without its
    ``required`` a row that does not say would meet it."""
    if isinstance(schema, list):
        return [_drafted(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _DRAFT_DROPS:
            continue
        if key == "if":
            out[key] = value
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _drafted(s) for name, s in value.items()}
        else:
            out[key] = _drafted(value)
    return out


def draft_schema(schema: Any) -> Any:
    """A form's schema as a draft must satisfy it (what only a complete document must have
    dropped); the API's OpenAPI document describes drafts with it."""
    return _drafted(copy.deepcopy(plain(schema)))


@functools.lru_cache(maxsize=256)
def _validator(definition: Any, form: str, phase: str) -> jsonschema.Draft202012Validator:
    import jsonschema  # on first validation: showing a stage does not pay for it

    schema = plain(definition.forms[form])
    if phase == DRAFT:
        schema = draft_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


# Keywords that mean the same to fastjsonschema (draft 2019 generator) as to jsonschema's
# Draft 2020-12, plus annotations. A schema with any other keyword (prefixItems,
# unevaluatedProperties, $ref, dependentRequired, ...) is checked by jsonschema alone.
_FAST_KEYWORDS = frozenset({
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minLength", "maxLength", "pattern", "format", "items", "minItems",
    "maxItems", "uniqueItems", "properties", "patternProperties", "additionalProperties",
    "propertyNames", "required", "minProperties", "maxProperties", "allOf", "anyOf", "oneOf",
    "not", "if", "then", "else",
    "$schema", "$id", "$comment", "title", "description", "readOnly", "writeOnly", "default",
    "examples", "deprecated"})


def _fast_keywords(schema: Any, formats: set[str]) -> bool:
    """Does ``schema`` use only `_FAST_KEYWORDS` (and "x-" annotations)? Collects the
    formats it names into ``formats``."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        if key.startswith("x-"):
            continue
        if key not in _FAST_KEYWORDS:
            return False
        if key == "format":
            formats.add(value)
        elif key in ("properties", "patternProperties"):
            if not all(_fast_keywords(s, formats) for s in value.values()):
                return False
        elif key in ("allOf", "anyOf", "oneOf"):
            if not all(_fast_keywords(s, formats) for s in value):
                return False
        elif key in ("items", "additionalProperties", "propertyNames", "not", "if", "then",
                     "else"):
            if not _fast_keywords(value, formats):
                return False
    return True


def _conforms(name: str) -> Any:
    import jsonschema

    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return lambda value: checker.conforms(value, name)


@functools.lru_cache(maxsize=256)
def _fast_validator(definition: Any, form: str, phase: str) -> Any:
    """The form's schema compiled by fastjsonschema (None when it holds keywords the fast
    path does not take): raises on the first error, returns quietly on a valid document."""
    import fastjsonschema

    schema = _validator(definition, form, phase).schema
    formats: set[str] = set()
    if not _fast_keywords(schema, formats):
        return None
    try:
        return fastjsonschema.compile(schema, formats={f: _conforms(f) for f in formats},
                                      use_default=False)
    except Exception:  # noqa: BLE001 - a schema its code generator cannot take: jsonschema alone
        return None


_KINDS = {"integer": "bilangan bulat", "number": "angka", "string": "teks", "boolean": "ya/tidak",
          "object": "isian bertingkat", "array": "daftar", "null": "kosong"}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)[:60]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        whole, _, fraction = f"{value:,.2f}".rstrip("0").rstrip(".").partition(".")
        return whole.replace(",", ".") + ("," + fraction if fraction else "")
    return f"'{str(value)[:60]}'"


def _reason(err: jsonschema.ValidationError) -> str:
    v, value = err.validator, err.validator_value
    if v == "type":
        wanted = " atau ".join(_KINDS.get(t, t) for t in ([value] if isinstance(value, str) else value))
        return f"harus {wanted}, bukan {_shown(err.instance)}"
    if v == "minimum":
        return f"tidak boleh kurang dari {_shown(value)} (terisi {_shown(err.instance)})"
    if v == "maximum":
        return f"tidak boleh lebih dari {_shown(value)} (terisi {_shown(err.instance)})"
    if v == "exclusiveMinimum":
        return f"harus lebih dari {_shown(value)} (terisi {_shown(err.instance)})"
    if v == "exclusiveMaximum":
        return f"harus kurang dari {_shown(value)} (terisi {_shown(err.instance)})"
    if v == "maxLength":
        return f"terlalu panjang: paling banyak {value} karakter"
    if v == "minLength":
        return "belum diisi" if not err.instance else f"paling sedikit {value} karakter"
    if v == "enum":
        return f"pilihan {_shown(err.instance)} tidak dikenal"
    if v == "const":
        return f"harus {_shown(value)}"
    if v == "format":
        return {"date": f"bukan tanggal yang sah (TTTT-BB-HH): {_shown(err.instance)}",
                "uri": f"bukan alamat web yang sah: {_shown(err.instance)}"}.get(
            value, f"tidak sesuai format {value}")
    if v == "pattern":
        return f"isinya tidak sesuai bentuk yang diminta: {_shown(err.instance)}"
    if v == "minItems":
        return "belum ada baris" if value == 1 else f"paling sedikit {value} baris"
    if v == "maxItems":
        return f"paling banyak {value} baris"
    if v == "uniqueItems":
        return "ada pilihan yang sama lebih dari sekali"
    if v == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return f"isian tidak dikenal: {', '.join(map(str, extra))}"
    if v == "propertyNames":
        return "kode tidak sah"
    return err.message


class _Where:
    """Names places of a document the way people say them."""

    def __init__(self, spec: FormSpec, ctx: FormContext):
        self.spec, self.ctx = spec, ctx

    def row(self, section: Section, key: Any) -> str:
        if section.kind == PER_REGION:
            name = self.ctx.rows.get(str(key))
            return (region_label(str(key), name, self.ctx.row_kind) if name
                    else f"kode wilayah {key}")
        if section.kind == ROWS and isinstance(key, int):
            return f"{section.title} baris {key + 1}"
        return section.title

    def field(self, section: Section | None, name: str) -> str:
        f = section.field(name) if section else None
        return f"«{f.title}»" if f else f"«{name}»"

    def problem(self, severity: str, path: list, reason: str, rule: str | None = None) -> Problem:
        """A problem at a JSON path of the document."""
        section = self.spec.section(str(path[0])) if path else None
        if section is None:
            return Problem(severity, self.spec.id, f"{self.spec.title}: {reason}", rule=rule)
        row: Any = None
        rest = path[1:]
        if section.kind in (PER_REGION, ROWS) and rest:
            row, rest = rest[0], rest[1:]
        parts = [self.row(section, row) if row is not None else section.title]
        names = (str(rest[0]),) if rest else ()
        if names:
            parts.append(self.field(section, names[0]))
        shown_row = row + 1 if isinstance(row, int) else row
        return Problem(severity, self.spec.id, f"{': '.join(parts)}: {reason}", section.name,
                       shown_row, names, rule)


def _schema_problems(definition: Any, form: str, doc: Any, phase: str,
                     where: _Where) -> Iterator[Problem]:
    fast = _fast_validator(definition, form, phase)
    if fast is not None:
        from fastjsonschema import JsonSchemaValueException

        try:
            fast(doc)
            return  # valid: jsonschema would find nothing either
        except JsonSchemaValueException:
            pass  # jsonschema names every error (or finds none where the fast path is stricter)
    said: set[tuple] = set()
    for err in _validator(definition, form, phase).iter_errors(doc):
        path = list(err.absolute_path)
        if err.validator == "required":
            # jsonschema gives one error per missing name, each carrying the whole list.
            missing = [n for n in err.validator_value
                       if isinstance(err.instance, dict) and n not in err.instance]
            for name in missing:
                key = (*map(str, path), name)
                if key not in said:
                    said.add(key)
                    yield where.problem(ERROR, path + [name], "belum diisi")
            continue
        yield where.problem(ERROR, path, _reason(err))


# -- 2. regions and references ----------------------------------------------------------------

def _region_problems(spec: FormSpec, doc: Mapping[str, Any], ctx: FormContext, phase: str,
                     where: _Where) -> Iterator[Problem]:
    for section in spec.sections:
        value = doc.get(section.name)
        if section.kind == PER_REGION and isinstance(value, dict):
            for code in value:
                if code not in ctx.rows:
                    yield where.problem(ERROR, [section.name],
                                        f"kode {code} bukan {ctx.row_kind.lower()} di wilayah "
                                        f"{ctx.region}")
            entered = any(not f.computed for f in section.fields)
            if phase == SUBMIT and entered and any(f.required for f in section.fields):
                for code in ctx.rows:
                    if code not in value:
                        yield where.problem(ERROR, [section.name, code], "datanya belum diisi")
        elif section.kind == PER_REGION and value is None and phase == SUBMIT \
                and any(f.required for f in section.fields):
            yield where.problem(ERROR, [section.name], "belum diisi")
        refs = [f for f in section.fields if f.ref]
        for key, row in _rows(section, value) if refs else ():
            for f in refs:
                if row.get(f.name) is not None:
                    reason = _bad_ref(f, row[f.name], ctx)
                    if reason:
                        yield where.problem(ERROR, [section.name, key, f.name], reason)


def _rows(section: Section, value: Any) -> Iterator[tuple[Any, dict]]:
    """(key, row) of a section's value: region code, row index, or None for a fields section."""
    if section.kind == PER_REGION and isinstance(value, dict):
        yield from ((k, r) for k, r in value.items() if isinstance(r, dict))
    elif section.kind == ROWS and isinstance(value, list):
        yield from ((i, r) for i, r in enumerate(value) if isinstance(r, dict))
    elif section.kind not in (PER_REGION, ROWS) and isinstance(value, dict):
        yield None, value


def _bad_ref(f: Field, value: Any, ctx: FormContext) -> str | None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, str):
            continue
        if f.ref in ("desa", "child") and v not in ctx.rows:
            return f"{v} bukan {ctx.row_kind.lower()} di wilayah {ctx.region}"
        if f.ref == "kelurahan" and (v not in ctx.rows or not v.rsplit(".", 1)[-1].startswith("1")):
            return f"{v} bukan kelurahan di wilayah {ctx.region}"
        if f.ref == "wilayah" and not is_within(v, ctx.region):
            return f"{v} bukan wilayah di dalam {ctx.region}"
        if f.ref == "stage" and ctx.stages and v not in ctx.stages:
            return f"tahap '{v}' tidak ada"
    return None


# -- 3. rules ---------------------------------------------------------------------------------

_WORDS = {"<=": "melebihi", "<": "tidak kurang dari", ">=": "kurang dari", ">": "tidak lebih dari",
          "==": "tidak sama dengan", "!=": "sama dengan"}


def _term(node: Any, labels: Mapping[str, str], values: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(words, value) of a var or a sum of vars; None for anything else."""
    if isinstance(node, Mapping) and "var" in node:
        name = node["var"] if isinstance(node["var"], str) else node["var"][0]
        return labels.get(name, name), values.get(name)
    if isinstance(node, Mapping) and "+" in node:
        terms = [_term(n, labels, values) for n in node["+"]]
        if None in terms or any(not isinstance(v, (int, float)) for _, v in terms):
            return None
        return " + ".join(w for w, _ in terms), sum(v for _, v in terms)
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return _shown(node), node
    return None


def explain(rule: Rule, labels: Mapping[str, str], values: Mapping[str, Any]) -> str:
    """What a broken rule means, with the values: its own message, or one written from a
    comparison of fields and sums."""
    if rule.message:
        text = rule.message
        for name in rule.fields:
            text = text.replace("{" + name + "}", _shown(values.get(name)))
        return text
    check = rule.check
    if isinstance(check, Mapping) and len(check) == 1:
        (symbol, args), = check.items()
        if symbol in _WORDS and isinstance(args, (list, tuple)) and len(args) == 2:
            left, right = _term(args[0], labels, values), _term(args[1], labels, values)
            if left and right:
                return f"{left[0]} ({_shown(left[1])}) {_WORDS[symbol]} {right[0]} ({_shown(right[1])})"
    shown = ", ".join(f"{labels.get(n, n)} = {_shown(values.get(n))}" for n in sorted(rule.fields))
    return f"aturan {rule.id} tidak terpenuhi ({shown})"


def _rule_problems(spec: FormSpec, rules: RuleSet, doc: Mapping[str, Any], ctx: FormContext,
                   where: _Where) -> Iterator[Problem]:
    cycle = {"tahun": ctx.year}
    doc_labels = {f"{s.name}.{f.name}": f"«{f.title}»" for s, f in spec.fields()}
    row_data: dict[str, list] = {}
    for rule in rules.rules:
        if rule.section is None:
            data = {**doc, CYCLE: cycle}
            try:
                ok = rule.fn(data)
            except NOT_JUDGED:
                continue
            if not ok:
                values = {n: _get(doc, n) for n in rule.fields}
                first = sorted(rule.fields)[0].split(".")[0] if rule.fields else None
                fields = tuple(sorted(n.split(".", 1)[1] for n in rule.fields if "." in n))
                text = explain(rule, doc_labels, values)
                section = spec.section(first) if first else None
                head = section.title if section else spec.title
                yield Problem(rule.severity, spec.id, f"{head}: {text}", first, None, fields,
                              rule.id)
            continue
        section = spec.section(rule.section)
        if section is None:
            continue
        labels = {f.name: f"«{f.title}»" for f in section.fields}
        rows = row_data.get(section.name)
        if rows is None:  # each row's data built once for all the section's rules
            rows = row_data[section.name] = [(key, row, {**row, CYCLE: cycle})
                                              for key, row in _rows(section, doc.get(section.name))]
        for key, row, data in rows:
            try:
                ok = rule.fn(data)
            except NOT_JUDGED:
                continue
            if not ok:
                text = explain(rule, labels, row)
                shown_row = key + 1 if isinstance(key, int) else key
                yield Problem(rule.severity, spec.id, f"{where.row(section, key)}: {text}",
                              section.name, shown_row, tuple(sorted(rule.fields)), rule.id)


def _alike(value: Any) -> Any:
    """What two values of a `Unique` rule are compared as: texts without case and extra
    spaces, lists as their items, numbers and the rest as they are."""
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, list):
        return tuple(_alike(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value


def _unique_problems(spec: FormSpec, rules: RuleSet, doc: Mapping[str, Any],
                     where: _Where) -> Iterator[Problem]:
    """A row alike an earlier one in every field of a `Unique` rule: a problem on the later
    row, naming the earlier one and the values."""
    for unique in rules.unique:
        section = spec.section(unique.section)
        if section is None:
            continue
        first: dict[tuple, Any] = {}
        for key, row in _rows(section, doc.get(section.name)):
            values = [row.get(name) for name in unique.fields]
            if any(v is None or v == "" or v == [] for v in values):
                continue
            seen = first.setdefault(tuple(_alike(v) for v in values), key)
            if seen == key:
                continue
            if unique.message:
                text = unique.message
                for name in unique.fields:
                    text = text.replace("{" + name + "}", _shown(row.get(name)))
            else:
                shown = ", ".join(f"{where.field(section, name)} {_as_typed(section, name, v)}"
                                  for name, v in zip(unique.fields, values))
                earlier = (f"baris {seen + 1}" if isinstance(seen, int)
                           else where.row(section, seen))
                text = f"sama dengan {earlier} ({shown})"
            shown_row = key + 1 if isinstance(key, int) else key
            yield Problem(unique.severity, spec.id, f"{where.row(section, key)}: {text}",
                          section.name, shown_row, tuple(sorted(unique.fields)), unique.id)


def _as_typed(section: Section, name: str, value: Any) -> str:
    """A value as the person typed it: an enum by its label, a year without a dot."""
    f = section.field(name)
    if f is not None and f.kind == "enum" and isinstance(value, str):
        return _shown(f.label_of(value))
    if f is not None and f.kind == "year" and _is_number(value):
        return str(int(value))
    return _shown(value)


def _get(doc: Mapping[str, Any], path: str) -> Any:
    section, _, name = path.partition(".")
    value = doc.get(section)
    return value.get(name) if isinstance(value, dict) else None


# -- 4. year over year ------------------------------------------------------------------------

def _jump_problems(spec: FormSpec, rules: RuleSet, doc: Mapping[str, Any], ctx: FormContext,
                   where: _Where) -> Iterator[Problem]:
    if not ctx.previous:
        return
    for yoy in rules.year_over_year:
        section = spec.section(yoy.section)
        if section is None:
            continue
        names = yoy.fields or tuple(f.name for f in section.fields if f.kind == "count")
        now, before = doc.get(section.name), ctx.previous.get(section.name)
        if not isinstance(now, dict) or not isinstance(before, dict):
            continue
        factor = yoy.factor
        for key, row in _rows(section, now):
            old = before.get(key)
            if not isinstance(old, dict):
                continue
            for name in names:
                value, last = row.get(name), old.get(name)
                # The common case first: two whole numbers (a bool is an int, not a count).
                if type(value) is not int or type(last) is not int:
                    if not _is_number(value) or not _is_number(last):
                        continue
                if last <= 0:
                    continue
                if value > last * factor or value * factor < last:
                    ratio = f"{value / last:.1f}".replace(".", ",")
                    yield Problem(
                        WARNING, spec.id,
                        f"{where.row(section, key)}: {where.field(section, name)} "
                        f"{_shown(value)}, tahun lalu {_shown(last)} ({ratio}× tahun lalu); "
                        "periksa kembali",
                        section.name, key, (name,), "tahun-ke-tahun")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- all of it --------------------------------------------------------------------------------

def check_document(definition: Any, form: str, doc: Any, ctx: FormContext, *,
                   phase: str = SUBMIT) -> list[Problem]:
    """Every problem of one document, errors first, in document order within each."""
    spec = spec_of(definition, form)
    where = _Where(spec, ctx)
    if not isinstance(doc, dict):
        return [Problem(ERROR, form, f"{spec.title}: isinya harus berupa objek JSON")]
    problems = list(_schema_problems(definition, form, doc, phase, where))
    problems += _region_problems(spec, doc, ctx, phase, where)
    rules = rules_of(definition, form)
    problems += _rule_problems(spec, rules, doc, ctx, where)
    problems += _unique_problems(spec, rules, doc, where)
    problems += _jump_problems(spec, rules, doc, ctx, where)
    return sorted(problems, key=lambda p: not p.is_error)


def owned_by(spec: FormSpec, problem: Problem, unit: str) -> bool:
    """Is ``problem`` about a field ``unit`` owns (or about no field at all)?"""
    section = spec.section(problem.section) if problem.section else None
    if section is None or not problem.fields:
        return section is None or unit in section.units or not section.units
    return any((f := section.field(name)) is not None and f.unit == unit
               for name in problem.fields)
