"""Validate and save the situation analysis of the kecamatan with the most desa.

The floor is a bare jsonschema validation of the same complete document (the form's own
schema, compiled once, with format checking). Timed, each the median of ``--rounds``:

- check: every problem of the document (schema, regions, rules, coverage), as at submission;
- save: the Puskesmas operator saves its part (the largest: 40 of the 60 fields of every
  desa) - the lock, the merge with the other parts, the draft check of the whole document
  and the write, in one transaction;
- submit: the Puskesmas part submitted and sent back again (two transitions, the first
  checking the whole document as at submission).

    python benchmarks/form_save.py [--db URL] [--rounds 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random

import jsonschema

from _setup import definitions, fresh_database, url_from_env, largest_kecamatan, median_ms
from engine.forms import check_document
from engine.forms.entry import context_for
from engine.forms.sample import sample_document
from engine.definitions.forms.spec import plain
from engine.people import add_user
from engine.simulation.forms import unit_share
from engine.runtime import act_on, find_task, save_on, start_year
from engine.store.library import pinned

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
STAGE, FORM = "analisis_situasi", "kec_analisis_situasi"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    kec, desa = largest_kecamatan()
    defs = definitions()
    db = fresh_database(args.db, province=kec.split(".")[0], with_desa=True)
    definition = defs["kecamatan"]
    units = definition.stage(STAGE).parts
    with db.session() as s:
        start_year(s, defs, 2026, province=kec.split(".")[0], now=NOW)
        for unit in units:
            add_user(s, defs, f"op-{unit}", role="operator", region=kec, unit=unit, now=NOW)
            add_user(s, defs, f"ver-{unit}", role="verifikator", region=kec, unit=unit, now=NOW)
        task = find_task(s, kec, STAGE, 2026)
        ctx = context_for(s, pinned(s, task.definition_hash), task)
    doc = sample_document(definition, FORM, ctx, rng=random.Random(1))

    def part(unit: str) -> dict:
        return unit_share(definition, {FORM: doc}, unit)

    for unit in units:
        with db.session() as s:
            save_on(s, kec, STAGE, 2026, f"op-{unit}", part(unit), now=NOW)
    validator = jsonschema.Draft202012Validator(
        plain(definition.forms[FORM]), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert not list(validator.iter_errors(doc))
    assert not [p for p in check_document(definition, FORM, doc, ctx) if p.is_error]
    floor = median_ms(lambda: list(validator.iter_errors(doc)), args.rounds)
    check = median_ms(lambda: check_document(definition, FORM, doc, ctx), args.rounds)
    puskesmas = part("Puskesmas")

    def save() -> None:
        with db.session() as s:
            save_on(s, kec, STAGE, 2026, "op-Puskesmas", puskesmas, now=NOW)

    def submit_and_return() -> None:
        with db.session() as s:
            act_on(s, kec, STAGE, 2026, "submit", "op-Puskesmas", now=NOW)
            act_on(s, kec, STAGE, 2026, "return", "ver-Puskesmas", reason="ulang", now=NOW)

    saved = median_ms(save, args.rounds)
    walked = median_ms(submit_and_return, args.rounds)
    print(f"database: {db.engine.dialect.name}; kecamatan {kec}: {desa} desa/kelurahan, "
          f"{sum(len(r) for r in doc['desa'].values())} values per desa section")
    print(f"floor  bare jsonschema validation : {floor:7.1f} ms")
    print(f"check  every problem (submission) : {check:7.1f} ms  ({check / floor:.2f}x floor)")
    print(f"save   Puskesmas part, validated  : {saved:7.1f} ms  ({saved / floor:.2f}x floor, goal <= 3x)")
    print(f"submit + return of that part      : {walked:7.1f} ms  ({walked / floor:.2f}x floor)")


if __name__ == "__main__":
    main()
