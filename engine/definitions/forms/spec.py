"""A form's JSON Schema read as what people fill in: sections, rows and fields.

The schema stays the source of truth (it is what validation runs on); a `FormSpec` is
the view of it every consumer shares - validation messages, ownership, spreadsheets,
documents, roll-up - so that none of them walks the schema on its own. The shape it
expects is described in docs/form-format.md: the top level holds sections; a section
is fields of the document, one row per region (``x-per``), or repeating rows; rows and
sections hold leaf fields only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

# Section kinds
FIELDS = "fields"   # {"field": value, ...}
PER_REGION = "per_region"  # {"<region code>": {"field": value, ...}, ...}
ROWS = "rows"       # [{"field": value, ...}, ...]

DEFAULT_ACCEPT = ("application/pdf", "image/jpeg", "image/png")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    schema: Mapping[str, Any]
    unit: str | None  # the responsible unit, inherited from row, section or document
    required: bool

    @property
    def kind(self) -> str:
        """count, integer, number, percent, rupiah, year, text, longtext, date, url, yes-no,
        enum, multi, file, or any."""
        s = self.schema
        if s.get("x-kind") in ("rupiah", "year", "longtext", "file"):
            return s["x-kind"]
        kind = s.get("type")
        if kind == "array":
            return "multi"
        if "enum" in s:
            return "enum"
        if kind == "integer":
            return "count" if s.get("minimum") == 0 else "integer"
        if kind == "number":
            return "percent" if s.get("maximum") == 100 and s.get("minimum") == 0 else "number"
        if kind == "boolean":
            return "yes-no"
        if kind == "string":
            return {"date": "date", "uri": "url"}.get(s.get("format"), "text")
        return "any"

    @property
    def numeric(self) -> bool:
        return self.kind in ("count", "integer", "number", "percent", "rupiah", "year")

    @property
    def code(self) -> str | None:
        return self.schema.get("x-code")

    @property
    def group(self) -> str | None:
        return self.schema.get("x-group")

    @property
    def computed(self) -> bool:
        return bool(self.schema.get("readOnly"))

    @property
    def ref(self) -> str | None:
        return self.schema.get("x-ref")

    def choices(self) -> list[tuple[str, str]]:
        """(value, label) of an enum or multi field."""
        values = (self.schema.get("items", {}) if self.kind == "multi" else self.schema).get("enum", [])
        labels = self.schema.get("x-labels") or {}
        return [(v, labels.get(v, str(v))) for v in values]

    def label_of(self, value: Any) -> str:
        return (self.schema.get("x-labels") or {}).get(value, str(value))

    @property
    def accept(self) -> tuple[str, ...]:
        return tuple(self.schema.get("x-accept", DEFAULT_ACCEPT))

    @property
    def max_bytes(self) -> int:
        return int(self.schema.get("x-max-bytes", DEFAULT_MAX_BYTES))


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    kind: str  # FIELDS, PER_REGION or ROWS
    per: str | None  # "desa" or "child" for PER_REGION
    fields: tuple[Field, ...]
    schema: Mapping[str, Any]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def units(self) -> set[str]:
        return {f.unit for f in self.fields if f.unit}


@dataclass(frozen=True)
class FormSpec:
    id: str
    title: str
    description: str
    sections: tuple[Section, ...]
    schema: Mapping[str, Any]

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def fields(self) -> Iterator[tuple[Section, Field]]:
        for section in self.sections:
            for f in section.fields:
                yield section, f

    def find(self, path: str) -> tuple[Section, Field] | None:
        """``section.field`` -> its section and field."""
        name, _, field = path.partition(".")
        section = self.section(name)
        found = section.field(field) if section else None
        return (section, found) if found else None

    @property
    def units(self) -> set[str]:
        return {f.unit for _, f in self.fields() if f.unit}


def _row_schema(section: Mapping[str, Any]) -> tuple[str, str | None, Mapping[str, Any]]:
    if section.get("type") == "array":
        return ROWS, None, section.get("items", {})
    if "x-per" in section:
        return PER_REGION, section["x-per"], section.get("additionalProperties", {})
    return FIELDS, None, section


def build(form_id: str, schema: Mapping[str, Any]) -> FormSpec:
    """The spec of a schema that has the documented shape; parts of other shapes are
    left out (the form checker reports them)."""
    doc_unit = schema.get("x-unit")
    sections = []
    for name, sec in (schema.get("properties") or {}).items():
        if not isinstance(sec, Mapping):
            continue
        kind, per, row = _row_schema(sec)
        if not isinstance(row, Mapping):
            continue
        unit = row.get("x-unit") or sec.get("x-unit") or doc_unit
        required = set(row.get("required", ()))
        fields = tuple(
            Field(fname, fs.get("title", fname), fs, fs.get("x-unit") or unit, fname in required)
            for fname, fs in (row.get("properties") or {}).items() if isinstance(fs, Mapping))
        sections.append(Section(name, sec.get("title", name), kind, per, fields, sec))
    return FormSpec(form_id, schema.get("title", form_id), schema.get("description", ""),
                    tuple(sections), schema)


@functools.lru_cache(maxsize=256)
def spec_of(definition: Any, form_id: str) -> FormSpec:
    """The spec of one of ``definition``'s forms (cached: definitions never change, and
    equal definitions hash alike)."""
    return build(form_id, definition.forms[form_id])


def plain(value: Any) -> Any:
    """A frozen schema (mapping proxies, tuples) as plain JSON data."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
