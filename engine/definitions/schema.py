"""Structural validation against ``workflows/schema.json``, explained in Bahasa Indonesia.

jsonschema reports every violation (``iter_errors``); each is turned into a
finding at the offending node, with its JSON path, in words a policy owner reads.
"""

from __future__ import annotations

import difflib
import functools
import json
from typing import Iterator

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from . import shipped
from .findings import Finding
from .source import SourceDoc

SCHEMA_PATH = shipped.SCHEMA

_TYPES = {
    "object": "pemetaan (kunci: nilai)",
    "array": "daftar",
    "string": "teks",
    "integer": "bilangan bulat",
    "number": "bilangan",
    "boolean": "true atau false",
    "null": "kosong",
}


@functools.cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def _pattern_hint(pattern: str) -> str:
    defs = schema()["$defs"]
    if pattern == defs["date"]["pattern"]:
        return 'tanggal harus "BB-HH" (mis. "01-15") atau "BB" untuk akhir bulan (mis. "02")'
    if pattern == defs["id"]["pattern"]:
        return "id hanya boleh huruf kecil, angka dan garis bawah, diawali huruf"
    if pattern == defs["recipient"]["pattern"]:
        return 'harus nama peran ("approver") atau "tingkat:peran" ("parent:supervisor")'
    if "%" in pattern:
        return 'kuorum harus "all" atau persentase seperti "80%"'
    return f"tidak cocok dengan pola {pattern}"


def _type_name(value: object) -> str:
    for name, py in (("boolean", bool), ("integer", int), ("number", float), ("string", str),
                     ("array", list), ("object", dict)):
        if isinstance(value, py):
            return _TYPES[name]
    return _TYPES["null"] if value is None else type(value).__name__


def _message(error: ValidationError) -> str:
    v, value, inst = error.validator, error.validator_value, error.instance
    if v == "type":
        wanted = value if isinstance(value, list) else [value]
        if "pattern" in error.schema and error.schema["pattern"] == schema()["$defs"]["date"]["pattern"]:
            return 'tanggal harus teks dalam tanda kutip, mis. "02" atau "01-15"'
        return (f"harus berupa {' atau '.join(_TYPES.get(w, w) for w in wanted)}, "
                f"bukan {_type_name(inst)}")
    if v == "required":
        missing = [k for k in value if isinstance(inst, dict) and k not in inst]
        return f"kunci wajib '{missing[0] if missing else value}' tidak ada"
    if v == "enum":
        return f"'{inst}' tidak diizinkan; pilih salah satu: {', '.join(map(str, value))}"
    if v == "pattern":
        return f"'{inst}': {_pattern_hint(value)}"
    if v == "minLength":
        return "tidak boleh kosong"
    if v in ("minItems", "minProperties"):
        return "tidak boleh kosong" if value == 1 else f"minimal berisi {value} unsur"
    if v == "minimum":
        return f"{inst} terlalu kecil: minimal {value}"
    if v == "maximum":
        return f"{inst} terlalu besar: maksimal {value}"
    if v == "exclusiveMinimum":
        return f"{inst} harus lebih dari {value}"
    if v == "oneOf" and error.context:
        return _message(best_match(error.context))
    return error.message


def _extra_keys(error: ValidationError) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    return [k for k in error.instance if k not in allowed]


def validate(doc: SourceDoc) -> Iterator[Finding]:
    """Every schema violation in ``doc``."""
    for error in _validator().iter_errors(doc.data):
        path = tuple(error.absolute_path)
        where = f" ({error.json_path})"
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(error.schema.get("properties", {}))
            for key in _extra_keys(error):
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                suggestion = f"; maksud Anda '{hint[0]}'?" if hint else (
                    f"; kunci yang dikenal: {', '.join(allowed)}")
                yield doc.error(path + (key,), "schema",
                                f"kunci '{key}' tidak dikenal{suggestion}{where}", key=True)
            continue
        if "propertyNames" in error.schema_path:
            # a badly named key: point at the key itself
            yield doc.error(path + (error.instance,), "schema",
                            f"nama {_message(error)}{where}", key=True)
            continue
        yield doc.error(path, "schema", f"{_message(error)}{where}")
