"""The stage page of the kecamatan with the most desa, as its operator loads it.

A real server (`aksi serve` in its own process, over loopback HTTP) with the situation
analysis of the kecamatan with the most desa as it stands mid-stage: last year's analysis
approved (so the page shows last year's value under each cell), this year's filled by its
three units, the Setcam and PLKB parts submitted, the Puskesmas part still a draft. Last
year's values are this year's within the year-over-year tolerance, except in a few desa
with a real jump (a few jump warnings, as real data has); both years are otherwise free of
rule problems. The floor is the same server's ``/healthz``, measured in the same run.
Printed, each the median of ``--rounds`` requests:

- the stage page as the Puskesmas operator sees it (the whole form, their fields editable):
  server time and bytes, compressed as a browser asks for it (``Accept-Encoding: gzip``)
  and uncompressed; the budget is 60 KB compressed, the goal <= 5x the floor. The form is
  kept between requests under the stamp of the stage's data (engine/web/page_cache.py), so
  this is the page as it is seen again and again while the data stays;
- the same page from a second server that keeps nothing (``AKSI_PAGE_CACHE_BYTES=0``):
  what the first view after every change of the data costs (the form checked, rendered
  and compressed);
- the same page as the Camat (approver) sees it (every field read-only, the review panel);
- the same page as the Setcam verifikator sees it (the review panel with its return form);
- a save of the Puskesmas fields through the page's form (``Simpan draf``).

    python benchmarks/stage_page.py [--db URL] [--rounds 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from _setup import definitions, fresh_database, largest_kecamatan, settle, url_from_env
from engine.errors import InvalidForm
from engine.definitions.forms.spec import spec_of
from engine.forms.entry import context_for
from engine.definitions.forms.rules import rules_of
from engine.forms.sample import sample_document
from engine.forms.validate import DRAFT, check_document
from engine.people import add_user
from engine.simulation.forms import unit_share
from engine.runtime import act_on, find_task, save_on, start_year
from engine.store.library import pinned

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
LAST_YEAR_AT = dt.datetime(2025, 1, 5, 3, 0, tzinfo=UTC)
JUMPS = 4  # desa whose values jumped since last year
GOAL = 5
YEAR = 2026
STAGE, FORM = "analisis_situasi", "kec_analisis_situasi"
PASSWORD = "bench-123"
BUDGET = 60 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def last_years(definition, doc: dict, sample: dict, ctx, rng: random.Random) -> dict:
    """Last year's document: this year's values moved within the year-over-year tolerance,
    except ``JUMPS`` desa whose checked values were several times larger; a desa whose moved
    values break a rule keeps the sample's (``sample``: a sample of last year, its dates
    in that year); last year's analysis was approved."""
    spec = spec_of(definition, FORM)
    before = {k: (dict(v) if isinstance(v, dict) else v) for k, v in sample.items()}
    jumped = 0
    for yoy in rules_of(definition, FORM).year_over_year:
        section = spec.section(yoy.section)
        rows = before.get(yoy.section)
        if section is None or not isinstance(rows, dict):
            continue
        names = yoy.fields or tuple(f.name for f in section.fields if f.kind == "count")
        for code in sorted(rows):
            now = (doc.get(yoy.section) or {}).get(code) or {}
            factor = rng.uniform(0.8, 1.2)  # one per desa: the row's sums and bounds hold
            moved = {name: round(now[name] * factor) for name in names
                     if isinstance(now.get(name), int) and now[name] > 0}
            tries = [moved]
            if jumped < JUMPS and rng.random() < 0.1:  # one value several times larger
                tries = [{**moved, name: now[name] * 4 + 7} for name in moved] + tries
            for values in tries:
                candidate = {**before, yoy.section: {**rows, code: {**rows[code], **values}}}
                found = check_document(definition, FORM, candidate, ctx)
                if not any(p.is_error and p.row == code for p in found):
                    rows = candidate[yoy.section]
                    jumped += values is not moved
                    break
        before[yoy.section] = rows
    return before


def without_warnings(definition, doc: dict, ctx) -> dict:
    """The sample with its rule warnings resolved (a value "melebihi" another is set to
    it): the data a careful unit enters, so the page shows only the warnings set up here."""
    for problem in check_document(definition, FORM, doc, ctx, phase=DRAFT):
        row = (doc.get(problem.section) or {}).get(problem.row) if problem.row else None
        if not problem.is_error and isinstance(row, dict) and len(problem.fields) == 2:
            high, bound = problem.fields
            if isinstance(row.get(bound), int):
                row[high] = row[bound]
    return doc


def _pass_through(db, kec: str, year: int, doc: dict, definition, units, *, approve: bool,
                  now) -> None:
    for unit in units:
        with db.session() as s:
            save_on(s, kec, STAGE, year, f"op-{unit}", unit_share(definition, {FORM: doc}, unit),
                    now=now)
    for unit in units:
        with db.session() as s:
            try:
                act_on(s, kec, STAGE, year, "submit", f"op-{unit}", now=now)
            except InvalidForm as exc:
                raise SystemExit(f"{year} {unit}: {exc.problems}")
    if approve:
        for unit in units:
            with db.session() as s:
                act_on(s, kec, STAGE, year, "verify", f"ver-{unit}", now=now)
        with db.session() as s:
            act_on(s, kec, STAGE, year, "approve", "camat", now=now)


def prepare(url: str | None):
    """The store: the province of the largest kecamatan, last year's analysis approved,
    this year's filled (two parts submitted)."""
    kec, desa = largest_kecamatan()
    defs = definitions()
    province = kec.split(".")[0]
    db = fresh_database(url, province=province, with_desa=True)
    definition = defs["kecamatan"]
    units = definition.stage(STAGE).parts
    with db.session() as s:
        start_year(s, defs, YEAR - 1, province=province, now=LAST_YEAR_AT)
        for unit in units:
            add_user(s, defs, f"op-{unit}", role="operator", region=kec, unit=unit,
                     password=PASSWORD, now=LAST_YEAR_AT)
            add_user(s, defs, f"ver-{unit}", role="verifikator", region=kec, unit=unit,
                     password=PASSWORD, now=LAST_YEAR_AT)
        add_user(s, defs, "camat", role="approver", region=kec, password=PASSWORD,
                 now=LAST_YEAR_AT)
        task = find_task(s, kec, STAGE, YEAR - 1)
        ctx = context_for(s, pinned(s, task.definition_hash), task)
    this = dataclasses.replace(ctx, year=YEAR)
    doc = without_warnings(definition, sample_document(definition, FORM, this,
                                                       rng=random.Random(1)), this)
    sample = without_warnings(definition, sample_document(definition, FORM, ctx,
                                                          rng=random.Random(1)), ctx)
    spec = spec_of(definition, FORM)
    before = last_years(definition, doc, sample, ctx, random.Random(2))
    _pass_through(db, kec, YEAR - 1, before, definition, units, approve=True, now=LAST_YEAR_AT)
    with db.session() as s:
        start_year(s, defs, YEAR, province=province, now=NOW)
    for unit in units:
        with db.session() as s:
            save_on(s, kec, STAGE, YEAR, f"op-{unit}", unit_share(definition, {FORM: doc}, unit),
                    now=NOW)
    _pass_through(db, kec, YEAR, doc, definition, [u for u in units if u != "Puskesmas"],
                  approve=False, now=NOW)
    settle(db)
    return db, kec, desa, doc, spec


def serve(db_url: str, port: int, **settings: str) -> subprocess.Popen:
    aksi = str(Path(sys.executable).with_name("aksi"))
    env = {**os.environ, "AKSI_SECRET_KEY": "bench-" + "k" * 40, **settings}
    proc = subprocess.Popen([aksi, "--db", db_url, "serve", "--port", str(port), "--no-clock"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("aksi serve did not answer")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    if not found:
        raise SystemExit("no CSRF token on the page")
    return found.group(1)


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=True,
                          headers={"Accept-Encoding": "gzip"})
    login = client.get("/masuk")
    answer = client.post("/masuk", data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf_of(login.text)})
    if answer.status_code >= 400 or "/masuk" in str(answer.url):
        raise SystemExit(f"{username} could not sign in ({answer.status_code})")
    return client


def _get(client: httpx.Client, path: str) -> tuple[float, int, int]:
    """Seconds, compressed bytes on the wire, decompressed bytes of one GET."""
    start = time.perf_counter()
    with client.stream("GET", path) as response:
        content = response.read()
        wire = response.num_bytes_downloaded
    took = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code}")
    return took, wire, len(content)


def timed_beside_floor(client: httpx.Client, path: str, rounds: int,
                       block: int = 5) -> tuple[float, float, int, int]:
    """(median ms of ``path``, median ms of the same server's /healthz, bytes on the wire,
    decompressed bytes). The two are measured in alternating blocks of ``block`` requests,
    so a drift of the machine's speed during the run moves both; the first request of each
    block is not counted (it pays for the garbage and the connection of the one before)."""
    floors: list[float] = []
    pages: list[tuple[float, int, int]] = []
    while len(pages) < rounds:
        floors += [_get(client, "/healthz")[0] for _ in range(block)][1:]
        pages += [_get(client, path) for _ in range(block)][1:]
    return (statistics.median(t for t, _, _ in pages) * 1000, statistics.median(floors) * 1000,
            pages[-1][1], pages[-1][2])


def save_form(client: httpx.Client, page_path: str, html: str):
    """The page's draft-save form, as a browser would post it: its action and fields."""
    forms = re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S)
    for form in forms:
        if "Simpan draf" not in form:
            continue
        action = re.search(r'action="([^"]+)"', form)
        fields = {}
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", form):
            name = re.search(r'name="([^"]+)"', tag)
            if not name or re.search(r'type="(?:submit|file|checkbox)"', tag):
                continue
            value = re.search(r'value="([^"]*)"', tag)
            fields[name.group(1)] = value.group(1) if value else ""
        return (action.group(1) if action else page_path).replace("&amp;", "&"), fields
    return None, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    db, kec, desa, doc, spec = prepare(args.db)
    port, cold_port = _free_port(), _free_port()
    proc = serve(db.url, port)
    cold_proc = serve(db.url, cold_port, AKSI_PAGE_CACHE_BYTES="0")
    base = f"http://127.0.0.1:{port}"
    path = f"/tugas/{YEAR}/{kec}/{STAGE}"
    try:
        cold = signed_in(f"http://127.0.0.1:{cold_port}", "op-Puskesmas")
        first, cold_floor, first_wire, first_size = timed_beside_floor(cold, path, args.rounds)
        operator = signed_in(base, "op-Puskesmas")
        camat = signed_in(base, "camat")
        verifikator = signed_in(base, "ver-Setcam")
        page, floor, wire, size = timed_beside_floor(operator, path, args.rounds)
        viewed, viewed_floor, viewed_wire, viewed_size = timed_beside_floor(camat, path,
                                                                            args.rounds)
        checked, checked_floor, checked_wire, checked_size = timed_beside_floor(
            verifikator, path, args.rounds)
        html = operator.get(path).text
        jumps = (len(re.findall(r"<small>[\d.,]+</small>(?!</th>)", html)),
                 len(re.findall(r"\(\d+,\d× tahun lalu\)", html)))
        action, fields = save_form(operator, path, html)
        saved = None
        if action:
            # The Puskesmas values typed again (every other field as the page holds it).
            fields["csrf_token"] = csrf_of(html)
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                answer = operator.post(action, data={**fields, "aksi": "simpan"})
                times.append(time.perf_counter() - start)
                if answer.status_code >= 400:
                    raise SystemExit(f"save: {answer.status_code}")
            saved = statistics.median(times) * 1000
    finally:
        for running in (proc, cold_proc):
            running.terminate()
            running.wait(timeout=10)
    print(f"database: {db.engine.dialect.name}; kecamatan {kec}: {desa} desa/kelurahan; "
          f"median of {args.rounds} requests over loopback HTTP; last year's values shown: "
          f"{jumps[0]}, jump warnings: {jumps[1]}")
    print(f"floor  GET /healthz                    : {floor:7.1f} ms")

    def line(what: str, ms: float, wire_bytes: int, body: int, floor: float = floor) -> str:
        return (f"page   {what:<32}: {ms:7.1f} ms ({ms / floor:.1f}x the floor of {floor:.1f} ms "
                f"beside it, goal <= {GOAL}x); "
                f"{wire_bytes / 1024:.1f} KB gzip (budget {BUDGET // 1024} KB), "
                f"{body / 1024:.0f} KB uncompressed")
    print(line("stage page, Puskesmas operator", page, wire, size))
    print(f"page   {'the same, nothing kept':<32}: {first:7.1f} ms ({first / cold_floor:.1f}x "
          f"its server's floor of {cold_floor:.1f} ms; the first view after a change); "
          f"{first_wire / 1024:.1f} KB gzip, {first_size / 1024:.0f} KB uncompressed")
    print(line("stage page, Camat (read-only)", viewed, viewed_wire, viewed_size, viewed_floor))
    print(line("stage page, Setcam verifikator", checked, checked_wire, checked_size,
               checked_floor))
    if saved is not None:
        print(f"save   'Simpan draf' of the whole page : {saved:7.1f} ms ({saved / floor:.1f}x floor; "
              "the POST and the page it redirects to, as a browser sees it)")
    else:
        print("save   no 'Simpan draf' form on the page")


if __name__ == "__main__":
    main()
