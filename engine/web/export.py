"""Lists and matrices as spreadsheet downloads: the one way pages export a table.

Use::

    from .export import Moment, export_response
    rows = [[region_name, level_name, Moment(task.due_at, zone), days_late], ...]
    return export_response(fmt, "terlambat-19", ["Wilayah", "Tingkat", "Tenggat", "Hari"],
                           rows, title="Terlambat")

``fmt`` is ``"csv"`` or ``"xlsx"`` (anything else: `UnknownFormat`, which a view turns
into a 404). Cells are ``str``, ``int``, ``float``, ``bool``, ``None`` or a `Moment` (a
time shown in a region's zone, written the way `filters.local_time` / `local_date`
write it: "15 Januari 2027, 23.59 WIB"). Callers pass names (regions, stages, states,
roles), never ids, exactly as their page shows them.

CSV for Excel as Indonesians run it: Windows with the Indonesian regional setting
uses the comma as the decimal separator, so its list separator (what Excel splits a
double-clicked ``.csv`` on) is the semicolon. The file is therefore ``;``-separated,
UTF-8 with a byte-order mark (without it Excel reads the file in the ANSI code page
and garbles every non-ASCII character: "–", "’", "é"), CRLF line ends, numbers with a decimal comma and no grouping (Excel in the
Indonesian locale reads "12,5" as a number, "1.234" would be ambiguous). No ``sep=;``
line: Excel ignores the byte-order mark when one is present. LibreOffice asks for the
separator and guesses ``;`` from the content.

Formula injection (CSV injection): a text cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is prefixed with ``'`` in CSV, so a spreadsheet shows it as
text instead of running it; in XLSX such a cell is stored as typed text (never a
formula), so it shows exactly what was typed. Numbers (negative ones too) stay numbers.

The file name is built from the given stem: ASCII letters, digits, ``.``, ``_`` and
``-`` only (everything else becomes ``-``), at most 80 characters, plus the extension;
`downloads.send_download` then adds the Content-Disposition and ``nosniff``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Union

from flask import Response

from ..regions.zones import WIB
from .downloads import send_download
from .filters import local_date, local_time

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CSV_SEPARATOR = ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_STEM = 80


class UnknownFormat(ValueError):
    """Neither ``csv`` nor ``xlsx``."""


@dataclass(frozen=True)
class Moment:
    """A point in time shown in a region's zone; ``with_time=False`` shows the day only."""

    at: dt.datetime | str | None
    zone: str = WIB
    with_time: bool = True

    def text(self) -> str:
        if self.at is None or self.at == "":
            return ""
        return local_time(self.at, self.zone) if self.with_time else local_date(self.at, self.zone)


Cell = Union[str, int, float, bool, None, Moment]


def export_response(fmt: str, stem: str, headings: Sequence[str],
                    rows: Iterable[Sequence[Cell]], *, title: str = "Data") -> Response:
    """A download of ``rows`` under ``headings`` as ``<stem>.<fmt>`` (see the module doc)."""
    if fmt not in FORMATS:
        raise UnknownFormat(fmt)
    content = to_csv(headings, rows) if fmt == "csv" else to_xlsx(headings, rows, title=title)
    return send_download(content, FORMATS[fmt], filename(stem, fmt))


def filename(stem: str, extension: str) -> str:
    """``terlambat-19.01-2027.csv``: a name every system keeps as it is."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:MAX_STEM].strip("-.")
    return f"{safe or 'ekspor'}.{extension}"


def guard(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (CSV)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return ("%.12g" % value).replace(".", ",")
    if isinstance(value, Moment):
        return value.text()
    return guard(str(value))


def to_csv(headings: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The rows as ``;``-separated UTF-8 with a byte-order mark, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_SEPARATOR, lineterminator="\r\n")
    writer.writerow([guard(h) for h in headings])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _text_cell(ws, text: str):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", text))
    cell.data_type = "s"  # typed text, never a formula
    return cell


def _xlsx_cell(ws, value: Cell):
    if isinstance(value, Moment):
        value = value.text()
    elif isinstance(value, bool):
        value = "ya" if value else "tidak"
    return _text_cell(ws, value) if isinstance(value, str) else value  # numbers, None as they are


def to_xlsx(headings: Sequence[str], rows: Iterable[Sequence[Cell]], *,
            title: str = "Data") -> bytes:
    """One sheet named ``title``: bold headings, frozen first row, rows streamed
    (write-only workbook: memory does not grow with the rows kept in cells)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    ws = book.create_sheet(re.sub(r"[\\/*?:\[\]]", "-", title)[:31] or "Data")
    ws.freeze_panes = "A2"
    for i, heading in enumerate(headings):
        width = max(12, min(50, len(heading) + 4))
        ws.column_dimensions[_column(i)].width = width
    bold = [_text_cell(ws, str(heading)) for heading in headings]
    for cell in bold:
        cell.font = Font(bold=True)
    ws.append(bold)
    for row in rows:
        ws.append([_xlsx_cell(ws, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _column(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
