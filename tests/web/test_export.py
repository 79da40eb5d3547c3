"""engine/web/export.py: CSV that Indonesian Excel opens (``;``, BOM, decimal comma),
XLSX read back with openpyxl, formula injection guarded, safe file names."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from flask import Flask

from engine.web.export import Moment, UnknownFormat, export_response, filename, to_csv, to_xlsx

HEADINGS = ["Wilayah", "Tenggat", "Hari terlambat", "Catatan"]
DUE = dt.datetime(2027, 1, 15, 16, 59, tzinfo=dt.timezone.utc)
ROWS = [["Bangka", Moment(DUE, "Asia/Jakarta"), 3, "=HYPERLINK(\"http://x\")"],
        ["Kota Pangkal Pinang", Moment(DUE, "Asia/Makassar", with_time=False), 0, "+1"],
        ["Belitung Timur", None, -2, "@cmd"],
        ["Pulau–Seribu ’é", Moment(None), 12.5, "-5 tidak apa; \"kutip\"\nbaris"]]


def test_csv_is_semicolon_utf8_bom_crlf_with_guarded_formulas():
    data = to_csv(HEADINGS, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == HEADINGS
    assert rows[1] == ["Bangka", "15 Januari 2027, 23.59 WIB", "3", "'=HYPERLINK(\"http://x\")"]
    assert rows[2] == ["Kota Pangkal Pinang", "16 Januari 2027", "0", "'+1"]
    assert rows[3] == ["Belitung Timur", "", "-2", "'@cmd"]  # a negative number is no formula
    assert rows[4] == ["Pulau–Seribu ’é", "", "12,5", "'-5 tidak apa; \"kutip\"\nbaris"]


def test_xlsx_reads_back_with_typed_text_never_formulas():
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(HEADINGS, ROWS, title="Terlambat")))
    ws = book["Terlambat"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == HEADINGS
    assert values[1] == ["Bangka", "15 Januari 2027, 23.59 WIB", 3, "=HYPERLINK(\"http://x\")"]
    assert ws["D2"].data_type == "s"  # text, not a formula
    assert values[3][2] == -2 and values[4][2] == 12.5
    assert ws.freeze_panes == "A2" and ws["A1"].font.b


def test_filename_is_ascii_and_bounded():
    assert filename("terlambat 19.01/../2027 «x»", "csv") == "terlambat-19.01-..-2027-x.csv"
    assert filename("///", "xlsx") == "ekspor.xlsx"
    assert len(filename("a" * 500, "csv")) == 84


def test_response_headers_and_unknown_format():
    app = Flask(__name__)
    with app.test_request_context():
        answer = export_response("xlsx", "terlambat-19", HEADINGS, ROWS)
        assert answer.mimetype.endswith("spreadsheetml.sheet")
        assert 'filename="terlambat-19.xlsx"' in answer.headers["Content-Disposition"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        answer = export_response("csv", "terlambat-19", HEADINGS, [])
        assert answer.mimetype == "text/csv" and answer.get_data().startswith(b"\xef\xbb\xbf")
        with pytest.raises(UnknownFormat):
            export_response("pdf", "x", HEADINGS, [])
