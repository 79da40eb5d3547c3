"""Import the situation-analysis spreadsheet of the kecamatan with the most desa.

The workbook is the template of every unit (`engine.forms.spreadsheet.template`, unit
None) pre-filled with a complete sample document: one row per desa with all 60 fields,
plus the repeating rows and the meeting. The floor is what any reader of the file pays:
openpyxl's ``load_workbook(read_only=True)`` of the same bytes and iterating every cell of
every sheet. Timed in turn, ``--rounds`` times (min and median printed):

- read: `spreadsheet.read` - identification, every cell converted and checked, the patch;
- import: read, split into each unit's share (`spreadsheet.by_unit`) and saved with
  `entry.save_parts`, each share as its unit's operator: every save's checks, the stage
  locked once, the merged document checked once as a draft, three parts written, in one
  transaction (committed);
- for comparison, the same import as three `save_on` calls (three checks of the document).

    python benchmarks/form_import.py [--db URL] [--rounds 15] [--kecamatan CODE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import statistics
import time

from openpyxl import load_workbook

from _setup import definitions, fresh_database, url_from_env, largest_kecamatan, settle
from engine.forms import spreadsheet
from engine.definitions.forms.spec import spec_of
from engine.forms.entry import PartSave, context_for, save_parts
from engine.forms.sample import sample_document
from engine.people import actor, add_user
from engine.regions import kemendagri_regions
from engine.runtime import find_task, save_on, start_year
from engine.store.library import pinned
from engine.store.models import Region

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
YEAR, STAGE, FORM = 2026, "analisis_situasi", "kec_analisis_situasi"


def timed(fns: list, rounds: int) -> list[tuple[float, float]]:
    """(min, median) in milliseconds of each of ``fns``, called in turn ``rounds`` times
    (interleaved, so that a busy moment of the machine weighs on all of them alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            spent.append((time.perf_counter() - start) * 1000)
    return [(min(t), statistics.median(t)) for t in times]


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

    def floor_() -> None:
        wb = load_workbook(io.BytesIO(content), read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                for _ in row:
                    pass
        wb.close()

    def read_() -> None:
        spreadsheet.read(definition, FORM, content, filename="isian.xlsx", expect=expect)

    def import_() -> None:
        with db.session() as s:
            got = spreadsheet.read(definition, FORM, content, filename="isian.xlsx", expect=expect)
            save_parts(s, task=find_task(s, kec, STAGE, YEAR), definition=definition, now=NOW, saves=[
                PartSave(actor(s, f"op-{unit}"), {FORM: share}, unit)
                for unit, share in spreadsheet.by_unit(spec, got).items()])

    def three_saves() -> None:
        with db.session() as s:
            got = spreadsheet.read(definition, FORM, content, filename="isian.xlsx", expect=expect)
            for unit, share in spreadsheet.by_unit(spec, got).items():
                save_on(s, kec, STAGE, YEAR, f"op-{unit}", {FORM: share}, unit=unit, now=NOW)

    assert set(spreadsheet.by_unit(spec, patch)) == set(units), "a share of no unit"
    import_()  # the parts exist from here on: every timed import updates them
    settle(db)
    cells = sum(len(r) for r in patch["desa"].values())
    floor, read, whole, three = timed([floor_, read_, import_, three_saves], args.rounds)
    print(f"database: {db.engine.dialect.name}; kecamatan {kec} {name}: {desa} desa/kelurahan, "
          f"{cells} values in the desa sheet, workbook {len(content) // 1024} KB; "
          f"{args.rounds} rounds, min / median")

    def line(label: str, got: tuple[float, float], goal: str = "") -> None:
        ratio = f"({got[0] / floor[0]:.2f}x / {got[1] / floor[1]:.2f}x floor{goal})"
        print(f"{label:<45}: {got[0]:5.0f} / {got[1]:5.0f} ms  {ratio if got is not floor else ''}")

    line("floor   openpyxl read-only load + every cell", floor)
    line("read    spreadsheet.read (checked patch)", read, ", goal <= 2x")
    line("import  read + save_parts (3 parts, 1 check)", whole, ", goal <= 2x")
    line("        read + 3 save_on (3 checks), before", three)


if __name__ == "__main__":
    main()
