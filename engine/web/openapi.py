"""The API's OpenAPI 3.1 document (``GET /api/v1/openapi.json``), generated, never written.

Where each part comes from:

- **paths**: every rule of the ``api`` blueprint (apispec's Flask plugin turns the rule
  into a path); the operations are the YAML after ``---`` in the view's docstring;
- **path parameters**: from the rule's arguments, by the patterns the edge enforces
  (`edge.PATTERNS`, `years.MIN_YEAR`-`years.MAX_YEAR`), so no docstring repeats them;
- **errors**: every operation answers 400 (the edge refuses a request it cannot take),
  401 unless it is public, 404 where it has path parameters (an address part out of
  pattern), and whatever its docstring adds, all as ``Problem`` (problems.py);
- **shapes**: `api_schemas.SHAPES`; the **form documents**: each form's JSON Schema from
  the definitions in the store (``Form.<id>`` complete as a submission needs it,
  ``FormDraft.<id>`` as a draft may be, see ``forms.validate.draft_schema``).

To add a documented endpoint: write the view in api.py with its operations after
``---`` in its docstring (name a shape of `api_schemas.SHAPES` as ``schema: Name``);
tests/web/test_openapi.py fails for a route the document lacks.

The document is built once per set of definitions in the store and kept on the app.
"""

from __future__ import annotations

import hashlib
from typing import Any

from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask, current_app
from sqlalchemy import select

from ..forms.validate import draft_schema
from ..definitions.forms.spec import plain
from ..store.library import pinned
from ..store.models import DefinitionRow
from .api_schemas import SHAPES
from .edge import PATTERNS
from .problems import API_PREFIX
from .years import MAX_YEAR, MIN_YEAR

BLUEPRINT = "api"
PUBLIC: set[str] = set()  # endpoints served without a token (see `public`)
_CACHE_KEY = "aksi.openapi"
_PROBLEM = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ERRORS = {
    400: "The request cannot be taken (bad argument or body); nothing changed.",
    401: "No valid bearer token.",
    403: "Outside the caller's regions or roles; nothing changed.",
    404: "No such address, region, stage or file.",
    409: "Changed by somebody else since it was read (expected_version); nothing changed.",
    413: "The body is larger than allowed; nothing changed.",
    422: "Refused: wrong state, reason missing, forms invalid; nothing changed.",
}
_DESCRIPTION = (
    "The JSON API of aksi for other government systems. Authenticate with a bearer token "
    "issued by `aksi users token`; the caller acts as that user, with the same region scope "
    "and role checks as the pages. Every error is a `Problem` (JSON) with a status that says "
    "what happened. Lists are paged with an opaque `cursor`: pass the answer's `next` to get "
    "the following page, until `next` is null.")


def public(view):
    """Mark an API view as served without a token."""
    PUBLIC.add(f"{BLUEPRINT}.{view.__name__}")
    return view


def _path_parameter(name: str) -> dict[str, Any]:
    if name == "year":
        schema: dict[str, Any] = {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR}
    elif name in PATTERNS:
        schema = {"type": "string", "pattern": f"^{PATTERNS[name].pattern}$"}
    else:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _with_errors(operation: dict[str, Any], *, public_: bool, has_path: bool) -> dict:
    responses = operation.setdefault("responses", {})
    codes = {400} | ({401} if not public_ else set()) | ({404} if has_path else set())
    for code in sorted(codes | {int(c) for c in responses if str(c) in map(str, _ERRORS)}):
        existing = responses.pop(code, None) or responses.pop(str(code), None) or {}
        responses[str(code)] = {"description": existing.get("description", _ERRORS[code]),
                                "content": _PROBLEM}
    if public_:
        operation["security"] = []
    return operation


def _forms(schemas: dict[str, list[Any]]) -> dict[str, dict]:
    """``Form.<id>``, ``FormDraft.<id>`` and ``Documents`` (per form id, its draft)."""
    out: dict[str, dict] = {}
    for form_id in sorted(schemas):
        versions = [_embedded(plain(s)) for s in schemas[form_id]]
        out[f"Form.{form_id}"] = _one_of(versions)
        out[f"FormDraft.{form_id}"] = _one_of([draft_schema(v) for v in versions])
    out["Documents"] = {
        "type": "object", "description": "A stage's documents: per form id, the document.",
        "properties": {f: {"$ref": f"#/components/schemas/FormDraft.{f}"} for f in sorted(schemas)}}
    return out


def _embedded(schema: dict) -> dict:
    """A form's schema inside the document: its own ``$id`` and ``$schema`` would move the
    base of references (OpenAPI 3.1 is JSON Schema 2020-12 already)."""
    return {k: v for k, v in schema.items() if k not in ("$id", "$schema")}


def _one_of(versions: list[dict]) -> dict:
    distinct = list({repr(v): v for v in versions}.values())
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


def build(app: Flask, forms: dict[str, list[Any]], version: str) -> dict[str, Any]:
    """The document of ``app``'s API routes, with ``forms`` (form id -> its schemas)."""
    spec = APISpec(title="aksi API", version=version, openapi_version="3.1.0",
                   plugins=[FlaskPlugin()], info={"description": _DESCRIPTION},
                   servers=[{"url": "/"}], security=[{"bearer": []}])
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "A token from `aksi users token` (aksi_...)."})
    for name, shape in {**SHAPES, **_forms(forms)}.items():
        spec.components.schema(name, shape)
    rules = sorted((r for r in app.url_map.iter_rules()
                    if r.endpoint.startswith(BLUEPRINT + ".")), key=lambda r: r.rule)
    for rule in rules:
        spec.path(view=app.view_functions[rule.endpoint], app=app, operations={})
        operations = spec._paths[FlaskPlugin.flaskpath2openapi(rule.rule)]  # noqa: SLF001
        for method in sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}):
            operation = operations.get(method)
            if operation is None:
                continue  # undocumented: tests/web/test_openapi.py says so
            _with_errors(operation, public_=rule.endpoint in PUBLIC, has_path=bool(rule.arguments))
            if rule.arguments:
                operation["parameters"] = [_path_parameter(a) for a in _ordered(rule)] + [
                    p for p in operation.get("parameters", []) if p.get("in") != "path"]
    return spec.to_dict()


def _ordered(rule) -> list[str]:
    """A rule's arguments in the order they appear in its path."""
    return [a for a in sorted(rule.arguments, key=lambda a: rule.rule.index(f"{a}>"))]


def _definitions(session) -> tuple[str, dict[str, list[Any]]]:
    hashes = sorted(session.scalars(select(DefinitionRow.content_hash)))
    forms: dict[str, list[Any]] = {}
    for content_hash in hashes:
        for form_id, schema in pinned(session, content_hash).forms.items():
            forms.setdefault(form_id, []).append(schema)
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest(), forms


def document(session) -> tuple[dict[str, Any], str]:
    """(the document, its ETag) for the definitions in the store, built once per set."""
    app = current_app._get_current_object()  # noqa: SLF001
    key, forms = _definitions(session)
    cache = app.extensions.setdefault(_CACHE_KEY, {})
    if key not in cache:
        cache.clear()
        cache[key] = build(app, forms, version=f"1 (definitions {key[:12]})")
    return cache[key], key
