"""Plausible documents for a form: what the simulator, the demo and the benchmarks enter.

Values come from the schema (types, bounds, enumerations, region references), then the
form's own rules shape them, so nothing here knows a field: every coverage pair gets a
served count below its targeted count, and each error rule that still fails is repaired
where its shape allows - ``a <= b`` lowers ``a`` (a sum proportionally), ``a >= b`` raises
``a``, ``month(d) == m`` and ``year(d) == y`` move the date, ``a == b`` copies ``b``.
Repairs only lower or fix values, so a few passes settle a chain such as
``S8 + S9 + S10 <= S16 <= S1``. What cannot be repaired is left for the checker to report.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import random
from typing import Any, Callable, Mapping

from ..definitions.forms.logic import NOT_JUDGED, compile_logic
from ..definitions.forms.rules import CYCLE, ERROR, rules_of
from ..definitions.forms.spec import PER_REGION, ROWS, Field, Section, plain, spec_of
from .validate import SUBMIT, FormContext, _alike, _validator

PASSES = 12


def _value(f: Field, ctx: FormContext, rng: random.Random, targeted: set[str]) -> Any:
    s, kind = f.schema, f.kind
    if kind in ("count", "integer"):
        low = int(s.get("minimum", 0))
        high = int(s.get("maximum", low + (900 if f.name in targeted else 40)))
        return rng.randint(low + (20 if f.name in targeted and high > low + 40 else 0), high)
    if kind == "year":
        return max(int(s.get("minimum", ctx.year)), min(int(s.get("maximum", ctx.year)), ctx.year))
    if kind == "number":
        return float(rng.randint(1, 24))
    if kind == "percent":
        return round(rng.uniform(5, 95), 1)
    if kind == "rupiah":
        return rng.randrange(50_000, 5_000_000, 5_000)
    if kind == "date":
        return (dt.date(ctx.year, 1, 1) + dt.timedelta(days=rng.randrange(0, 365))).isoformat()
    if kind == "url":
        return "https://contoh.go.id/publikasi/aksi-konvergensi"
    if kind == "yes-no":
        return True
    if kind in ("enum", "multi"):
        choices = [v for v, _ in f.choices()]
        if not choices:
            return None
        if kind == "enum":
            return rng.choice(choices)
        return rng.sample(choices, k=min(len(choices), rng.randint(1, 2)))
    if kind in ("text", "longtext"):
        return _reference(f, ctx, rng) if f.ref else _text(f)
    return None


def _reference(f: Field, ctx: FormContext, rng: random.Random) -> str | None:
    codes = list(ctx.rows)
    if f.ref in ("desa", "child") and codes:
        return rng.choice(codes)
    if f.ref == "kelurahan":
        kelurahan = [c for c in codes if c.rsplit(".", 1)[-1].startswith("1")]
        return rng.choice(kelurahan) if kelurahan else None
    if f.ref == "wilayah":
        return rng.choice(codes) if codes else ctx.region
    if f.ref == "stage" and ctx.stages:
        return rng.choice(ctx.stages)
    return None


def _text(f: Field) -> str:
    limit = int(f.schema.get("maxLength", 200))
    text = (f"Uraian {f.title.lower()} hasil pembahasan bersama lintas sektor."
            if f.kind == "longtext" else f"Contoh {f.title.lower()}")
    return text[:limit]


def _row(section: Section, ctx: FormContext, rng: random.Random, units: set[str] | None,
         targeted: set[str], attach: Callable[[Field], Any] | None) -> dict:
    row = {}
    for f in section.fields:
        if f.computed or (units is not None and f.unit not in units):
            continue
        if f.kind == "file":
            value = attach(f) if attach else None
        elif f.ref and f.ref.startswith("row:"):
            value = 1
        else:
            value = _value(f, ctx, rng, targeted)
        if value is not None:
            row[f.name] = value
    return row


def sample_document(definition: Any, form: str, ctx: FormContext, *, rng: random.Random,
                    units: set[str] | None = None,
                    attach: Callable[[Field], Any] | None = None) -> dict:
    """A document (or, with ``units``, the part those units own) that the form's rules
    accept as far as their shapes allow."""
    spec, rules = spec_of(definition, form), rules_of(definition, form)
    targeted = {name for c in rules.coverage for name in c.targeted}
    doc: dict = {}
    for section in spec.sections:
        if units is not None and not (section.units & units):
            continue
        if section.kind == PER_REGION:
            rows = {code: _row(section, ctx, rng, units, targeted, attach) for code in ctx.rows}
            doc[section.name] = {k: v for k, v in rows.items() if v}
        elif section.kind == ROWS:
            count = max(int(section.schema.get("minItems", 0)), rng.randint(1, 3))
            rows_ = [_row(section, ctx, rng, units, targeted, attach) for _ in range(count)]
            doc[section.name] = [r for r in rows_ if r]
        else:
            row = _row(section, ctx, rng, units, targeted, attach)
            if row:
                doc[section.name] = row
    _shape(spec, rules, doc, ctx, rng)
    _follow_schema(definition, form, doc)
    return {k: v for k, v in doc.items() if v}


def _follow_schema(definition: Any, form: str, doc: dict) -> None:
    """Values the schema pins down where the sampler chose freely (``if``/``then`` with a
    ``const``): take the pinned value."""
    for _ in range(3):
        fixed = False
        for err in _validator(definition, form, SUBMIT).iter_errors(doc):
            path = list(err.absolute_path)
            if err.validator != "const" or not path:
                continue
            target: Any = doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = err.validator_value
            fixed = True
        if not fixed:
            return


def _rows(section: Section, value: Any) -> list[dict]:
    if isinstance(value, dict) and section.kind == PER_REGION:
        return [r for r in value.values() if isinstance(r, dict)]
    if isinstance(value, list):
        return [r for r in value if isinstance(r, dict)]
    return [value] if isinstance(value, dict) else []


def _shape(spec: Any, rules: Any, doc: dict, ctx: FormContext, rng: random.Random) -> None:
    cycle = {"tahun": ctx.year}
    for c in rules.coverage:
        section = spec.section(c.section)
        for row in _rows(section, doc.get(c.section)) if section else []:
            if not all(isinstance(row.get(n), (int, float)) for n in (*c.served, *c.targeted)):
                continue
            room = sum(row[n] for n in c.targeted)
            share = rng.uniform(0.55, 0.97)
            for n in c.served:
                row[n] = int(room * share / len(c.served))
    for unique in rules.unique:  # a row alike an earlier one: its free text made its own
        section = spec.section(unique.section)
        free = [n for n in unique.fields if section and (f := section.field(n)) is not None
                and f.kind in ("text", "longtext")]
        seen: set = set()
        for i, row in enumerate(_rows(section, doc.get(unique.section)) if free else []):
            if _alike([row.get(n) for n in unique.fields]) in seen \
                    and isinstance(row.get(free[0]), str):
                row[free[0]] = f"{row[free[0]]}-{i + 1}"
            seen.add(_alike([row.get(n) for n in unique.fields]))
    errors = [r for r in rules.rules if r.severity == ERROR]
    for _ in range(PASSES):
        changed = False
        for rule in errors:
            if rule.section is None:
                changed |= _repair(rule.check, _DocView(doc), cycle)
                continue
            section = spec.section(rule.section)
            choices = {f.name: [v for v, _ in f.choices()] for f in section.fields
                       if f.kind == "enum"} if section else {}
            for row in _rows(section, doc.get(rule.section)) if section else []:
                changed |= _repair(rule.check, _RowView(row, choices), cycle)
        if not changed:
            return


class _RowView:
    """Read and write a row's fields by the names a row rule's vars use."""

    def __init__(self, row: dict, choices: Mapping[str, list] | None = None):
        self.row = row
        self.choices = choices or {}

    def data(self, cycle: Mapping[str, Any]) -> dict:
        return {**self.row, CYCLE: cycle}

    def get(self, name: str) -> Any:
        return self.row.get(name)

    def set(self, name: str, value: Any) -> None:
        if not name.startswith(CYCLE + "."):
            self.row[name] = value


class _DocView(_RowView):
    """The same for a document rule, whose vars are ``section.field``."""

    def get(self, name: str) -> Any:
        section, _, field = name.partition(".")
        value = self.row.get(section)
        return value.get(field) if isinstance(value, dict) else None

    def set(self, name: str, value: Any) -> None:
        section, _, field = name.partition(".")
        if section != CYCLE and isinstance(self.row.get(section), dict):
            self.row[section][field] = value


@functools.lru_cache(maxsize=4096)
def _compiled(text: str) -> Any:
    return compile_logic(json.loads(text))[0]


def _eval(node: Any, view: _RowView, cycle: Mapping[str, Any]) -> Any:
    try:
        return _compiled(json.dumps(plain(node), sort_keys=True))(view.data(cycle))
    except NOT_JUDGED:
        return None


def _var(node: Any) -> str | None:
    return node["var"] if isinstance(node, Mapping) and isinstance(node.get("var"), str) else None


def _repair(node: Any, view: _RowView, cycle: Mapping[str, Any]) -> bool:
    """Try to make ``node`` true on the row; True when something was changed."""
    if not isinstance(node, Mapping) or len(node) != 1:
        return False
    ok = _eval(node, view, cycle)
    if ok is None or ok:
        return False
    (op, args), = node.items()
    if op == "and":
        return any([_repair(a, view, cycle) for a in args])
    if op == "or":
        return _repair(args[0], view, cycle)
    if op == "if" and isinstance(args, (list, tuple)) and len(args) == 3:
        return _repair(args[1] if _eval(args[0], view, cycle) else args[2], view, cycle)
    if op not in ("<=", "<", ">=", ">", "==") or not isinstance(args, (list, tuple)) \
            or len(args) != 2:
        return _try_choices(node, view, cycle)
    left, right = args
    if op in (">=", ">"):  # a >= b: raise a, or failing that lower b
        target = _eval(right, view, cycle)
        name = _var(left)
        if name and isinstance(target, (int, float)):
            view.set(name, _bump(math.ceil(target), op == ">"))
            return True
        if isinstance(left, Mapping) and "-" in left and len(left["-"]) == 2 \
                and _var(left["-"][0]) and isinstance(target, (int, float)):
            other = _eval(left["-"][1], view, cycle)  # a - b >= c: a = b (or b + c when c > 0)
            if isinstance(other, (int, float)):
                view.set(_var(left["-"][0]), _tidy(other + max(target, 0) + (1 if op == ">" else 0)))
                return True
        return _repair({"<=" if op == ">=" else "<": [right, left]}, view, cycle)
    if op == "==":
        return _repair_equal(left, right, view, cycle) or _try_choices(node, view, cycle)
    limit = _eval(right, view, cycle)
    name = _var(left)
    if isinstance(limit, str):  # dates: a day before the limit
        if name:
            day = dt.date.fromisoformat(limit) - dt.timedelta(days=1 if op == "<" else 0)
            view.set(name, day.isoformat())
            return True
        return False
    if not isinstance(limit, (int, float)):
        return False
    if isinstance(left, Mapping) and "-" in left and len(left["-"]) == 2 and _var(left["-"][0]):
        other = _eval(left["-"][1], view, cycle)  # a - b <= c: a = b (or b + c when c < 0)
        if isinstance(other, (int, float)):
            view.set(_var(left["-"][0]), _tidy(other + min(limit, 0) - (1 if op == "<" else 0)))
            return True
    limit = max(0, math.floor(limit) - (1 if op == "<" else 0))
    if name:
        view.set(name, limit)
        return True
    if isinstance(left, Mapping) and "+" in left:
        names = [_var(n) for n in left["+"]]
        if None in names:
            return False
        total = sum(view.get(n) or 0 for n in names)
        if total <= 0:
            return False
        for n in names:
            view.set(n, int((view.get(n) or 0) * limit / total))
        return True
    return False


def _try_choices(node: Any, view: _RowView, cycle: Mapping[str, Any]) -> bool:
    """A rule of another shape (an ``if`` over enumerations, say): try the other choices of
    each enumerated field it reads, one field at a time, and keep the first that holds."""
    choices = getattr(view, "choices", {})
    for name in sorted(compile_logic(node)[1]):
        before = view.get(name)
        for value in choices.get(name, ()):
            view.set(name, value)
            if _eval(node, view, cycle):
                return True
        view.set(name, before)
    return False


def _tidy(value: float) -> int | float:
    """A computed value as a person would enter it: whole when it is, else two decimals."""
    return int(value) if float(value).is_integer() else round(value, 2)


def _bump(value: int, strict: bool) -> int:
    return value + 1 if strict else value


def _repair_equal(left: Any, right: Any, view: _RowView, cycle: Mapping[str, Any]) -> bool:
    wanted = _eval(right, view, cycle)
    if wanted is None:
        return False
    if isinstance(left, Mapping) and len(left) == 1 and next(iter(left)) in ("month", "year"):
        (part, inner), = left.items()
        name = _var(inner[0] if isinstance(inner, (list, tuple)) else inner)
        current = view.get(name) if name else None
        if not name or not isinstance(current, str) or not isinstance(wanted, int):
            return False
        day = dt.date.fromisoformat(current)
        day = day.replace(month=wanted, day=min(day.day, 28)) if part == "month" else \
            day.replace(year=wanted, day=min(day.day, 28))
        view.set(name, day.isoformat())
        return True
    name = _var(left)
    if name:
        view.set(name, wanted)
        return True
    return False

