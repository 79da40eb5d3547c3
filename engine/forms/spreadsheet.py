"""Spreadsheets of a form: an .xlsx template to fill offline, read back (or a CSV) as a patch.

Kecamatan with poor connections fill their data in Excel. `template` writes one workbook
for one region, stage, form and unit; `read` turns a filled one back into the patch `save`
takes (``{section: ...}``, the document shape of docs/form-format.md), or refuses it whole.

The workbook:

- a visible sheet "Petunjuk" (what the template is for, how to fill it; never read);
- one sheet per section with fields the unit owns (every section when the unit is None);
  computed fields and file fields (uploaded in the web, not typed) are left out:

  - one row per region (``x-per``): column A the region code, B its name (both locked),
    then one column per field; row 1 the field's group (``x-group``), row 2 its title, row
    3 its ``x-code`` and what to type; data from row 4, one row per region of ``rows``;
  - repeating rows: column A the row number (locked; ``row:`` references use it), then
    the fields, headed the same way; `EMPTY_ROWS` rows to fill (more when the document
    already has many);
  - fields of the document: column A the label, B the value, C what to type;

  each sheet is protected with only the value cells unlocked (no password: it guards
  against slips, not people). Counts take whole numbers >= 0, numbers decimals (within the
  schema's bounds), dates date cells, enum and yes-no fields a list of their labels;
  a multi field takes labels separated by ";".
- a hidden sheet ``_pilihan`` with the labels the list validations refer to, and a
  "veryHidden" sheet ``_aksi`` that identifies the template: region, year, stage, form,
  unit and the definition's ``content_hash``. A template is only read back for exactly
  those (`read` refuses another region's, stage's, form's, unit's or definition version's
  by name).

Reading, all or nothing: every problem of the file is collected - unknown, missing or
repeated columns and region codes, a value that is not of its field's kind, a label that
is not one of the choices - each naming the sheet, row, column letter and field label
("Lembar 'Data per desa-kelurahan', baris 7, kolom D («Jumlah Ibu Hamil»): harus bilangan
bulat ≥ 0, bukan 'abc'"), and `InvalidForm` raised with them all; nothing is returned
then. Empty cells are absent from the patch (they never clear a stored value). Labels of
enum fields map back to their ids (the id itself is accepted too). Numbers typed as text
are read the Indonesian way as well ("1.200" in a whole-number field is 1200, "2,5" is 2.5);
dates as TTTT-BB-HH or HH-BB-TTTT / HH/BB/TTTT. A repeating-rows sheet must have no empty
row between filled ones (row numbers are what references point at); an empty sheet of rows
leaves the stored rows as they are.

CSV (a file whose name ends in .csv) holds one per-region or repeating-rows section:
row 1 the column headers - each a field's title or its name (``jumlah_ibu_hamil``), and
for a per-region section a first column ``Kode`` (a ``Nama`` column is ignored) - then one
line per region or row. The section is the one named by ``expect["section"]``, else the
one the headers match best. Separator ``,``, ``;`` or tab; UTF-8 (Windows-1252 accepted).
A CSV may hold some of the section's columns and, per region, some of the regions: what is
not there is not touched. It carries no identification, so only the values are checked.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from ..errors import InvalidForm
from ..regions import TIER_NAMES, is_within, tier_of
from ..definitions.forms.spec import FIELDS, PER_REGION, ROWS, Field, FormSpec, Section, spec_of

FORMAT = 1
META_SHEET = "_aksi"
LISTS_SHEET = "_pilihan"
GUIDE_SHEET = "Petunjuk"
GROUP_ROW, TITLE_ROW, CODE_ROW, FIRST_ROW = 1, 2, 3, 4  # region and rows sheets
EMPTY_ROWS = 50
MAX_ROWS = 10_000  # data rows read from one sheet; more is refused
MAX_NUMBER = 10**15
YES, NO = "Ya", "Tidak"
CODE_HEADER, NAME_HEADER, NUMBER_HEADER = "Kode", "Nama", "No."
LABEL_HEADER, VALUE_HEADER, HINT_HEADER = "Isian", "Nilai", "Keterangan"
_SKIPPED_KINDS = ("file",)
_ROW_KINDS = {"desa": "desa/kelurahan", "kelurahan": "kelurahan", "child": "wilayah bawahan"}


# -- the layout: which sheets and columns a form has for a unit ------------------------------

@dataclass(frozen=True)
class Column:
    field: Field
    header: str  # the title shown (unique in its sheet)
    index: int  # 1-based column number


@dataclass(frozen=True)
class Sheet:
    section: Section
    title: str
    columns: tuple[Column, ...]

    @property
    def first_column(self) -> int:
        return {PER_REGION: 3, ROWS: 2}.get(self.section.kind, 0)


def _sheet_title(title: str, taken: set[str]) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", "-", title).strip(" '") or "Lembar"
    if len(clean) > 31:
        cut = clean[:31]
        clean = cut.rsplit(" ", 1)[0] if " " in cut[10:] else cut
    out, n = clean, 2
    while out.lower() in taken or out.lower() in (META_SHEET, LISTS_SHEET, GUIDE_SHEET.lower()):
        suffix = f" {n}"
        out, n = clean[:31 - len(suffix)] + suffix, n + 1
    taken.add(out.lower())
    return out


def entered(f: Field, unit: str | None) -> bool:
    """Whether ``f`` is typed into a template of ``unit`` (None: of every unit)."""
    return not f.computed and f.kind not in _SKIPPED_KINDS and (unit is None or f.unit == unit)


def by_unit(spec: FormSpec, patch: Mapping[str, Any]) -> dict[str | None, dict]:
    """Each unit's share of a patch read from a template of every unit: the fields it owns
    (``x-unit``; None for fields of no unit), a repeating-rows section whole to the unit of
    its fields. For `entry.save_parts`, which saves the shares in one go."""
    out: dict[str | None, dict] = {}
    for name, value in patch.items():
        section = spec.section(name)
        if section is None:
            out.setdefault(None, {})[name] = value  # unknown: the save names it
            continue
        unit_of = {f.name: f.unit for f in section.fields}
        if section.kind == PER_REGION and isinstance(value, Mapping):
            for code, row in value.items():
                if not isinstance(row, Mapping):
                    out.setdefault(None, {}).setdefault(name, {})[code] = row
                    continue
                for field, v in row.items():
                    share = out.setdefault(unit_of.get(field), {}).setdefault(name, {})
                    share.setdefault(code, {})[field] = v
        elif section.kind == ROWS or not isinstance(value, Mapping):
            units = sorted(section.units)
            out.setdefault(units[0] if len(units) == 1 else None, {})[name] = value
        else:
            for field, v in value.items():
                out.setdefault(unit_of.get(field), {}).setdefault(name, {})[field] = v
    return out


def layout(spec: FormSpec, unit: str | None) -> list[Sheet]:
    """The data sheets of a template of ``unit``, in the form's order."""
    taken: set[str] = set()
    sheets = []
    for section in spec.sections:
        fields = [f for f in section.fields if entered(f, unit)]
        if not fields:
            continue
        first = {PER_REGION: 3, ROWS: 2}.get(section.kind, 0)
        titles = [f.title.strip() or f.name for f in fields]
        columns = []
        for i, (f, title) in enumerate(zip(fields, titles)):
            if titles.count(title) > 1 or title in (CODE_HEADER, NAME_HEADER, NUMBER_HEADER):
                title = f"{title} ({f.code or f.name})"
            columns.append(Column(f, title, first + i if first else i + 2))
        sheets.append(Sheet(section, _sheet_title(section.title, taken), tuple(columns)))
    return sheets


def column_letter(index: int) -> str:
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- what each kind of field takes ----------------------------------------------------------

def _bounds(schema: Mapping[str, Any]) -> str:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo = schema.get("exclusiveMinimum")
    if lo is not None and hi is not None:
        return f" {_num(lo)}–{_num(hi)}"
    if xlo is not None:
        return f" > {_num(xlo)}"
    if lo is not None:
        return f" ≥ {_num(lo)}"
    if hi is not None:
        return f" ≤ {_num(hi)}"
    return ""


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _whole(f: Field) -> bool:
    return f.schema.get("type") == "integer"


def wanted(f: Field) -> str:
    """What a cell of ``f`` takes, said to the person typing it."""
    kind = f.kind
    if kind == "year":
        return "tahun" + _bounds(f.schema)
    if kind == "rupiah":
        return "rupiah (bilangan bulat" + _bounds(f.schema) + ")"
    if f.numeric:
        return ("bilangan bulat" if _whole(f) else "angka") + _bounds(f.schema)
    if kind == "date":
        return "tanggal (TTTT-BB-HH)"
    if kind == "yes-no":
        return f"{YES} atau {NO}"
    if kind == "enum":
        return "salah satu pilihan pada daftar"
    if kind == "multi":
        return "pilihan, dipisah titik koma (;)" if f.choices() else "kode, dipisah titik koma (;)"
    if kind == "url":
        return "alamat web (https://…)"
    if f.ref in _ROW_KINDS:
        return f"kode {_ROW_KINDS[f.ref]}"
    if f.ref == "wilayah":
        return "kode wilayah"
    if f.ref == "stage":
        return "kode tahap"
    return "teks panjang" if kind == "longtext" else "teks"


def _hint(f: Field) -> str:
    return " · ".join(p for p in (f.code, wanted(f), "wajib" if f.required else "") if p)


# -- writing the template --------------------------------------------------------------------

def _shown_value(f: Field, value: Any) -> Any:
    """A stored value as the cell shows it."""
    if value is None:
        return None
    kind = f.kind
    if kind == "yes-no" and isinstance(value, bool):
        return YES if value else NO
    if kind == "enum":
        return f.label_of(value)
    if kind == "multi" and isinstance(value, list):
        return "; ".join(f.label_of(v) if f.choices() else str(v) for v in value)
    if kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def _region_label(code: str, name: str | None) -> str:
    kind = TIER_NAMES.get(tier_of(code), "Wilayah")
    if kind == "Desa/Kelurahan":
        kind = "Kelurahan" if code.rsplit(".", 1)[-1].startswith("1") else "Desa"
    if not name:
        return f"{kind} {code}"
    return f"{kind} {name.title() if name.isupper() else name} ({code})"


def template(definition: Any, form: str, *, region_code: str, region_name: str, year: int,
             stage: str, rows: Mapping[str, str], unit: str | None,
             data: Mapping[str, Any] | None = None) -> bytes:
    """The .xlsx template of ``form`` for one region, stage, year and unit (None: every
    unit), pre-filled with ``data`` (the current document) when given."""
    from openpyxl import Workbook

    spec = spec_of(definition, form)
    sheets = layout(spec, unit)
    if not sheets:
        raise InvalidForm(f"unit {unit} tidak mengisi apa pun di formulir {spec.title}",
                          problems=[], form=form, unit=unit)
    data = data or {}
    try:
        stage_name = definition.stage(stage).name
    except KeyError:
        stage_name = stage
    wb = Workbook()
    guide = wb.active
    guide.title = GUIDE_SHEET
    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    w = _Writer(lists, rows)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        value = data.get(sheet.section.name)
        if sheet.section.kind == PER_REGION:
            w.per_region(ws, sheet, value if isinstance(value, Mapping) else {})
        elif sheet.section.kind == ROWS:
            w.rows(ws, sheet, value if isinstance(value, list) else [])
        else:
            w.fields(ws, sheet, value if isinstance(value, Mapping) else {})
        _protect(ws)
    _guide(guide, spec, sheets, region_code=region_code, region_name=region_name, year=year,
           stage=stage, stage_name=stage_name, unit=unit, rows=rows)
    meta = wb.create_sheet(META_SHEET)
    for key, val in (("format", FORMAT), ("form", form), ("form_title", spec.title),
                     ("region", region_code), ("region_name", region_name), ("year", year),
                     ("stage", stage), ("stage_name", stage_name), ("unit", unit or ""),
                     ("level", getattr(definition, "level", "")),
                     ("content_hash", definition.content_hash)):
        meta.append([key, val])
    for sheet in sheets:
        meta.append(["sheet", sheet.title, sheet.section.name])
    meta.sheet_state = "veryHidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class _Writer:
    """Writes the data sheets; keeps the list sheet the validations point at."""

    def __init__(self, lists: Any, rows: Mapping[str, str]):
        from openpyxl.styles import Alignment, Font, PatternFill, Protection

        self.lists = lists
        self.region_rows = rows
        self.ranges: dict[tuple, str] = {}
        self.open = Protection(locked=False)
        self.fill = PatternFill("solid", fgColor="FFF8DC")
        self.head_fill = PatternFill("solid", fgColor="DDE7F0")
        self.bold = Font(bold=True)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.center = Alignment(horizontal="center", vertical="center", wrap_text=True)

    # validations
    def _list_range(self, labels: tuple[str, ...]) -> str:
        if labels not in self.ranges:
            col = column_letter(len(self.ranges) + 1)
            for i, label in enumerate(labels, start=1):
                self.lists[f"{col}{i}"] = _text(label)
            self.ranges[labels] = f"'{LISTS_SHEET}'!${col}$1:${col}${max(len(labels), 1)}"
        return self.ranges[labels]

    def validation(self, f: Field) -> Any:
        from openpyxl.worksheet.datavalidation import DataValidation

        kind, s = f.kind, f.schema
        args: dict[str, Any] = {}
        if f.numeric:
            lo, hi, xlo = s.get("minimum"), s.get("maximum"), s.get("exclusiveMinimum")
            args["type"] = "whole" if _whole(f) else "decimal"
            if lo is not None and hi is not None:
                args.update(operator="between", formula1=_num(lo), formula2=_num(hi))
            elif xlo is not None:
                args.update(operator="greaterThan", formula1=_num(xlo))
            elif lo is not None:
                args.update(operator="greaterThanOrEqual", formula1=_num(lo))
            elif hi is not None:
                args.update(operator="lessThanOrEqual", formula1=_num(hi))
            else:
                args.update(operator="between", formula1=str(-MAX_NUMBER), formula2=str(MAX_NUMBER))
        elif kind == "date":
            args.update(type="date", operator="between", formula1=str(_serial(dt.date(1900, 3, 1))),
                        formula2=str(_serial(dt.date(2200, 12, 31))))
        elif kind == "yes-no":
            args.update(type="list", formula1=f'"{YES},{NO}"')
        elif kind == "enum" and f.choices():
            args.update(type="list", formula1=self._list_range(tuple(l for _, l in f.choices())))
        elif f.ref in _ROW_KINDS and kind == "text" and self.region_rows:
            codes = tuple(c for c in self.region_rows
                          if f.ref != "kelurahan" or c.rsplit(".", 1)[-1].startswith("1"))
            if not codes:
                return None
            args.update(type="list", formula1=self._list_range(codes))
        elif kind in ("text", "longtext", "url") and s.get("maxLength"):
            args.update(type="textLength", operator="lessThanOrEqual",
                        formula1=str(s["maxLength"]))
        else:
            return None
        dv = DataValidation(allow_blank=True, showErrorMessage=True, showInputMessage=True,
                            errorTitle="Isian tidak sah", error=f"Harus {wanted(f)}."[:225],
                            promptTitle=(f.code or "Isian")[:32], prompt=f"{f.title}: {wanted(f)}"[:250],
                            **args)
        return dv

    def _header(self, ws: Any, sheet: Sheet, fixed: list[tuple[int, str, float]]) -> None:
        from openpyxl.utils import get_column_letter

        for index, label, width in fixed:
            cell = ws.cell(TITLE_ROW, index, label)
            cell.font, cell.fill, cell.alignment = self.bold, self.head_fill, self.center
            ws.column_dimensions[get_column_letter(index)].width = width
        runs: list[list] = []  # [group, first column, last column]
        for col in sheet.columns:
            if runs and runs[-1][0] == col.field.group and runs[-1][2] == col.index - 1:
                runs[-1][2] = col.index
            else:
                runs.append([col.field.group, col.index, col.index])
        for group, start, end in runs:
            if not group:
                continue
            cell = ws.cell(GROUP_ROW, start, _text(group))
            cell.font, cell.fill, cell.alignment = self.bold, self.head_fill, self.center
            if end > start:
                ws.merge_cells(start_row=GROUP_ROW, start_column=start, end_row=GROUP_ROW,
                               end_column=end)
        for col in sheet.columns:
            title = ws.cell(TITLE_ROW, col.index, _text(col.header))
            title.font, title.fill, title.alignment = self.bold, self.head_fill, self.center
            hint = ws.cell(CODE_ROW, col.index, _text(_hint(col.field)))
            hint.alignment = self.center
            ws.column_dimensions[get_column_letter(col.index)].width = (
                40 if col.field.kind == "longtext" else 18)
        ws.row_dimensions[TITLE_ROW].height = 90
        ws.row_dimensions[CODE_ROW].height = 30

    def _values(self, ws: Any, sheet: Sheet, first: int, count: int,
                rows: Iterable[Mapping[str, Any] | None]) -> None:
        from openpyxl.utils import get_column_letter

        last = first + count - 1
        for col in sheet.columns:
            dv = self.validation(col.field)
            if dv is not None:
                ws.add_data_validation(dv)
                letter = get_column_letter(col.index)
                dv.add(f"{letter}{first}:{letter}{max(last, first)}")
        for r, values in enumerate(rows, start=first):
            values = values if isinstance(values, Mapping) else {}
            for col in sheet.columns:
                cell = ws.cell(r, col.index)
                _put(cell, _shown_value(col.field, values.get(col.field.name)))
                cell.protection, cell.fill = self.open, self.fill
                if col.field.kind == "date":
                    cell.number_format = "yyyy-mm-dd"
                elif col.field.kind == "longtext":
                    cell.alignment = self.wrap

    def per_region(self, ws: Any, sheet: Sheet, data: Mapping[str, Any]) -> None:
        self._header(ws, sheet, [(1, CODE_HEADER, 16), (2, NAME_HEADER, 28)])
        for r, (code, name) in enumerate(self.region_rows.items(), start=FIRST_ROW):
            ws.cell(r, 1, code)
            ws.cell(r, 2, _text(name))
        self._values(ws, sheet, FIRST_ROW, len(self.region_rows),
                     [data.get(code) for code in self.region_rows])
        ws.freeze_panes = ws.cell(FIRST_ROW, 3)

    def rows(self, ws: Any, sheet: Sheet, data: list) -> None:
        self._header(ws, sheet, [(1, NUMBER_HEADER, 6)])
        count = max(EMPTY_ROWS, len(data) + EMPTY_ROWS // 5)
        for i in range(count):
            ws.cell(FIRST_ROW + i, 1, i + 1)
        self._values(ws, sheet, FIRST_ROW, count, list(data) + [None] * (count - len(data)))
        ws.freeze_panes = ws.cell(FIRST_ROW, 2)

    def fields(self, ws: Any, sheet: Sheet, data: Mapping[str, Any]) -> None:
        for index, label, width in ((1, LABEL_HEADER, 50), (2, VALUE_HEADER, 40),
                                    (3, HINT_HEADER, 36)):
            cell = ws.cell(1, index, label)
            cell.font, cell.fill = self.bold, self.head_fill
            ws.column_dimensions[column_letter(index)].width = width
        for col in sheet.columns:
            r = col.index
            ws.cell(r, 1, _text(col.header)).alignment = self.wrap
            ws.cell(r, 3, _text(_hint(col.field))).alignment = self.wrap
            cell = ws.cell(r, 2)
            _put(cell, _shown_value(col.field, data.get(col.field.name)))
            cell.protection, cell.fill, cell.alignment = self.open, self.fill, self.wrap
            if col.field.kind == "date":
                cell.number_format = "yyyy-mm-dd"
            dv = self.validation(col.field)
            if dv is not None:
                ws.add_data_validation(dv)
                dv.add(f"B{r}")
        ws.freeze_panes = "A2"


def _serial(day: dt.date) -> int:
    return (day - dt.date(1899, 12, 30)).days


def _text(value: Any) -> Any:
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _put(cell: Any, value: Any) -> None:
    cell.value = _text(value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # typed text, not a formula


def _protect(ws: Any) -> None:
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.formatCells = False


def _guide(ws: Any, spec: FormSpec, sheets: list[Sheet], *, region_code: str, region_name: str,
           year: int, stage: str, stage_name: str, unit: str | None,
           rows: Mapping[str, str]) -> None:
    from openpyxl.styles import Font

    lines = [
        (f"Templat isian: {spec.title}", True),
        (f"Wilayah: {_region_label(region_code, region_name)}", False),
        (f"Tahun: {year}", False),
        (f"Tahap: {stage_name} ({stage})", False),
        (f"Unit: {unit or 'semua unit'}", False),
        ("", False),
        ("Cara mengisi:", True),
        ("1. Isi sel berwarna kuning pada setiap lembar; sel lain terkunci.", False),
        ("2. Baris 3 setiap kolom menyebut kode isian dan apa yang diisikan. Pilihan dipilih "
         "dari daftar; beberapa pilihan dipisah titik koma (;).", False),
        ("3. Sel yang dibiarkan kosong tidak mengubah isian yang sudah tersimpan.", False),
        ("4. Pada lembar daftar, isi baris berurutan dari atas tanpa baris kosong di antaranya.",
         False),
        ("5. Unggah kembali berkas ini (jangan ganti nama lembar). Berkas diperiksa utuh: bila ada "
         "yang salah, tidak ada yang disimpan dan setiap kesalahan disebut lembar, baris dan "
         "kolomnya.", False),
        ("6. Templat ini hanya untuk wilayah, tahun, tahap dan unit di atas.", False),
        ("", False),
        ("Lembar:", True),
    ]
    lines += [(f"- {s.title}: {s.section.title}"
               + (f" ({len(rows)} baris wilayah)" if s.section.kind == PER_REGION else ""), False)
              for s in sheets]
    for i, (text, bold) in enumerate(lines, start=1):
        cell = ws.cell(i, 1, _text(text))
        if bold:
            cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 110


# -- reading values --------------------------------------------------------------------------

class _Bad(Exception):
    """A cell that does not hold what its field takes (the reason, in Bahasa Indonesia)."""


def _quoted(value: Any) -> str:
    if isinstance(value, bool):
        return f"'{'TRUE' if value else 'FALSE'}'"
    if isinstance(value, (dt.datetime, dt.date)):
        return f"tanggal {value.isoformat()[:10]}"
    if isinstance(value, dt.time):
        return f"jam {value.isoformat()}"
    if isinstance(value, (int, float)):
        return _num(value)
    text = str(value)
    return f"'{text[:60]}…'" if len(text) > 60 else f"'{text}'"


_INT = re.compile(r"[+-]?\d+")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
_GROUPED_DECIMAL = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d+")
_DECIMAL = re.compile(r"[+-]?\d*[.,]\d+|[+-]?\d+[.,]")


def _number_of_text(text: str, whole: bool) -> int | float | None:
    t = text.replace(" ", "").replace("\u00a0", "")
    if len(t) > 40:
        return None
    if _INT.fullmatch(t):
        return int(t)
    if whole and _GROUPED.fullmatch(t):
        return int(t.replace(".", ""))
    if _GROUPED_DECIMAL.fullmatch(t):
        return float(t.replace(".", "").replace(",", "."))
    if _DECIMAL.fullmatch(t):
        return float(t.replace(",", "."))
    return None


def _number(f: Field) -> Callable[[Any], int | float]:
    """The converter of a numeric field (its bounds and message worked out once)."""
    whole = _whole(f)
    takes = wanted(f)
    s = f.schema
    lo, hi = s.get("minimum"), s.get("maximum")
    xlo, xhi = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")

    def bad(value: Any) -> _Bad:
        return _Bad(f"harus {takes}, bukan {_quoted(value)}")

    def convert(value: Any) -> int | float:
        kind = type(value)
        if kind is int or kind is float:
            number = value
        elif kind is str:
            number = _number_of_text(value.strip(), whole)
            if number is None:
                raise bad(value)
        else:  # bool, dates, times
            raise bad(value)
        if number != number or abs(number) > MAX_NUMBER:  # NaN, inf, absurd
            raise _Bad(f"terlalu besar: {_quoted(value)}") if number == number else bad(value)
        if whole and type(number) is float:
            if not number.is_integer():
                raise bad(value)
            number = int(number)
        if ((lo is not None and number < lo) or (hi is not None and number > hi)
                or (xlo is not None and number <= xlo) or (xhi is not None and number >= xhi)):
            raise bad(value)
        return number
    return convert


_DAY_FIRST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_YEAR_FIRST = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(f: Field, value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        t = value.strip()
        try:
            if _YEAR_FIRST.match(t):
                return dt.datetime.fromisoformat(t).date().isoformat()
            found = _DAY_FIRST.fullmatch(t)
            if found:
                return dt.date(int(found[3]), int(found[2]), int(found[1])).isoformat()
        except ValueError:
            raise _Bad(f"bukan tanggal yang ada: {_quoted(value)}") from None
    raise _Bad(f"harus {wanted(f)}, bukan {_quoted(value)}")


_TRUE = {"ya", "y", "true", "benar", "1", "ada", "sudah"}
_FALSE = {"tidak", "t", "tdk", "false", "salah", "0", "tidak ada", "belum"}


def _yes_no(f: Field, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        t = " ".join(value.split()).lower()
        if t in _TRUE:
            return True
        if t in _FALSE:
            return False
    raise _Bad(f"harus {YES} atau {NO}, bukan {_quoted(value)}")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


@dataclass
class _Reader:
    """Turns cells into values: one converter per field, built once."""

    definition: Any
    spec: FormSpec
    region: str
    region_name: str | None
    rows: Mapping[str, str]
    unit: str | None

    def __post_init__(self) -> None:
        self.parent = _region_label(self.region, self.region_name)
        self._converters: dict[tuple[str, str], Callable[[Any], Any]] = {}
        names: dict[str, list[str]] = {}
        for code, name in self.rows.items():
            names.setdefault(_norm(str(name)), []).append(code)
        self._by_name = {k: v[0] for k, v in names.items() if len(v) == 1}
        try:
            stages = [(s.id, s.name) for s in self.definition.stages]
        except (AttributeError, TypeError):
            stages = []
        self._stages = {_norm(s): s for s, _ in stages} | {_norm(n): s for s, n in stages}

    def converter(self, section: Section, f: Field) -> Callable[[Any], Any]:
        key = (section.name, f.name)
        if key not in self._converters:
            self._converters[key] = self._build(f)
        return self._converters[key]

    def _build(self, f: Field) -> Callable[[Any], Any]:
        kind = f.kind
        if f.numeric:
            return _number(f)
        if kind == "date":
            return lambda v: _date(f, v)
        if kind == "yes-no":
            return lambda v: _yes_no(f, v)
        if kind == "enum":
            return self._choice(f)
        if kind == "multi":
            item = self._choice(f) if f.choices() else self._ref(f, f.ref)
            return lambda v: _multi(v, item)
        if f.ref:
            return self._ref(f, f.ref)
        return lambda v: self._text(f, v)

    def _choice(self, f: Field) -> Callable[[Any], Any]:
        known: dict[str, Any] = {}
        for value, label in f.choices():
            known.setdefault(_norm(str(label)), value)
        for value, _ in f.choices():
            known.setdefault(_norm(str(value)), value)
        labels = [label for _, label in f.choices()]
        shown = ", ".join(labels[:8]) + (", …" if len(labels) > 8 else "")

        def convert(v: Any) -> Any:
            found = known.get(_norm(_as_text(v)))
            if found is None:
                raise _Bad(f"bukan pilihan yang dikenal: {_quoted(v)} (pilihan: {shown})")
            return found
        return convert

    def _ref(self, f: Field, ref: str | None) -> Callable[[Any], Any]:
        if ref in _ROW_KINDS and self.rows:
            def region(v: Any) -> str:
                text = _as_text(v)
                code = text if text in self.rows else self._by_name.get(_norm(text))
                if code is None and " " in text and text.split(" ", 1)[0] in self.rows:
                    code = text.split(" ", 1)[0]
                if code is None or (ref == "kelurahan"
                                    and not code.rsplit(".", 1)[-1].startswith("1")):
                    raise _Bad(f"bukan {_ROW_KINDS[ref]} {self.parent}: {_quoted(v)}")
                return code
            return region
        if ref == "wilayah":
            def within(v: Any) -> str:
                text = _as_text(v)
                if not is_within(text, self.region):
                    raise _Bad(f"bukan kode wilayah di dalam {self.region}: {_quoted(v)}")
                return text
            return within
        if ref == "stage" and self._stages:
            def stage(v: Any) -> str:
                found = self._stages.get(_norm(_as_text(v)))
                if found is None:
                    raise _Bad(f"bukan tahap yang dikenal: {_quoted(v)}")
                return found
            return stage
        return lambda v: self._text(f, v)

    def _text(self, f: Field, v: Any) -> str:
        if isinstance(v, dt.time):
            raise _Bad(f"harus {wanted(f)}, bukan {_quoted(v)}")
        text = _as_text(v)
        limit = f.schema.get("maxLength")
        if limit is not None and len(text) > limit:
            raise _Bad(f"terlalu panjang: {len(text)} karakter, paling banyak {limit}")
        if f.kind == "url" and not re.match(r"https?://\S", text):
            raise _Bad(f"harus {wanted(f)}, bukan {_quoted(v)}")
        pattern = f.schema.get("pattern")
        if pattern and f.kind != "url":
            try:
                if not re.search(pattern, text):
                    raise _Bad(f"isinya tidak sesuai bentuk yang diminta: {_quoted(v)}")
            except re.error:
                pass
        return text


def _multi(value: Any, item: Callable[[Any], Any]) -> list:
    parts = [p.strip() for p in re.split(r"[;\n]", _as_text(value))]
    out: list = []
    bad: list[str] = []
    for p in parts:
        if not p:
            continue
        try:
            v = item(p)
        except _Bad as exc:
            bad.append(str(exc))
            continue
        if v not in out:
            out.append(v)
    if bad:
        raise _Bad("; ".join(bad))
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- reading the file ------------------------------------------------------------------------

class _Broken(Exception):
    """The file cannot be read at all."""


def _open_workbook(content: bytes) -> Any:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise _Broken("berkas bukan buku kerja Excel (.xlsx): simpan sebagai "
                              "\"Excel Workbook (.xlsx)\"")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError):
        raise _Broken("berkas bukan buku kerja Excel (.xlsx) yang dapat dibaca") from None
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML, openpyxl's own: all "not a readable workbook"
        raise _Broken(f"berkas bukan buku kerja Excel (.xlsx) yang dapat dibaca "
                      f"({type(exc).__name__})") from None


def _sheet_rows(ws: Any, limit: int) -> list[tuple]:
    """The rows of a read-only sheet as value tuples (trailing empty rows dropped)."""
    out: list[tuple] = []
    try:
        for row in ws.iter_rows(values_only=True):
            out.append(row)
            if len(out) > limit:
                break
    except Exception as exc:
        raise _Broken(f"lembar '{ws.title}' rusak dan tidak dapat dibaca ({type(exc).__name__})") from None
    while out and all(_blank(v) for v in out[-1]):
        out.pop()
    return out


def _cell(row: tuple, index: int) -> Any:
    return row[index - 1] if 0 < index <= len(row) else None


class _Problems:
    def __init__(self, where: str):
        self.where = where  # "Lembar 'X'" or "Berkas 'x.csv'"
        self.items: list[str] = []

    def at(self, message: str, *, row: int | None = None, column: int | None = None,
           label: str | None = None) -> None:
        place = self.where
        if row is not None:
            place += f", baris {row}"
        if column is not None:
            place += f", kolom {column_letter(column)}"
            if label:
                place += f" («{label}»)"
        self.items.append(f"{place}: {message}")


def _columns_by_header(header: tuple, sheet: Sheet, first: int, problems: _Problems,
                       unit: str | None, *, header_row: int, by_name: bool,
                       required: bool) -> dict[int, Column]:
    """Column number -> the field column its header names."""
    known: dict[str, Column] = {}
    for col in sheet.columns:
        known.setdefault(_norm(col.header), col)
        if by_name:
            known.setdefault(_norm(col.field.name), col)
            known.setdefault(_norm(col.field.title), col)
    found: dict[int, Column] = {}
    seen: dict[str, int] = {}
    for index in range(first, len(header) + 1):
        title = header[index - 1]
        if _blank(title):
            continue
        col = known.get(_norm(_as_text(title)))
        if col is None:
            problems.at(_unknown_column(_as_text(title), sheet.section, unit), row=header_row,
                        column=index)
            continue
        if col.field.name in seen:
            problems.at(f"kolom «{col.header}» sudah ada di kolom "
                        f"{column_letter(seen[col.field.name])}", row=header_row, column=index)
            continue
        seen[col.field.name] = index
        found[index] = col
    if required:
        for col in sheet.columns:
            if col.field.name not in seen:
                problems.at(f"kolom «{col.header}» tidak ada (judul kolom baris {header_row} "
                            "tidak boleh diubah)")
    return found


def _unknown_column(title: str, section: Section, unit: str | None) -> str:
    other = next((f for f in section.fields if _norm(f.title) == _norm(title)
                  or _norm(f.name) == _norm(title)), None)
    if other is not None and other.computed:
        return f"kolom «{other.title}» dihitung otomatis dan tidak dapat diisi"
    if other is not None and unit is not None and other.unit != unit:
        return f"kolom «{other.title}» milik unit {other.unit or 'lain'}, bukan unit {unit}"
    if other is not None:
        return f"kolom «{other.title}» tidak dapat diisi lewat lembar kerja"
    return f"judul kolom {_quoted(title)} tidak dikenal"


def _parse_row(row: tuple, columns: Mapping[int, Column], section: Section, reader: _Reader,
               problems: _Problems, number: int) -> dict:
    out = {}
    for index, col in columns.items():
        value = _cell(row, index)
        if _blank(value):
            continue
        try:
            converted = reader.converter(section, col.field)(value)
        except _Bad as exc:
            problems.at(str(exc), row=number, column=index, label=col.field.title)
            continue
        if converted == [] or converted == "":
            continue
        out[col.field.name] = converted
    return out


def _stray(row: tuple, header: tuple, first: int, problems: _Problems, number: int) -> None:
    """A value in a column that has no header (one problem per row)."""
    for index in range(first, len(row) + 1):
        if _blank(_cell(header, index)) and not _blank(row[index - 1]):
            problems.at(f"kolom tanpa judul berisi {_quoted(row[index - 1])}", row=number,
                        column=index)
            return


def _read_region_rows(rows: list[tuple], header: tuple, data_from: int,
                      columns: Mapping[int, Column], sheet: Sheet, reader: _Reader,
                      problems: _Problems, *, stray_from: int, all_regions: bool,
                      code_column: int = 1) -> dict:
    section = sheet.section
    out: dict[str, dict] = {}
    seen: dict[str, int] = {}
    kind = _ROW_KINDS.get(section.per or "", "wilayah")
    for number, row in enumerate(rows[data_from - 1:], start=data_from):
        raw = _cell(row, code_column)
        values_blank = all(_blank(_cell(row, i)) for i in columns)
        if _blank(raw):
            if not values_blank:
                problems.at("kode wilayah kosong padahal baris ini berisi nilai", row=number,
                            column=code_column)
            continue
        code = _as_text(raw)
        if code not in reader.rows:
            problems.at(f"kode {_quoted(code)} bukan {kind} {reader.parent}", row=number,
                        column=code_column)
            continue
        if code in seen:
            problems.at(f"kode {code} sudah ada di baris {seen[code]}", row=number,
                        column=code_column)
            continue
        seen[code] = number
        _stray(row, header, stray_from, problems, number)
        values = _parse_row(row, columns, section, reader, problems, number)
        if values:
            out[code] = values
    if all_regions:
        for code, name in reader.rows.items():
            if code not in seen:
                problems.at(f"baris {_region_label(code, name)} tidak ada (baris wilayah tidak "
                            "boleh dihapus)")
    return out


def _read_list_rows(rows: list[tuple], header: tuple, data_from: int,
                    columns: Mapping[int, Column], sheet: Sheet, reader: _Reader,
                    problems: _Problems, *, stray_from: int) -> list:
    items: list[dict] = []
    gap: int | None = None
    for number, row in enumerate(rows[data_from - 1:], start=data_from):
        if all(_blank(v) for i, v in enumerate(row, start=1) if i >= stray_from):
            gap = gap or number
            continue
        if gap is not None:
            problems.at("baris kosong di antara baris yang terisi (nomor baris dipakai sebagai "
                        "rujukan): isi, atau geser baris di bawahnya ke atas", row=gap)
            gap = None
        _stray(row, header, stray_from, problems, number)
        items.append(_parse_row(row, columns, sheet.section, reader, problems, number))
    return items if any(items) else []


def _read_fields(rows: list[tuple], sheet: Sheet, reader: _Reader, problems: _Problems) -> dict:
    by_label = {_norm(c.header): c for c in sheet.columns}
    out: dict[str, Any] = {}
    seen: dict[str, int] = {}
    header = rows[0] if rows else ()
    if _norm(_as_text(_cell(header, 1) or "")) != _norm(LABEL_HEADER):
        problems.at(f"judul kolom harus «{LABEL_HEADER}», bukan {_quoted(_cell(header, 1))}",
                    row=1, column=1)
    for number, row in enumerate(rows[1:], start=2):
        label = _cell(row, 1)
        if _blank(label):
            if any(not _blank(v) for v in row[1:2]):
                problems.at("nilai tanpa label isian di kolom A", row=number, column=2)
            continue
        col = by_label.get(_norm(_as_text(label)))
        if col is None:
            problems.at(_unknown_column(_as_text(label), sheet.section, reader.unit),
                        row=number, column=1)
            continue
        if col.field.name in seen:
            problems.at(f"isian «{col.header}» sudah ada di baris {seen[col.field.name]}",
                        row=number, column=1)
            continue
        seen[col.field.name] = number
        value = _cell(row, 2)
        if _blank(value):
            continue
        try:
            converted = reader.converter(sheet.section, col.field)(value)
        except _Bad as exc:
            problems.at(str(exc), row=number, column=2, label=col.field.title)
            continue
        if converted not in ([], ""):
            out[col.field.name] = converted
    for col in sheet.columns:
        if col.field.name not in seen:
            problems.at(f"isian «{col.header}» tidak ada (label kolom A tidak boleh diubah)")
    return out


def _refuse(filename: str, problems: list[str]) -> None:
    raise InvalidForm(f"berkas '{filename}' tidak diimpor ({len(problems)} masalah); tidak ada "
                      "yang disimpan", problems=problems)


def _identity(meta: Mapping[str, Any], expect: Mapping[str, Any], definition: Any,
              form: str, spec: FormSpec) -> list[str]:
    problems = []
    if str(meta.get("format")) != str(FORMAT):
        problems.append(f"templat ini berformat {meta.get('format')!s}, bukan {FORMAT}: unduh "
                        "templat baru")
    wanted_form = expect.get("form", form)
    if meta.get("form") != wanted_form:
        problems.append(f"templat ini untuk formulir '{meta.get('form_title') or meta.get('form')}' "
                        f"({meta.get('form')}), bukan '{spec.title}' ({wanted_form})")
    region = expect.get("region")
    if region is not None and meta.get("region") != region:
        problems.append(f"templat ini untuk {_region_label(str(meta.get('region')), meta.get('region_name'))}, "
                        f"bukan {_region_label(region, expect.get('region_name'))}")
    year = expect.get("year")
    if year is not None and str(meta.get("year")) != str(year):
        problems.append(f"templat ini untuk tahun {meta.get('year')}, bukan {year}")
    stage = expect.get("stage")
    if stage is not None and meta.get("stage") != stage:
        try:
            name = definition.stage(stage).name
        except (KeyError, AttributeError):
            name = stage
        problems.append(f"templat ini untuk tahap '{meta.get('stage_name') or meta.get('stage')}' "
                        f"({meta.get('stage')}), bukan '{name}' ({stage})")
    if "unit" in expect and (meta.get("unit") or None) != (expect["unit"] or None):
        have = f"unit {meta['unit']}" if meta.get("unit") else "semua unit"
        want = f"unit {expect['unit']}" if expect["unit"] else "semua unit"
        problems.append(f"templat ini untuk {have}, bukan {want}")
    content_hash = expect.get("content_hash", definition.content_hash)
    if meta.get("content_hash") != content_hash:
        problems.append(f"templat ini dibuat dari versi definisi lain "
                        f"({str(meta.get('content_hash'))[:12]}), bukan versi yang dipakai tahap ini "
                        f"({str(content_hash)[:12]}): unduh templat baru")
    return problems


def read(definition: Any, form: str, content: bytes, *, filename: str,
         expect: Mapping[str, Any]) -> dict:
    """The patch ``{section: ...}`` a filled template (or a CSV, by ``filename``) holds.

    ``expect`` says what it must be for: ``region``, ``year``, ``stage``, ``unit`` (None:
    every unit), ``content_hash`` (default the definition's), ``form`` (default ``form``),
    ``rows`` (code -> name of the regions of a per-region section), and optionally
    ``region_name`` (for messages) and, for a CSV, ``section``.
    Raises `InvalidForm` listing every problem; returns nothing partial.
    """
    spec = spec_of(definition, form)
    unit = expect.get("unit")
    reader = _Reader(definition, spec, str(expect.get("region") or ""), expect.get("region_name"),
                     dict(expect.get("rows") or {}), unit)
    if filename.lower().endswith(".csv"):
        return _read_csv(spec, content, filename, expect, reader, unit)
    try:
        with warnings.catch_warnings():  # openpyxl warns of what it cannot read; we refuse it
            warnings.simplefilter("ignore", UserWarning)
            wb = _open_workbook(content)
            try:
                return _read_xlsx(wb, definition, spec, form, filename, expect, reader, unit)
            finally:
                wb.close()
    except _Broken as exc:
        raise InvalidForm(f"berkas '{filename}' tidak diimpor: {exc}", problems=[str(exc)]) from None


def _meta_of(wb: Any) -> dict[str, Any] | None:
    if META_SHEET not in wb.sheetnames:
        return None
    meta: dict[str, Any] = {}
    for row in _sheet_rows(wb[META_SHEET], 500):
        if row and isinstance(row[0], str) and row[0] != "sheet" and len(row) > 1:
            meta.setdefault(row[0], row[1] if row[1] is not None else "")
    return meta


def _read_xlsx(wb: Any, definition: Any, spec: FormSpec, form: str, filename: str,
               expect: Mapping[str, Any], reader: _Reader, unit: str | None) -> dict:
    meta = _meta_of(wb)
    if meta is None:
        message = ("berkas ini bukan templat aksi (lembar identitas tidak ada): unduh templat "
                   "dengan `aksi form template`, atau impor berkas CSV")
        raise InvalidForm(message, problems=[message])
    mismatch = _identity(meta, expect, definition, form, spec)
    if mismatch:
        raise InvalidForm("; ".join(mismatch), problems=mismatch)
    patch: dict[str, Any] = {}
    problems: list[str] = []
    names = {name.lower(): name for name in wb.sheetnames}
    for sheet in layout(spec, unit):
        found = names.get(sheet.title.lower())
        if found is None:
            problems.append(f"lembar '{sheet.title}' ({sheet.section.title}) tidak ada: nama "
                            "lembar tidak boleh diubah")
            continue
        where = _Problems(f"Lembar '{sheet.title}'")
        rows = _sheet_rows(wb[found], MAX_ROWS + FIRST_ROW)
        if len(rows) > MAX_ROWS + FIRST_ROW - 1:
            where.at(f"terlalu banyak baris (lebih dari {MAX_ROWS})")
            problems += where.items
            continue
        value = _read_sheet(rows, sheet, reader, where, unit)
        problems += where.items
        if value:
            patch[sheet.section.name] = value
    if problems:
        _refuse(filename, problems)
    return patch


def _read_sheet(rows: list[tuple], sheet: Sheet, reader: _Reader, where: _Problems,
                unit: str | None) -> Any:
    kind = sheet.section.kind
    if kind == FIELDS:
        return _read_fields(rows, sheet, reader, where)
    header = rows[TITLE_ROW - 1] if len(rows) >= TITLE_ROW else ()
    fixed = [CODE_HEADER, NAME_HEADER] if kind == PER_REGION else [NUMBER_HEADER]
    for index, label in enumerate(fixed, start=1):
        if _norm(_as_text(_cell(header, index) or "")) != _norm(label):
            where.at(f"judul kolom harus «{label}», bukan {_quoted(_cell(header, index))}",
                     row=TITLE_ROW, column=index)
    columns = _columns_by_header(header, sheet, sheet.first_column, where, unit,
                                 header_row=TITLE_ROW, by_name=False, required=True)
    if kind == PER_REGION:
        return _read_region_rows(rows, header, FIRST_ROW, columns, sheet, reader, where,
                                 stray_from=sheet.first_column, all_regions=True)
    return _read_list_rows(rows, header, FIRST_ROW, columns, sheet, reader, where,
                           stray_from=sheet.first_column)


# -- CSV -------------------------------------------------------------------------------------

def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _csv_rows(text: str) -> list[tuple]:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:
        rows = [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise _Broken(f"berkas CSV tidak dapat dibaca: {exc}") from None
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()
    return rows


def _read_csv(spec: FormSpec, content: bytes, filename: str, expect: Mapping[str, Any],
              reader: _Reader, unit: str | None) -> dict:
    where = _Problems(f"Berkas '{filename}'")
    try:
        rows = _csv_rows(_decode(content).replace("\x00", ""))
    except _Broken as exc:
        raise InvalidForm(f"berkas '{filename}' tidak diimpor: {exc}", problems=[str(exc)]) from None
    if not rows:
        message = f"berkas '{filename}' kosong"
        raise InvalidForm(message, problems=[message])
    if len(rows) > MAX_ROWS + 1:
        message = f"berkas '{filename}' terlalu banyak baris (lebih dari {MAX_ROWS})"
        raise InvalidForm(message, problems=[message])
    header = rows[0]
    first = _norm(_as_text(_cell(header, 1) or ""))
    has_code = first in ("kode", "kode wilayah", "kode desa", "kode_wilayah")
    candidates = [s for s in layout(spec, unit) if s.section.kind in (PER_REGION, ROWS)]
    wanted_section = expect.get("section")
    if wanted_section:
        chosen = next((s for s in candidates if s.section.name == wanted_section), None)
        if chosen is None:
            names = ", ".join(s.section.name for s in candidates) or "-"
            message = (f"bagian '{wanted_section}' tidak dapat diimpor dari CSV"
                       f"{' untuk unit ' + unit if unit else ''} (yang dapat: {names})")
            raise InvalidForm(message, problems=[message])
    else:
        chosen = _best_section(candidates, header, has_code)
        if chosen is None:
            names = ", ".join(f"{s.section.name} ({s.section.title})" for s in candidates) or "-"
            message = ("judul kolom berkas CSV tidak cocok dengan bagian formulir mana pun "
                       f"(bagian: {names})")
            raise InvalidForm(message, problems=[message])
    if chosen.section.kind == PER_REGION and not has_code:
        where.at(f"kolom pertama harus «{CODE_HEADER}» (kode wilayah), bukan "
                 f"{_quoted(_cell(header, 1))}", row=1, column=1)
        _refuse(filename, where.items)
    skip = 1 if has_code else 0
    if has_code and _norm(_as_text(_cell(header, 2) or "")) in ("nama", "nama desa", "nama wilayah"):
        skip = 2
    columns = _columns_by_header(header, chosen, skip + 1, where, unit, header_row=1,
                                 by_name=True, required=False)
    if chosen.section.kind == PER_REGION:
        value: Any = _read_region_rows(rows, header, 2, columns, chosen, reader, where,
                                       stray_from=skip + 1, all_regions=False)
    else:
        value = _read_list_rows(rows, header, 2, columns, chosen, reader, where,
                                stray_from=skip + 1)
    if where.items:
        _refuse(filename, where.items)
    return {chosen.section.name: value} if value else {}


def _best_section(candidates: list[Sheet], header: tuple, has_code: bool) -> Sheet | None:
    titles = {_norm(_as_text(h)) for h in header if not _blank(h)}
    best, score = None, 0
    for sheet in candidates:
        if (sheet.section.kind == PER_REGION) != has_code:
            continue
        names = set()
        for col in sheet.columns:
            names |= {_norm(col.header), _norm(col.field.title), _norm(col.field.name)}
        hits = len(titles & names)
        if hits > score:
            best, score = sheet, hits
    return best


__all__ = ["Column", "FORMAT", "META_SHEET", "Sheet", "column_letter", "entered", "layout",
           "read", "template", "wanted"]
