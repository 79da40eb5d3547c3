"""Cost of a stage's PDF: a kecamatan pra-musrenbang Berita Acara whose daftar rencana
(its Lampiran 1) has 80 programme rows, beside a floor measured in the same run.

    python benchmarks/document_pdf.py [--db URL] [--rows 80]

In the process: the HTML, the PDF of that HTML, `document()` of the approved stage the
first time (render and keep) and again (the kept bytes); the floor is WeasyPrint
rendering a one-paragraph page. Whole process, as `time` reports a subprocess: `aksi
document` of a draft (rendered fresh) and of the approved stage (kept), beside
`aksi --help` (the CLI's start-up alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import definitions, fresh_database, url_from_env
from engine.forms.documents import document, render_html, render_pdf, trail_of
from engine.forms.entry import context_for, stage_documents
from engine.forms.files import store_upload
from engine.forms.sample import sample_document
from engine.definitions.forms.spec import spec_of
from engine.people import add_user
from engine.runtime import act_on, find_task, save_on, start_year
from engine.runtime.gates import open_task
from engine.store.library import pinned

UTC = dt.timezone.utc
YEAR = 2026
APPROVED, DRAFT = "19.01.03", "19.01.04"  # Merawang (approved), Mendo Barat (a draft)
STAGE, LIST, BA = "pra_musrenbang", "kec_pra_musrenbang", "kec_berita_acara_pra_musrenbang"
FEB = dt.datetime(YEAR, 2, 10, 3, tzinfo=UTC)
SCAN = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def fill(db, defs, region: str, rows: int) -> None:
    with db.session() as s:
        for role in ("operator", "verifikator", "approver"):
            add_user(s, defs, f"{role}@{region}", role=role, region=region, now=FEB)
        task = find_task(s, region, STAGE, YEAR)
        definition = pinned(s, task.definition_hash)
        open_task(s, task, definition, FEB)
    with db.session() as s:
        task = find_task(s, region, STAGE, YEAR)
        ctx = context_for(s, definition, task)
        data = {f: sample_document(definition, f, ctx, rng=random.Random(1))
                for f in definition.stage(STAGE).outputs}
        data[LIST]["rencana"] = []
        for i in range(rows):
            row = sample_document(definition, LIST, ctx, rng=random.Random(i))["rencana"][0]
            row["program_kegiatan"] = (f"Program/kegiatan {i + 1}: pemberian makanan tambahan "
                                       "berbahan pangan lokal bagi balita gizi kurang")
            row["prioritas"] = i + 1
            data[LIST]["rencana"].append(row)
        data[BA]["pertemuan"]["tanggal_pelaksanaan"] = f"{YEAR}-02-05"
        data[BA]["berita_acara"].pop("tanggal_musrenbang_kecamatan", None)
        field = spec_of(definition, BA).find("berita_acara.berkas_berita_acara")[1]
        data[BA]["berita_acara"]["berkas_berita_acara"] = store_upload(
            s, task=task, field=field, content=SCAN, name="ba.pdf",
            username=f"operator@{region}", now=FEB)
        save_on(s, region, STAGE, YEAR, f"operator@{region}", data, now=FEB)


def page_count(pdf: bytes) -> str:
    try:
        import io

        from pypdf import PdfReader
    except ImportError:
        return "?"
    return str(len(PdfReader(io.BytesIO(pdf)).pages))


def timed(fn, runs: int = 1):
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


def process(args: list[str], env: dict) -> tuple[float, float]:
    """(wall, user+sys CPU) seconds of a subprocess, as `time` reports them."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--rows", type=int, default=80)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    files = Path(tempfile.mkdtemp(prefix="aksi-bench-files-"))
    os.environ["AKSI_FILES"] = str(files)
    defs = definitions()
    db = fresh_database(args.db, province="19", with_desa=True)
    with db.session() as s:
        start_year(s, defs, YEAR, province="19", now=dt.datetime(YEAR, 1, 5, 3, tzinfo=UTC))
    for region in (APPROVED, DRAFT):
        fill(db, defs, region, args.rows)
    for i, (trigger, role) in enumerate((("submit", "operator"), ("verify", "verifikator"),
                                         ("approve", "approver")), 1):
        with db.session() as s:
            act_on(s, APPROVED, STAGE, YEAR, trigger, f"{role}@{APPROVED}",
                   now=FEB + dt.timedelta(hours=i))

    render_pdf("<p>pemanasan</p>")  # WeasyPrint's imports and fonts, paid once per process
    _, floor = timed(lambda: render_pdf("<!DOCTYPE html><html lang=id><body><p>Satu paragraf."
                                        "</p></body></html>"), runs=5)
    with db.session() as s:
        task = find_task(s, APPROVED, STAGE, YEAR)
        definition = pinned(s, task.definition_hash)
        ctx = context_for(s, definition, task)
        docs = stage_documents(s, definition, task)
        trail = trail_of(s, definition, task)

        def html_once():
            return render_html(definition, task, task.case.region.name, docs, trail, form=BA,
                               names=ctx.rows, rows=list(ctx.rows), row_kind=ctx.row_kind)
        html, html_s = timed(html_once, runs=args.runs)
    pdf, pdf_s = timed(lambda: render_pdf(html), runs=args.runs)
    pages = page_count(pdf)

    def approved_document():
        with db.session() as s:
            return document(s, region=APPROVED, stage=STAGE, year=YEAR, fmt="pdf")[0]
    first, first_s = timed(approved_document)
    again, again_s = timed(approved_document, runs=5)
    assert again == first

    env = {**os.environ, "AKSI_DATABASE_URL": db.url, "AKSI_FILES": str(files)}
    aksi = [str(Path(sys.executable).parent / "aksi")]
    out = files / "out.pdf"
    cli = [*aksi, "document", "{region}", STAGE, "--year", str(YEAR), "--format", "pdf",
           "-o", str(out)]
    draft_wall, draft_cpu = process([a.format(region=DRAFT) for a in cli], env)
    kept_wall, kept_cpu = process([a.format(region=APPROVED) for a in cli], env)
    help_wall, help_cpu = process([*aksi, "--help"], env)

    print(f"database: {db.engine.dialect.name}; Berita Acara + Lampiran of {args.rows} rows: "
          f"{len(html) // 1024} KB HTML, {len(pdf) // 1024} KB PDF, {pages} pages")
    print(f"floor: WeasyPrint, one-paragraph page      {floor * 1000:8.0f} ms (median of 5)")
    print(f"render_html                                {html_s * 1000:8.0f} ms (median of {args.runs})")
    print(f"render_pdf of that HTML                    {pdf_s * 1000:8.0f} ms (median of {args.runs})")
    print(f"document(), approved, first (render+keep)  {first_s * 1000:8.0f} ms")
    print(f"document(), approved, again (kept bytes)   {again_s * 1000:8.1f} ms (median of 5)")
    print(f"process: aksi document, draft (fresh)      {draft_wall:8.2f} s wall, {draft_cpu:.2f} s CPU")
    print(f"process: aksi document, approved (kept)    {kept_wall:8.2f} s wall, {kept_cpu:.2f} s CPU")
    print(f"process floor: aksi --help                 {help_wall:8.2f} s wall, {help_cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
