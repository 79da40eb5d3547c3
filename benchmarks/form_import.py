"""Import the situation-analysis spreadsheet of the kecamatan with the most desa.

The workbook is the template of every unit (`engine.forms.spreadsheet.template`, unit
None) pre-filled with a complete sample document: one row per desa with all 60 fields,
plus the repeating rows and the meeting. The floor is what any reader of the file pays:
openpyxl's ``load_workbook(read_only=True)`` of the same bytes and iterating every cell of
every sheet. Timed, each the median of ``--rounds``:

- read: `spreadsheet.read` - identification, every cell converted and checked, the patch;
- import: read, then each unit's share saved as its operator with `save_on` (three parts,
  each locked, merged, checked as a draft and written), in one transaction.

    python benchmarks/form_import.py [--db URL] [--rounds 15] [--kecamatan CODE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random

from openpyxl import load_workbook

from _setup import definitions, fresh_database, url_from_env, largest_kecamatan, median_ms
from engine.forms import spec_of, spreadsheet
from engine.forms.entry import context_for
from engine.forms.sample import sample_document
from engine.forms.spec import PER_REGION, ROWS
from engine.people import add_user
from engine.runtime import find_task, save_on, start_year
from engine.store.library import pinned
from engine.store.models import Region

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
YEAR, STAGE, FORM = 2026, "analisis_situasi", "kec_analisis_situasi"


def by_unit(spec, patch: dict) -> dict[str, dict]:
    """Each unit's share of a patch (the fields it owns)."""
    out: dict[str, dict] = {}
    for name, value in patch.items():
        section = spec.section(name)
        unit_of = {f.name: f.unit for f in section.fields}
        if section.kind == PER_REGION:
            for code, row in value.items():
                for field, v in row.items():
                    out.setdefault(unit_of[field], {}).setdefault(name, {}).setdefault(code, {})[field] = v
        elif section.kind == ROWS:
            owner = next(iter(section.units))  # rows belong to one unit
            out.setdefault(owner, {})[name] = value
        else:
            for field, v in value.items():
                out.setdefault(unit_of[field], {}).setdefault(name, {})[field] = v
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--kecamatan", help="Code of the kecamatan (default: the one with most desa).")
    args = ap.parse_args()
    if args.kecamatan:
        kec = args.kecamatan
        desa = sum(1 for code, _ in kemendagri_regions(kec[:2]) if code.startswith(kec + "."))
    else:
        kec, desa = largest_kecamatan()
    defs = definitions()
    db = fresh_database(args.db, province=kec.split(".")[0], with_desa=True)
    units = defs["kecamatan"].stage(STAGE).parts
    with db.session() as s:
        start_year(s, defs, YEAR, province=kec.split(".")[0], now=NOW)
        for unit in units:
            add_user(s, defs, f"op-{unit}", role="operator", region=kec, unit=unit, now=NOW)
        task = find_task(s, kec, STAGE, YEAR)
        definition = pinned(s, task.definition_hash)
        ctx = context_for(s, definition, task)
        name = s.get(Region, kec).name
    rows = dict(ctx.rows)
    doc = sample_document(definition, FORM, ctx, rng=random.Random(1))
    content = spreadsheet.template(definition, FORM, region_code=kec, region_name=name, year=YEAR,
                                   stage=STAGE, rows=rows, unit=None, data=doc)
    expect = {"region": kec, "region_name": name, "year": YEAR, "stage": STAGE, "form": FORM,
              "unit": None, "content_hash": task.definition_hash, "rows": rows}
    spec = spec_of(definition, FORM)
    patch = spreadsheet.read(definition, FORM, content, filename="isian.xlsx", expect=expect)
    assert patch == {k: v for k, v in doc.items() if any(
        spreadsheet.entered(f, None) for f in spec.section(k).fields)}, "round trip differs"

    def floor() -> None:
        wb = load_workbook(io.BytesIO(content), read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for _ in row:
                    pass
        wb.close()

    def read() -> None:
        spreadsheet.read(definition, FORM, content, filename="isian.xlsx", expect=expect)

    def import_() -> None:
        with db.session() as s:
            got = spreadsheet.read(definition, FORM, content, filename="isian.xlsx", expect=expect)
            for unit, part in by_unit(spec, got).items():
                save_on(s, kec, STAGE, YEAR, f"op-{unit}", {FORM: part}, unit=unit, now=NOW)

    cells = sum(len(r) for r in patch["desa"].values())
    floor_ms = median_ms(floor, args.rounds)
    read_ms = median_ms(read, args.rounds)
    import_ms = median_ms(import_, args.rounds)
    print(f"database: {db.engine.dialect.name}; kecamatan {kec} {name}: {desa} desa/kelurahan, "
          f"{cells} values in the desa sheet, workbook {len(content) // 1024} KB")
    print(f"floor   openpyxl read-only load + every cell : {floor_ms:5.0f} ms")
    print(f"read    spreadsheet.read (checked patch)     : {read_ms:5.0f} ms  "
          f"({read_ms / floor_ms:.2f}x floor, goal <= 2x)")
    print(f"import  read + 3 parts saved with save_on    : {import_ms:5.0f} ms  "
          f"({import_ms / floor_ms:.2f}x floor)")


if __name__ == "__main__":
    main()
