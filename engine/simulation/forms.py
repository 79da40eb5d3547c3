"""A small, valid instance of a form's JSON Schema: what a synthetic operator fills in.

Only what a form needs to validate: required properties, minimum lengths and
counts, the first of an enum or a oneOf. A schema this cannot satisfy (e.g. a
``pattern``) makes the action be refused; the simulator reports the refusal.
"""

from __future__ import annotations

from typing import Any, Mapping

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


def sample_forms(forms: Mapping[str, Mapping[str, Any]], outputs: tuple[str, ...]) -> dict:
    """Form id -> a sample instance, for every output of a stage that has a schema."""
    return {form: sample(forms[form]) for form in outputs if form in forms}
