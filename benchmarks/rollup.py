"""Roll up the provinsi analysis of Jawa Tengah from all its approved kecamatan data.

Set-up (not timed): province 33 with its desa, the year started, every kecamatan's
analisis_situasi filled part by part (Setcam, Puskesmas, PLKB) with a plausible document
and set approved. Timed: the engine rebuilds every kab/kota's roll-up from its kecamatan
(engine.forms.rollup.recompute, reading each kecamatan's parts and merging them) and then
the provinsi's from its kab/kota - beside the floor: the same sums, per kab/kota, in one
SQL query over the stored parts (json_each / jsonb_each). The two results are compared.

    python benchmarks/rollup.py [--db URL] [--province 33] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from sqlalchemy import insert, select, text, update

from _setup import definitions, fresh_database, settle, url_from_env
from engine.forms.entry import context_for, stage_documents
from engine.forms.rollup import recompute
from engine.definitions.forms.rules import rules_of
from engine.forms.sample import sample_document
from engine.runtime import start_year
from engine.store.library import pinned
from engine.store.models import FormPart, Task

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
STAGE = "analisis_situasi"


def fill(db, defs, province: str) -> None:
    kec = defs["kecamatan"]
    form = kec.stage(STAGE).outputs[0]
    from engine.definitions.forms.spec import spec_of

    spec = spec_of(kec, form)
    owner = {f.name: f.unit for f in spec.section("desa").fields}
    with db.session() as s:
        tasks = s.execute(select(Task).where(Task.level == "kecamatan", Task.stage == STAGE,
                                             Task.region_code.startswith(province + "."))).scalars().all()
        rows = []
        for i, task in enumerate(tasks):
            doc = sample_document(kec, form, context_for(s, kec, task), rng=random.Random(i))
            for unit in kec.stage(STAGE).parts:
                desa = {c: {k: v for k, v in r.items() if owner.get(k) == unit}
                        for c, r in doc["desa"].items()}
                rows.append({"task_id": task.id, "unit": unit, "state": "approved",
                             "data": {form: {"desa": desa}}, "version": 1, "updated_at": NOW,
                             "updated_by": "bench"})
        s.execute(insert(FormPart), rows)
        s.execute(update(Task).where(Task.id.in_([t.id for t in tasks]))
                  .values(state="approved", done_at=NOW))


SQL = {
    "sqlite": ("SELECT substr(t.region_code, 1, 5) AS kab, {sums} FROM form_parts p "
               "JOIN tasks t ON t.id = p.task_id, json_each(p.data, '$.{form}.desa') d "
               "WHERE t.level = 'kecamatan' AND t.stage = :stage AND t.year = 2026 "
               "AND t.state = 'approved' AND t.region_code LIKE :prefix GROUP BY kab",
               "sum(json_extract(d.value, '$.{f}'))"),
    "postgresql": ("SELECT substr(t.region_code, 1, 5) AS kab, {sums} FROM form_parts p "
                   "JOIN tasks t ON t.id = p.task_id, jsonb_each(p.data->'{form}'->'desa') d "
                   "WHERE t.level = 'kecamatan' AND t.stage = :stage AND t.year = 2026 "
                   "AND t.state = 'approved' AND t.region_code LIKE :prefix GROUP BY kab",
                   "sum(CASE jsonb_typeof(d.value->'{f}') WHEN 'boolean' THEN "
                   "(d.value->>'{f}')::boolean::int ELSE (d.value->>'{f}')::numeric END)"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--province", default="33")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    defs = definitions()
    db = fresh_database(args.db, province=args.province, with_desa=True)
    with db.session() as s:
        start_year(s, defs, 2026, province=args.province, now=NOW)
    fill(db, defs, args.province)
    settle(db)
    kab_def, prov_def = defs["kabkota"], defs["provinsi"]
    fields = rules_of(kab_def, kab_def.stage(STAGE).outputs[0]).rollup[0].sum
    query, term = SQL[db.engine.dialect.name]
    sql = text(query.format(form=defs["kecamatan"].stage(STAGE).outputs[0],
                            sums=", ".join(term.format(f=f) + f' AS "{f}"' for f in fields)))

    def engine_rollup() -> dict:
        with db.session() as s:
            definition_of = lambda h: pinned(s, h)  # noqa: E731
            done = lambda d: d.lifecycle.done  # noqa: E731
            kabs = s.scalars(select(Task).where(Task.level == "kabkota", Task.stage == STAGE,
                                                Task.parent_code == args.province)).all()
            for kab in kabs:
                recompute(s, kab, kab_def, definition_of=definition_of, done_state_of=done,
                          now=NOW)
                s.execute(update(Task).where(Task.id == kab.id).values(state="approved"))
            prov = s.scalar(select(Task).where(Task.region_code == args.province,
                                               Task.stage == STAGE))
            recompute(s, prov, prov_def, definition_of=definition_of, done_state_of=done, now=NOW)
            doc = stage_documents(s, prov_def, prov)[prov_def.stage(STAGE).outputs[0]]
            return {code: {f: row.get(f, 0) for f in fields}
                    for code, row in doc["kabupaten_kota"].items()}

    def sql_sums() -> dict:
        with db.session() as s:
            return {r.kab: {f: int(getattr(r, f) or 0) for f in fields}
                    for r in s.execute(sql, {"stage": STAGE, "prefix": args.province + ".%"})}

    timings = {"engine": [], "sql": []}
    for _ in range(args.rounds):
        for name, fn in (("sql", sql_sums), ("engine", engine_rollup)):
            start = time.perf_counter()
            result = fn()
            timings[name].append(time.perf_counter() - start)
            if name == "sql":
                floor_result = result
            else:
                assert result == floor_result, "engine and SQL sums differ"
    with db.session() as s:
        kecamatan = s.scalar(text("SELECT count(*) FROM tasks WHERE level = 'kecamatan' "
                                  "AND stage = :s"), {"s": STAGE})
    sql_ms = statistics.median(timings["sql"]) * 1000
    engine_ms = statistics.median(timings["engine"]) * 1000
    print(f"database: {db.engine.dialect.name}; provinsi {args.province}: {len(floor_result)} "
          f"kab/kota, {kecamatan} kecamatan, {len(fields)} fields summed; sums agree")
    print(f"floor   one SQL query        : {sql_ms:8.1f} ms")
    print(f"engine  kab/kota + provinsi   : {engine_ms:8.1f} ms  ({engine_ms / sql_ms:.2f}x floor, goal <= 3x)")


if __name__ == "__main__":
    main()
