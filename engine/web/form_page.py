"""The stage's documents as a page: sections, rows and cells built from the JSON Schema,
with each cell's value, owner, last year's value and problems.

`form_page` gives the stage page's ``tasks/_form.html`` its context; it returns None when
the stage has no documents. The templates (``forms/macros.html``) only lay it out.

Decisions:

- Every value is addressed by its *cell key* ``FORM/SECTION/ROW/FIELD`` (ROW: the region
  code of a per-region row, the 1-based number of a repeating row, ``-`` in a section of
  plain fields): the input's name, the table cell's ``data-cell``, and where the cell's
  problems go (``data-problems-for``). `engine.web.form_entry` reads the posted keys back.
- Who may write which cell is judged as `engine.forms.entry.save` judges it (`entry_unit`):
  the roles of the data-entry triggers, the stage (and the unit's part) in a state those
  triggers start from, in a stage with parts only the unit's own fields, never a computed
  one. Everything else is shown read-only.
- The page shows the problems of a draft (wrong types, broken rules, regions, jumps from
  last year), not every empty required cell: an open stage would drown in "belum diisi".
  How much is filled is told per unit instead; the full submission check is shown after
  a refused "Simpan & kirim".
- Markup per cell is kept small (the largest kecamatan has 108 desa x 60 fields): labels
  come from the headers (``aria-labelledby``), ids and descriptions only where a cell has
  problems, last year's value only where there is one. Every input of a table per region
  carries ``aria-labelledby="COLUMN ROW"`` from the server (a screen reader names field
  and desa without JavaScript). Column first: the attribute then extends the run the
  compressor already matches from the row above (the field's name) and only the row id
  breaks it - ~6 KB compressed on the largest page where "ROW COLUMN" costs ~15 KB
  (measured). The form's rules for the browser are fetched from a cached URL
  (`engine.web.client_rules`), not inlined, which pays for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from dataclasses import dataclass, field as dc_field
from typing import Any, Mapping

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import g, has_request_context, render_template
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from ..forms.entry import (context_for, entry_triggers, last_year, part_start_state,
                           stage_documents, stage_problems, write_access)
from ..forms.files import _size, short_name
from ..forms.parts import Part, PartState
from ..forms.stamp import data_stamp
from ..definitions.forms.spec import FIELDS, PER_REGION, ROWS, Field, FormSpec, Section, spec_of
from ..forms.validate import DRAFT, FormContext, Problem
from ..people import Actor, acting_roles
from ..runtime.stage_forms import completeness
from ..store.library import pinned
from .fragments import Fragment
from .page_cache import page_cache

from .client_rules import page_rules

NO_ROW = "-"
SUMMARY_LIMIT = 100  # problems linked from the summary; the rest are counted
TOTALLED = ("count", "integer", "number", "rupiah")  # summed per column (not percent, year)
YES, NO = "ya", "tidak"
NUMERIC = ("count", "integer", "number", "percent", "rupiah", "year")


def cell_key(form: str, section: str, row: Any, field: str) -> str:
    return f"{form}/{section}/{row}/{field}"


# -- who may write -----------------------------------------------------------------------------

def entry_unit(task: Any, definition: Any, actor: Actor,
               parts: Mapping[str, Part | PartState]) -> str | None:
    """The part ``actor`` may write now (``WHOLE`` in a stage without parts); None when
    they may write nothing (`engine.forms.entry.write_access`)."""
    return write_access(definition, task, actor, parts).part


def may_write(stage: Any, unit: str | None, f: Field) -> bool:
    """May the holder of ``unit`` (from `entry_unit`) write field ``f``?"""
    return unit is not None and not f.computed and (not stage.parts or f.unit == unit)


def submit_trigger(definition: Any, task: Any, actor: Actor) -> Any | None:
    """The data-entry trigger ("Kirim untuk verifikasi") ``actor`` may fire here, if any."""
    return next((t for t in entry_triggers(definition, task.stage)
                 if acting_roles(actor, t.by, task.level, task.region_code)), None)


# -- values as people read and type them -------------------------------------------------------

def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_text(value: int | float) -> str:
    """1234567 -> "1.234.567", 12.5 -> "12,5" (every digit kept: what is shown is saved)."""
    if isinstance(value, int):  # Babel's answer for "id", ~50x faster (6500 cells a page)
        return f"{value:,}".replace(",", ".")
    return format_decimal(value, locale="id", decimal_quantization=False)


def shown(f: Field, value: Any, kind: str | None = None,
          labels: Mapping[str, str] | None = None) -> str:
    """A value as read-only text (``kind``: ``f.kind``, when the caller knows it;
    ``labels``: the names of the codes a reference field holds)."""
    if value is None or value == "" or value == []:
        return ""
    kind = kind or f.kind
    if labels:
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in values)
    if kind == "file" and isinstance(value, Mapping):
        size = value.get("ukuran")
        bits = [short_name(str(value.get("jenis")))] if value.get("jenis") else []
        if is_number(size):
            bits.append(_size(int(size)))
        return str(value.get("nama") or "berkas") + (f" ({', '.join(bits)})" if bits else "")
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    if kind == "multi" and isinstance(value, list):
        return ", ".join(f.label_of(v) for v in value)
    if kind == "enum":
        return f.label_of(value)
    if kind == "date" and isinstance(value, str):
        try:
            return format_date(dt.date.fromisoformat(value), "d MMMM y", locale="id")
        except ValueError:
            return value
    if is_number(value):
        return str(value) if kind == "year" else number_text(value)
    return str(value)


def entered(f: Field, value: Any, kind: str | None = None) -> Any:
    """A value as its input holds it: text, or for a multi field the chosen values."""
    kind = kind or f.kind
    if value is None:
        return [] if kind == "multi" and f.choices() else ""
    if kind == "multi":
        chosen = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return chosen if f.choices() else ", ".join(chosen)  # typed as a list of codes
    if kind == "file":
        return str(value.get("sha256") or "") if isinstance(value, Mapping) else ""
    if isinstance(value, bool):
        return YES if value else NO
    if is_number(value):
        return str(value) if kind == "year" else number_text(value)
    return str(value)


# -- the page's parts --------------------------------------------------------------------------

@dataclass
class Cell:
    key: str
    field: Field
    value: Any
    editable: bool
    last: str = ""  # last year's approved value, as text ("" when there is none)
    problems: list[Problem] = dc_field(default_factory=list)
    kind: str = ""  # the field's kind (read once per column)
    head: str = ""  # the id of its column's header
    options: list[tuple[str, str]] | None = None  # the choices of a reference field

    @functools.cached_property
    def text(self) -> str:
        return shown(self.field, self.value, self.kind,
                     dict(self.options) if self.options else None)

    @functools.cached_property
    def entry(self) -> Any:
        return entered(self.field, self.value, self.kind)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def severity(self) -> str:
        if any(p.is_error for p in self.problems):
            return "error"
        return "warning" if self.problems else ""

    @property
    def jump(self) -> bool:
        return any(p.rule == "tahun-ke-tahun" for p in self.problems)


_YES_NO = {True: ('<option value="ya" selected>Ya</option>'
                  '<option value="tidak">Tidak</option>'),
           False: ('<option value="ya">Ya</option>'
                   '<option value="tidak" selected>Tidak</option>'),
           None: '<option value="ya">Ya</option><option value="tidak">Tidak</option>'}


def _text(f: Field, kind: str, value: Any, labels: Mapping[str, str] | None) -> str:
    """`shown`, with the common case (a whole number) first."""
    if value is None:
        return ""
    if type(value) is int and kind != "year" and not labels:
        return f"{value:,}".replace(",", ".")
    return shown(f, value, kind, labels)


class _Numbers(dict):
    """Whole numbers as text ("1.234"), each formatted once per page (a table per region
    repeats small numbers thousands of times)."""

    def __missing__(self, n: int) -> str:
        text = self[n] = f"{n:,}".replace(",", ".")
        return text


def _safe_text(f: Field, kind: str, value: Any, labels: Mapping[str, str] | None) -> str:
    """`_text`, escaped as markup (a whole number needs no escaping)."""
    if type(value) is int and kind != "year" and not labels:
        return f"{value:,}".replace(",", ".")
    return str(escape(_text(f, kind, value, labels)))


def plain_writer(f: Field, kind: str, editable: bool, prefix: str,
                 labels: Mapping[str, str] | None, numbers: _Numbers | None = None,
                 head: str = "") -> Any:
    """How a plain cell of a table per region is written: a function (row key, row header
    id and last year's text, all escaped; value) -> the cell's markup, or None when this
    column's cells need the template's full markup (``forms/macros.html`` ``td``).
    static/forms.js adds the rest (data-cell, data-value, problem box) from the table's
    data-fields and the row's data-row. Written here rather than in the template: the
    largest table has ~6500 cells, and a macro call (or a Python object) per cell costs
    most of the page's time. The layout is fixed per column; only the value (escaped) and
    the row key vary. Last year's value is a plain ``<small>`` under it (``.grid td
    small``: a class on 6500 cells costs ~1 KB compressed); the cell's end tag is left to the parser (HTML closes a
    ``td`` at the next ``td`` or ``</tr>``; ~0.6 KB). An input is labelled by ``head`` (its
    column header's id) and its row header's id."""
    name = str(escape(f.name))
    label = f'" aria-labelledby="{escape(head)} '
    numbers = _Numbers() if numbers is None else numbers
    open_ = "<td>" if kind in NUMERIC or kind == "yes-no" else '<td class="t">'
    if editable and kind in NUMERIC:
        start = f'{open_}<input name="{escape(prefix)}'
        tail = f'/{name}{label}'

        def write(row: str, rid: str, value: Any, last: str) -> str:
            if value is None:
                text = ""
            elif type(value) is int and kind != "year":
                text = numbers[value]
            else:
                text = escape(entered(f, value, kind))
            ly = f"<small>{last}</small>" if last else ""
            return f'{start}{row}{tail}{rid}" value="{text}">{ly}'
        return write
    if editable and kind == "yes-no":
        start = f'{open_}<select name="{escape(prefix)}'
        tail = f'/{name}{label}'

        def write(row: str, rid: str, value: Any, last: str) -> str:
            chosen = _YES_NO[value if isinstance(value, bool) else None]
            ly = f"<small>{last}</small>" if last else ""
            return f'{start}{row}{tail}{rid}"><option></option>{chosen}</select>{ly}'
        return write
    if editable or kind == "url":
        return None

    def write(row: str, rid: str, value: Any, last: str) -> str:
        ly = f"<small>{last}</small>" if last else ""
        return f"{open_}{_safe_text(f, kind, value, labels)}{ly}"
    return write


@dataclass
class Column:
    field: Field
    id: str  # the header's id, which labels the column's inputs
    editable: bool
    total: str | None = None  # the column's total as text, for a summed column
    options: list[tuple[str, str]] | None = None  # a reference field's (code, name)


def ref_options(f: Field, ctx: FormContext, definition: Any) -> list[tuple[str, str]] | None:
    """(code, name) a reference field chooses from: the desa (or kelurahan, or child
    regions) of the region, the level's stages; None for a free code ("wilayah")."""
    items = f.schema.get("items")
    ref = f.ref or (items.get("x-ref") if isinstance(items, Mapping) else None)
    if ref in ("desa", "child", "kelurahan"):
        return [(code, f"{_region_name(name)} ({code})") for code, name in ctx.rows.items()
                if ref != "kelurahan" or code.rsplit(".", 1)[-1].startswith("1")]
    if ref == "stage":
        return [(s.id, s.name) for s in definition.stages]
    return None


@dataclass
class Row:
    key: str  # the cell key's ROW part
    id: str
    label: str
    code: str = ""  # a region row's code
    cells: list[Cell] = dc_field(default_factory=list)  # (a table per region: see `plain`)
    problems: list[Problem] = dc_field(default_factory=list)  # of the row as a whole
    blank: bool = False  # the empty row an editable list offers for a new entry
    # A row of a table per region: each cell's plain markup (`plain_writer`), None where
    # the cell needs the full markup; `make` builds that cell's `Cell` (column index ->
    # Cell); a cell's key is `keys` (the row's prefix) + its field's name in `names`.
    plain: list[str | None] = dc_field(default_factory=list)
    keys: str = ""
    names: list[str] = dc_field(default_factory=list)
    make: Any = None

    def segments(self, marks: Mapping[str, Any]) -> list[Any]:
        """The row's cells as markup runs of plain cells and the `Cell`s that need the
        full markup (a problem, a review mark, a kind written by the template)."""
        marked = [i for i, n in enumerate(self.names) if self.keys + n in marks] if marks \
            else ()
        if not marked and None not in self.plain:
            return [Markup("".join(self.plain))]  # type: ignore[arg-type]
        out: list[Any] = []
        run: list[str] = []
        marked_set = set(marked)
        for ci, html in enumerate(self.plain):
            if html is None or ci in marked_set:
                if run:
                    out.append(Markup("".join(run)))
                    run = []
                out.append(self.make(ci))
            else:
                run.append(html)
        if run:
            out.append(Markup("".join(run)))
        return out


@dataclass
class SectionView:
    form: str
    section: Section
    columns: list[Column]
    rows: list[Row]
    editable: bool
    problems: list[Problem] = dc_field(default_factory=list)  # of the section as a whole

    @property
    def key(self) -> str:
        return f"{self.form}/{self.section.name}"

    @property
    def kind(self) -> str:
        return self.section.kind

    def region_body(self, marks: Mapping[str, Any], td: Any, problems_of: Any,
                    year: Any) -> Markup:
        """The rows of a table per region as markup (``forms/macros.html`` passes its
        ``td`` and ``problems_of`` macros for the cells and rows that need them): written
        here, as the template would, because a template loop over 108 rows of 60 cells
        costs a good part of the page's time."""
        out: list[str] = []
        add = out.append
        section = str(escape(self.key))
        for row in self.rows:
            code = str(escape(row.key))
            if row.problems:
                add(f'\n<tr data-row="{code}" id="{section}/{code}"><th scope="row" id="{row.id}"'
                    f' class="rh">{escape(row.label)}<small>{escape(row.code)}</small>'
                    f'{problems_of(self.key + "/" + row.key, row.problems)}</th>')
            else:
                add(f'\n<tr data-row="{code}"><th scope="row" id="{row.id}" class="rh">'
                    f'{escape(row.label)}<small>{escape(row.code)}</small></th>')
            for part in row.segments(marks):
                add(part if isinstance(part, str) else td(part, f"{part.head} {row.id}", year))
            add("</tr>")
        return Markup("".join(out))

    @property
    def groups(self) -> list[tuple[str | None, list[Column]]]:
        """(group title or None, its columns) of consecutive columns."""
        out: list[tuple[str | None, list[Column]]] = []
        for column in self.columns:
            group = column.field.group
            if out and out[-1][0] == group:
                out[-1][1].append(column)
            else:
                out.append((group, [column]))
        return out

    @property
    def grouped(self) -> bool:
        return any(c.field.group for c in self.columns)

    @property
    def totals(self) -> bool:
        return any(c.total is not None for c in self.columns) and (
            self.editable or any(c.total for c in self.columns))


@dataclass
class SummaryItem:
    problem: Problem
    target: str  # the id a link goes to


@dataclass
class FormView:
    id: str
    title: str
    description: str
    sections: list[SectionView]
    editable: bool
    problems: list[Problem]
    summary: list[SummaryItem]  # the first SUMMARY_LIMIT problems, each with its link
    rules: dict | None = None  # for static/rules.js, on an editable form

    @property
    def errors(self) -> int:
        return sum(p.is_error for p in self.problems)

    @property
    def more_errors(self) -> int:
        """Errors beyond the summary's list (static/rules.js counts the listed ones)."""
        return self.errors - sum(i.problem.is_error for i in self.summary)

    @property
    def more_warnings(self) -> int:
        return len(self.problems) - len(self.summary) - self.more_errors

    @property
    def uploads(self) -> bool:
        return any(c.editable and c.field.kind == "file"
                   for s in self.sections for c in s.columns)


def _region_name(name: str) -> str:
    return name.title() if name.isupper() else name


def _row_values(section: Section, doc: Mapping[str, Any], ctx: FormContext,
                editable: bool) -> list[tuple[str, str, str, Mapping[str, Any], bool]]:
    """(row key, label, code, values, blank) of every row a section shows."""
    value = doc.get(section.name)
    if section.kind == PER_REGION:
        rows = value if isinstance(value, Mapping) else {}
        return [(code, _region_name(name), code,
                 rows.get(code) if isinstance(rows.get(code), Mapping) else {}, False)
                for code, name in ctx.rows.items()]
    if section.kind == ROWS:
        items = [r if isinstance(r, Mapping) else {} for r in value] \
            if isinstance(value, list) else []
        out = [(str(n), str(n), "", r, False) for n, r in enumerate(items, 1)]
        if editable:  # a new entry without a script: one empty row to fill
            out.append((str(len(items) + 1), str(len(items) + 1), "", {}, True))
        return out
    return [(NO_ROW, section.title, "", value if isinstance(value, Mapping) else {}, False)]


def _total(values: list[Any]) -> str:
    """The sum of a column as text ("" when it has no number yet)."""
    numbers = [v for v in values if type(v) is int or (v is not None and is_number(v))]
    return number_text(sum(numbers)) if numbers else ""


def _section_view(spec: FormSpec, fi: int, si: int, section: Section, doc: Mapping[str, Any],
                  previous: Mapping[str, Any], ctx: FormContext, definition: Any, stage: Any,
                  unit: str | None, problems: dict[str, list[Problem]]) -> SectionView:
    columns = [Column(f, f"h{fi}-{si}-{ci}", may_write(stage, unit, f),
                      options=ref_options(f, ctx, definition))
               for ci, f in enumerate(section.fields)]
    editable = any(c.editable for c in columns)
    kinds = [c.field.kind for c in columns]
    prefix = f"{spec.id}/{section.name}"
    if section.kind == PER_REGION:
        rows = _region_rows(section, columns, kinds, prefix, fi, si, doc, previous, ctx,
                            problems)
    else:
        rows = []
        for ri, (key, label, code, values, blank) in enumerate(
                _row_values(section, doc, ctx, editable and section.kind == ROWS)):
            row = Row(key, f"r{fi}-{si}-{ri}", label, code, blank=blank,
                      problems=problems.get(f"{prefix}/{key}", []))
            for column, kind in zip(columns, kinds):
                f = column.field
                k = f"{prefix}/{key}/{f.name}"
                row.cells.append(Cell(k, f, values.get(f.name), column.editable, "",
                                      problems.get(k, []), kind, column.id, column.options))
            rows.append(row)
        if section.kind == ROWS:
            for ci, column in enumerate(columns):
                if column.field.kind in TOTALLED:
                    column.total = _total([r.cells[ci].value for r in rows])
    return SectionView(spec.id, section, columns, rows, editable, problems.get(prefix, []))


def _region_rows(section: Section, columns: list[Column], kinds: list[str], prefix: str,
                 fi: int, si: int, doc: Mapping[str, Any], previous: Mapping[str, Any],
                 ctx: FormContext, problems: dict[str, list[Problem]]) -> list[Row]:
    """The rows of a table per region, their plain cells written by `plain_writer`."""
    fields = [c.field for c in columns]
    names = [f.name for f in fields]
    labels = [dict(c.options) if c.options else None for c in columns]
    numbers = _Numbers()
    writers = [plain_writer(c.field, kind, c.editable, f"{prefix}/", lab, numbers, c.id)
               for c, kind, lab in zip(columns, kinds, labels)]
    stored = doc.get(section.name)
    stored = stored if isinstance(stored, Mapping) else {}
    before_rows = previous.get(section.name)
    before_rows = before_rows if isinstance(before_rows, Mapping) else {}
    sums: list[list[Any]] = [[] for _ in columns]
    totalled = [i for i, kind in enumerate(kinds) if kind in TOTALLED]
    # The cells with problems, by row (a few: they take the full markup).
    troubled: dict[str, set[str]] = {}
    for k in problems:
        if k.startswith(prefix + "/"):
            _, _, rest = k.partition(prefix + "/")
            row_code, _, name = rest.partition("/")
            troubled.setdefault(row_code, set()).add(name)
    layout = [(n, w, f, kind != "year") for n, w, f, kind in zip(names, writers, fields, kinds)]
    rows = []
    for ri, (code, name) in enumerate(ctx.rows.items()):
        values = stored.get(code)
        values = values if isinstance(values, Mapping) else {}
        before = before_rows.get(code)
        before = before if isinstance(before, Mapping) else {}
        safe_code, bad = str(escape(code)), troubled.get(code, ())
        rid = f"r{fi}-{si}-{ri}"
        plain: list[str | None] = []
        add = plain.append
        for n, write, f, fast in layout:
            if write is None or n in bad:
                add(None)
                continue
            last = before.get(n)
            if last is None:
                text = ""
            elif fast and type(last) is int:
                text = numbers[last]
            else:
                text = _safe_text(f, f.kind, last, None)
            add(write(safe_code, rid, values.get(n), text))
        for ci in totalled:
            sums[ci].append(values.get(names[ci]))

        def make(ci: int, values=values, before=before, code=code) -> Cell:
            f, last, key = fields[ci], before.get(names[ci]), f"{prefix}/{code}/{names[ci]}"
            return Cell(key, f, values.get(f.name), columns[ci].editable,
                        shown(f, last, kinds[ci]) if last is not None else "",
                        problems.get(key, []), kinds[ci], columns[ci].id, columns[ci].options)
        rows.append(Row(code, rid, _region_name(name), code,
                        problems=problems.get(f"{prefix}/{code}", []), plain=plain,
                        keys=f"{prefix}/{code}/", names=names, make=make))
    for ci in totalled:
        columns[ci].total = _total(sums[ci])
    return rows


def problem_targets(spec: FormSpec, problem: Problem) -> list[str]:
    """The keys a problem is shown at: its cells, else its row, else its section (a
    problem of the whole document has none: the summary shows it)."""
    section = spec.section(problem.section) if problem.section else None
    if section is None:
        return []
    prefix = f"{spec.id}/{section.name}"
    row = NO_ROW if section.kind == FIELDS else problem.row
    if row is None:
        return [prefix]
    cells = [f"{prefix}/{row}/{name}" for name in problem.fields if section.field(name)]
    return cells or [f"{prefix}/{row}"]


def _by_key(specs: Mapping[str, FormSpec], problems: list[Problem]) -> dict[str, list[Problem]]:
    out: dict[str, list[Problem]] = {}
    for p in problems:
        spec = specs.get(p.form)
        for key in problem_targets(spec, p) if spec else ():
            out.setdefault(key, []).append(p)
    return out


def _request_memo(key: tuple, compute: Any) -> Any:
    """``compute()``, kept in ``flask.g`` for the rest of this request under ``key`` (a
    key holds the task's id and version): the stage page's panels share one reading of
    the stage's data, and each request reads the data as it is then."""
    memo = g.setdefault("aksi_stage_memo", {}) if has_request_context() else {}
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def stage_data(session: Session, definition: Any, task: Any) -> tuple[dict, dict]:
    """(the stored documents, last year's approved documents), once per request."""
    return _request_memo(("data", task.id, task.version), lambda: (
        stage_documents(session, definition, task),
        last_year(session, task, lambda h: pinned(session, h))))


def stage_context(session: Session, definition: Any, task: Any) -> FormContext:
    """The stage's form context (its desa, ...), once per request."""
    return _request_memo(("context", task.id, task.version),
                         lambda: context_for(session, definition, task))


def stage_check(session: Session, definition: Any,
                task: Any) -> tuple[dict, dict, list[Problem]]:
    """(the stored documents, last year's approved documents, the draft problems of the
    stored documents checked against them): what the form page and the review panel both
    show, computed once per request."""
    def check() -> tuple[dict, dict, list[Problem]]:
        stored, previous = stage_data(session, definition, task)
        return stored, previous, stage_problems(
            session, definition, task, phase=DRAFT, docs=stored, previous=previous,
            ctx=stage_context(session, definition, task))
    return _request_memo(("check", task.id, task.version), check)


def stage_stamp(session: Session, task: Any) -> tuple:
    """The stamp of the stage's data (engine/forms/stamp.py), once per request."""
    return _request_memo(("stamp", task.id, task.version), lambda: data_stamp(session, task))


def stage_parts(session: Session, task: Any) -> dict[str, PartState]:
    """Unit -> its part's state and version, as the stage's data stamp read them."""
    return {unit: PartState(unit, state, version)
            for unit, state, version in stage_stamp(session, task)[0][4]}


def kept_problems(session: Session, definition: Any, task: Any) -> list[Problem]:
    """`stage_check`'s problems, kept in the page cache under the stage's data stamp: the
    review panel's warnings without reading and checking the documents again."""
    def compute() -> tuple[list[Problem], int]:
        problems = stage_check(session, definition, task)[2]
        return problems, 300 * len(problems) + 256
    return page_cache().get_or_compute(("problems", stage_stamp(session, task)), compute)


def form_page(session: Session, *, task: Any, definition: Any, actor: Any,
              marks: Mapping[str, list] | None = None,
              docs: Mapping[str, dict] | None = None, problems: list[Problem] | None = None,
              refused: str | None = None) -> dict | None:
    """The form part of the stage page; its ``documents`` are the rendered sections.

    ``marks``: the review panel's marks on cells (engine/web/review.py). ``docs`` and
    ``problems`` replace the stored documents and their draft check: after a refused save
    the page shows what the person typed, with the engine's problems of it, and
    ``refused`` says why nothing was saved.

    Without them the result is kept in the page cache under the stage's data stamp, the
    person's part and submit trigger and the marks: the largest kecamatan's form (6,480
    cells, their check against last year) is computed and rendered once per change of its
    data, not once per request.
    """
    stage = definition.stage(task.stage)
    if not any(f in definition.forms for f in stage.outputs):
        return None
    parts = stage_parts(session, task)
    unit = entry_unit(task, definition, actor, parts)
    trigger = submit_trigger(definition, task, actor) if unit is not None else None
    marks = marks or {}
    if docs is not None or refused is not None:
        return _form_page(session, task, definition, parts, unit, trigger, marks, docs,
                          problems, refused)
    key = ("form", stage_stamp(session, task), unit, trigger.id if trigger else None,
           json.dumps(marks, sort_keys=True, default=str))
    return page_cache().get_or_compute(key, lambda: _sized(_form_page(
        session, task, definition, parts, unit, trigger, marks, None, problems, None)))


def _sized(fp: dict) -> tuple[dict, int]:
    """The form page and about how many bytes keeping it takes."""
    problems = sum(len(v.problems) for v in fp["forms"])
    return fp, fp["documents"].size + 300 * problems + 4096


def _form_page(session: Session, task: Any, definition: Any, parts: Mapping[str, Any],
               unit: str | None, trigger: Any, marks: Mapping[str, list],
               docs: Mapping[str, dict] | None, problems: list[Problem] | None,
               refused: str | None) -> dict:
    stage = definition.stage(task.stage)
    forms = [f for f in stage.outputs if f in definition.forms]
    kept = docs is None  # the stored documents: kept, so compressed once
    stored, previous, checked = stage_check(session, definition, task)
    if docs is None:
        docs = stored
        problems = checked if problems is None else problems
    elif problems is None:
        problems = stage_problems(session, definition, task, phase=DRAFT, docs=docs,
                                  previous=previous, ctx=stage_context(session, definition, task))
    ctx = stage_context(session, definition, task)
    specs = {f: spec_of(definition, f) for f in forms}
    at = _by_key(specs, problems)
    views = []
    for fi, form in enumerate(forms):
        spec = specs[form]
        sections = [_section_view(spec, fi, si, s, docs.get(form) or {},
                                  previous.get(form) or {}, ctx, definition, stage, unit, at)
                    for si, s in enumerate(spec.sections)]
        editable = any(s.editable for s in sections)
        rules = None
        if editable:
            rules = page_rules(definition, form, ctx)
        own = [p for p in problems if p.form == form]
        summary = [SummaryItem(p, (problem_targets(spec, p) or [""])[0])
                   for p in own[:SUMMARY_LIMIT]]
        views.append(FormView(form, spec.title, spec.description, sections, editable, own,
                              summary, rules))
    names = definition.lifecycle.states
    start = part_start_state(definition)
    filled = completeness(definition, task.stage, stored, ctx.rows)
    units = [{"unit": u, "state": names[parts[u].state if u in parts and parts[u].state
                                         else start].name,
              "filled": number_text(filled.get(u, {}).get("filled", 0)),
              "required": number_text(filled.get(u, {}).get("required", 0)), "mine": u == unit}
             for u in stage.parts]
    if not stage.parts and filled:
        whole = {"filled": number_text(sum(t["filled"] for t in filled.values())),
                 "required": number_text(sum(t["required"] for t in filled.values()))}
        units = [{"unit": None, "state": None, **whole, "mine": False}]
    fp = {
        "forms": views,
        "editable": unit is not None,
        "unit": unit or None,
        "parts": bool(stage.parts),
        "units": units,
        "part_version": (parts[unit].version if unit in parts else 0) if unit is not None else 0,
        "submit": {"trigger": trigger.id, "name": trigger.name} if trigger else None,
        "uploads": any(v.uploads for v in views),
        "limit": SUMMARY_LIMIT,
        "errors": sum(p.is_error for p in problems),
        "warnings": sum(not p.is_error for p in problems),
        "previous_year": task.year - 1 if previous else None,
        "refused": refused,
    }
    html = render_template("tasks/_documents.html", fp=fp, review={"marks": marks})
    # Kept: compressed once (engine/web/fragments.py); shown once: as it is.
    fp["documents"] = Fragment.of(html) if kept else Markup(html)
    # What the rest of the page reads of a form: its summary, not its 6,480 cells.
    fp["forms"] = [dataclasses.replace(v, sections=[]) for v in views]
    return fp
