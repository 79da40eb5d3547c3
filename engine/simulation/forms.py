"""What synthetic operators enter: plausible documents, per unit where a stage has parts.

- `documents` - a stage's output documents, sampled once (`engine.forms.sample`) in the
  case's context, with a tiny PDF uploaded for every file field (`attach_pdf`). One
  sample per stage: in a stage split into parts every unit gives its share of the same
  document (`unit_share`), so what one unit serves stays below what another targets.
- `rng_for` - the generator of one stage's data (per attempt: a sample with an error is
  drawn again), from the simulation's seed and the stage alone: the same seed gives the
  same documents whatever order the stages are reached in.
- `sample` - a minimal instance of any JSON Schema (required properties, bounds, the first
  enum or oneOf), for schemas outside the form format.

``aksi demo`` fills its drafts with the same functions.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from ..forms.entry import context_for
from ..forms.sample import sample_document
from ..definitions.forms.spec import PER_REGION, ROWS, Field, spec_of
from ..forms.validate import SUBMIT, check_document

FILE_NAME = "contoh.pdf"


def _tiny_pdf() -> bytes:
    """A one-page blank PDF with a correct cross-reference table (a few hundred bytes)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


PDF = _tiny_pdf()


ATTEMPTS = 30  # a failed draw is rare, so many attempts cost little on average


def rng_for(seed: int, year: int, region: str, stage: str, attempt: int = 0) -> random.Random:
    """The generator of one stage's documents (str seeds hash the same in every process)."""
    return random.Random(f"aksi:{seed}:{year}:{region}:{stage}:{attempt}")


def attach_pdf(session: Session, task: Any, *, uploader: Callable[[Field], str],
               now: dt.datetime, files_dir: Any = None) -> Callable[[Field], dict]:
    """An ``attach`` callback for `sample_document`: uploads `PDF` for ``task`` as the user
    ``uploader(field)`` names and gives the file object to put in the data."""
    from ..forms.files import store_upload  # the blob store; only needed with file fields

    def attach(f: Field) -> dict:
        return store_upload(session, task=task, field=f, content=PDF, name=FILE_NAME,
                            username=uploader(f), now=now, files_dir=files_dir)

    return attach


def documents(session: Session, definition: Any, task: Any, *,
              rng: Callable[[int], random.Random] | random.Random,
              attach: Callable[[Field], Any] | None = None,
              attempts: int = ATTEMPTS) -> dict[str, dict]:
    """Form id -> a plausible document, for every output of the task's stage that has a form.

    The sampler repairs the rules it can; where its draws leave an error (two rules pulling
    one date apart, a choice that makes another field required that it cannot fill), the
    operator starts again: with ``rng`` a function of the attempt number, up to
    ``attempts`` samples are drawn and the first without an error-level problem is kept
    (else the last: its submission is refused and reported). Warnings stay.
    """
    ctx = context_for(session, definition, task)
    outputs = [f for f in definition.stage(task.stage).outputs if f in definition.forms]
    tries = attempts if callable(rng) else 1
    docs: dict[str, dict] = {}
    for attempt in range(tries):
        generator = rng(attempt) if callable(rng) else rng
        docs = {form: sample_document(definition, form, ctx, rng=generator, attach=attach)
                for form in outputs}
        if not any(p.is_error for form in outputs
                   for p in check_document(definition, form, docs[form], ctx, phase=SUBMIT)):
            break
    return docs


def unit_share(definition: Any, docs: Mapping[str, dict], unit: str) -> dict[str, dict]:
    """{form: the fields ``unit`` owns} of whole documents: what that unit's operator saves
    in a stage split into parts. Forms where the unit owns nothing are left out."""
    out: dict[str, dict] = {}
    for form, doc in docs.items():
        spec = spec_of(definition, form)
        part: dict = {}
        for section in spec.sections:
            value = doc.get(section.name)
            owned = {f.name for f in section.fields if f.unit == unit and not f.computed}
            if not owned or value is None:
                continue
            if section.kind == PER_REGION and isinstance(value, Mapping):
                rows = {code: {k: v for k, v in row.items() if k in owned}
                        for code, row in value.items() if isinstance(row, Mapping)}
                value = {code: row for code, row in rows.items() if row}
            elif section.kind == ROWS and isinstance(value, list):
                # Rows keep their number (a row:SECTION reference counts them).
                value = [{k: v for k, v in row.items() if k in owned} for row in value
                         if isinstance(row, Mapping)]
            elif isinstance(value, Mapping):
                value = {k: v for k, v in value.items() if k in owned}
            if value:
                part[section.name] = value
        if part:
            out[form] = part
    return out


# -- any JSON Schema -------------------------------------------------------------------------

_FORMATS = {
    "date": "2000-01-01",
    "date-time": "2000-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "simulasi@example.org",
    "uri": "https://example.org/simulasi",
    "uri-reference": "https://example.org/simulasi",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    return node


def _merged(parts: list[Any]) -> dict:
    out: dict = {}
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if key == "properties":
                out.setdefault("properties", {}).update(value)
            elif key == "required":
                out["required"] = [*out.get("required", []), *value]
            else:
                out.setdefault(key, value)
    return out


def _number(schema: Mapping[str, Any], integer: bool) -> float | int:
    low = schema.get("minimum")
    if low is None and "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    high = schema.get("maximum")
    if high is None and "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
    value = low if low is not None else (min(0, high) if high is not None else 0)
    step = schema.get("multipleOf")
    if step:
        value = -(-value // step) * step
    return int(value) if integer else float(value)


def sample(schema: Any, root: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """A value that validates against ``schema`` in the common cases."""
    if not isinstance(schema, Mapping) or depth > 20:
        return None
    root = root if root is not None else schema
    if "$ref" in schema:
        return sample(_merged([_resolve(schema["$ref"], root),
                               {k: v for k, v in schema.items() if k != "$ref"}]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if schema.get("allOf"):
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return sample(_merged([rest, *schema["allOf"]]), root, depth + 1)
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            rest = {k: v for k, v in schema.items() if k != key}
            return sample(_merged([rest, schema[key][0]]), root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        if "properties" in schema or "required" in schema:
            kind = "object"
        elif "items" in schema:
            kind = "array"
        else:
            return None
    if kind == "object":
        props = schema.get("properties", {})
        return {name: sample(props.get(name, {}), root, depth + 1)
                for name in schema.get("required", [])}
    if kind == "array":
        prefix = list(schema.get("prefixItems", []))
        count = max(schema.get("minItems", 0), len(prefix) if schema.get("minItems") else 0)
        return [sample(prefix[i] if i < len(prefix) else schema.get("items", {}), root, depth + 1)
                for i in range(count)]
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        length = max(schema.get("minLength", 0), 1)
        if "maxLength" in schema:
            length = min(length, schema["maxLength"])
        return ("simulasi" * (length // 8 + 1))[:length]
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "boolean":
        return True
    return None
