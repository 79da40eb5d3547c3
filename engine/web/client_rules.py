"""A form's rules as the browser runs them while the operator types (static/rules.js).

The browser gets data, never code: each rule's JSON Logic (coverage pairs already turned
into the ``served <= targeted`` logic `engine.definitions.forms.rules.coverage_rule` builds), the
fields it reads, its severity and own message; the ``unique`` rules (rows that must
differ); and, per section, each field's label and the schema keywords cheap to check on
one input (type, bounds, length). rules.js words a
broken rule with a port of `engine.forms.validate.explain`, so the text is the server's to
the character; tests/web/test_client_rules.py runs both on the same documents.

Two parts, because the page's context varies where the form does not:

- the form's part (rules, sections, labels) depends on the definition and the form only,
  and is cached like `spec_of` (definitions never change and hash alike);
- the context's part - the cycle year a rule reads as ``_siklus.tahun`` and the label of
  each per-region row ("Desa Air Anyir (19.01.01.2001)", made by the server's own
  `region_label`) - is added when a `FormContext` is given. Row labels are passed in, not
  read from the page, so that the browser's message names the desa exactly as the
  server's does whatever the table shows. Without a context a rule reading the cycle year
  is not judged in the browser (the server still judges it) and a row is called
  "kode wilayah <code>", as the server calls a code it does not know.

On the stage page the form's part is not inlined: it is the same for every region and
served once from a URL named by the definition's hash (`bp`, cached a year like the static
files); the page carries only `page_rules` (the year, what a row's region is called and
that URL), and rules.js names each row as `region_label` does from the table's own row
header (the desa's name as the server writes it there). That keeps the largest
kecamatan's page within its budget with each input's label written by the server.

Schema keywords judged in the browser too: a field's ``enum`` and ``const`` (a choice the
form does not know), and the ``if``/``then`` of a row's schema made of ``properties``
(``enum``, ``const``) and ``required`` - as the draft check reads them, without
``required``.

The year-over-year warnings too: the browser reads last year's value of a cell from the
page (the ``<small>`` the server writes under it); `AksiRules.check` takes last year's
document as its third argument.

Not in the browser: region references, ``required`` (a draft may be incomplete while
typing), other ``if``/``then``. The server checks all of it on every save.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, abort, jsonify, url_for

from ..errors import NotFound
from ..definitions.forms.rules import CYCLE, rules_of
from ..definitions.forms.spec import FormSpec, Section, _row_schema, plain, spec_of
from ..forms.validate import FormContext, _drafted, region_label
from ..store.library import pinned
from .auth import require_sign_in
from .store import database

bp = Blueprint("client_rules", __name__)
require_sign_in(bp)
YEAR_IN_SECONDS = 365 * 24 * 3600

# The schema keywords of one field that rules.js checks with the server's wording.
FIELD_KEYWORDS = ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                  "maxLength", "enum", "const")
# What an ``if``/``then`` of a row's schema may use for rules.js to judge it: ``properties``
# whose values are judged by ``enum`` and ``const``, and ``required``.
CONDITION_KEYWORDS = frozenset({"properties", "required"})
VALUE_KEYWORDS = frozenset({"enum", "const"})


def _field(section: Section, name: str) -> dict:
    f = section.field(name)
    assert f is not None
    out: dict[str, Any] = {"name": f.name, "label": f"«{f.title}»", "kind": f.kind,
                           "computed": f.computed}
    out.update({k: plain(f.schema[k]) for k in FIELD_KEYWORDS if k in f.schema})
    return out


def _simple(schema: Any) -> bool:
    """Is ``schema`` (an ``if`` or ``then``) one rules.js judges as jsonschema does?"""
    if not isinstance(schema, dict) or not set(schema) <= CONDITION_KEYWORDS:
        return False
    return all(isinstance(v, dict) and set(v) <= VALUE_KEYWORDS
               for v in (schema.get("properties") or {}).values())


def _conditions(section: Section) -> list[dict]:
    """The ``if``/``then`` of a row's schema (its own and those under ``allOf``), as the
    draft check reads them (`validate._drafted`: the ``then`` without ``required``, the
    ``if`` whole), the simple ones."""
    _, _, row = _row_schema(plain(section.schema))
    found = [row] + [s for s in row.get("allOf") or () if isinstance(s, dict)]
    out = []
    for holder in found:
        if "if" not in holder or "then" not in holder or "else" in holder:
            continue
        when, then = holder["if"], _drafted(holder["then"])  # the condition as it is
        if _simple(when) and _simple(then):
            out.append({"if": when, "then": then})
    return out


def _section(section: Section) -> dict:
    out = {"name": section.name, "title": section.title, "kind": section.kind,
           "fields": {f.name: _field(section, f.name) for f in section.fields}}
    conditions = _conditions(section)
    if conditions:
        out["conditions"] = conditions
    return out


def _reads_sections(reads: frozenset[str]) -> list[str]:
    """The sections a document rule reads (its vars are ``section.field``)."""
    return sorted({r.split(".", 1)[0] for r in reads if "." in r and not r.startswith(CYCLE + ".")})


@functools.lru_cache(maxsize=256)
def _form_part(definition: Any, form_id: str) -> dict:
    spec: FormSpec = spec_of(definition, form_id)
    rules = []
    for rule in rules_of(definition, form_id).rules:
        if rule.section is not None and spec.section(rule.section) is None:
            continue  # validate.py skips it too
        rules.append({
            "id": rule.id,
            "severity": rule.severity,
            "section": rule.section,
            "logic": plain(rule.check),
            # sorted: the order Problem.fields and explain's fallback list them in
            "fields": sorted(rule.fields),
            "reads": sorted(rule.reads),
            "sections": [rule.section] if rule.section else _reads_sections(rule.reads),
            "message": rule.message,
        })
    unique = [{"id": u.id, "severity": u.severity, "section": u.section,
               "fields": list(u.fields),  # in the rule's order: the message names them so
               "message": u.message}
              for u in rules_of(definition, form_id).unique if spec.section(u.section)]
    sections = [_section(s) for s in spec.sections]
    for u in unique:  # an enum a unique rule compares is named by its label
        fields = next(s for s in sections if s["name"] == u["section"])["fields"]
        for name in u["fields"]:
            f = spec.section(u["section"]).field(name)
            if f is not None and f.kind == "enum" and f.schema.get("x-labels"):
                fields[name]["labels"] = plain(f.schema["x-labels"])
    jumps = []
    for yoy in rules_of(definition, form_id).year_over_year:  # validate._jump_problems
        section = spec.section(yoy.section)
        if section is not None:
            names = yoy.fields or tuple(f.name for f in section.fields if f.kind == "count")
            jumps.append({"section": section.name, "fields": list(names),
                          "factor": yoy.factor})
    return {"form": spec.id, "title": spec.title, "sections": sections, "rules": rules,
            "unique": unique, "year_over_year": jumps}


def rules_for_browser(definition: Any, form_id: str, ctx: FormContext | None = None) -> dict:
    """What rules.js needs to check ``form_id`` in the browser (JSON-serialisable).

    ``ctx`` (the context the server checks the document in) adds the cycle ``year`` and
    the ``rows`` labels of per-region rows; the rest is cached per (definition, form) and
    shared, so callers must not change the returned dict's nested values.
    """
    part = _form_part(definition, form_id)
    if ctx is None:
        return {**part, "year": None, "rows": {}}
    return {**part, "year": ctx.year,
            # a code without a name is "kode wilayah <code>" to the server and to rules.js
            "rows": {str(code): region_label(str(code), name, ctx.row_kind)
                     for code, name in ctx.rows.items() if name}}


def page_rules(definition: Any, form_id: str, ctx: FormContext) -> dict:
    """What the stage page inlines for rules.js: the context, and where the form's part is."""
    return {"form": form_id, "year": ctx.year, "row_kind": ctx.row_kind,
            "src": url_for("client_rules.form_rules", sha256=definition.content_hash,
                           form=form_id)}


@bp.get("/aturan/<sha256>/<form>.json")
def form_rules(sha256: str, form: str):
    """The form's part of its browser rules (no region's data in it: any signed-in person
    may read it). The URL names the definition, which never changes: cached a year."""
    with database().read() as session:
        try:
            definition = pinned(session, sha256)
        except NotFound:
            abort(404)
    if form not in definition.forms:
        abort(404)
    response = jsonify(_form_part(definition, form))
    response.cache_control.private = True
    response.cache_control.max_age = YEAR_IN_SECONDS
    response.cache_control.immutable = True
    return response
