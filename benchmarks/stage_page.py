"""The stage page of the kecamatan with the most desa, as its operator loads it.

A real server (`aksi serve` in its own process, over loopback HTTP) with the situation
analysis of the kecamatan with the most desa filled by its three units. The floor is the
same server's ``/healthz``, measured in the same run. Printed, each the median of
``--rounds`` requests:

- the stage page as the Puskesmas operator sees it (the whole form, their fields editable):
  server time and bytes, compressed as a browser asks for it (``Accept-Encoding: gzip``)
  and uncompressed; the budget is 60 KB compressed, the goal <= 5x the floor;
- the same page as the Camat (approver) sees it (every field read-only);
- a save of one desa's Puskesmas fields through the page's form (``Simpan draf``).

    python benchmarks/stage_page.py [--db URL] [--rounds 15]
"""

from __future__ import annotations

import argparse
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
from engine.forms import spec_of
from engine.forms.entry import context_for
from engine.forms.sample import sample_document
from engine.people import add_user
from engine.runtime import find_task, save_on, start_year
from engine.store.library import pinned

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
YEAR = 2026
STAGE, FORM = "analisis_situasi", "kec_analisis_situasi"
PASSWORD = "bench-123"
BUDGET = 60 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unit_part(spec, doc: dict, unit: str) -> dict:
    out = {}
    for section in spec.sections:
        names = {f.name for f in section.fields if f.unit == unit}
        value = doc.get(section.name)
        if not names or value is None:
            continue
        if section.kind == "per_region":
            out[section.name] = {c: {k: v for k, v in r.items() if k in names}
                                 for c, r in value.items()}
        elif section.kind == "rows":
            out[section.name] = value
        else:
            out[section.name] = {k: v for k, v in value.items() if k in names}
    return {FORM: out}


def prepare(url: str | None):
    """The store: the province of the largest kecamatan, its year, the analysis filled."""
    kec, desa = largest_kecamatan()
    defs = definitions()
    db = fresh_database(url, province=kec.split(".")[0], with_desa=True)
    definition = defs["kecamatan"]
    units = definition.stage(STAGE).parts
    with db.session() as s:
        start_year(s, defs, YEAR, province=kec.split(".")[0], now=NOW)
        for unit in units:
            add_user(s, defs, f"op-{unit}", role="operator", region=kec, unit=unit,
                     password=PASSWORD, now=NOW)
        add_user(s, defs, "camat", role="approver", region=kec, password=PASSWORD, now=NOW)
        task = find_task(s, kec, STAGE, YEAR)
        ctx = context_for(s, pinned(s, task.definition_hash), task)
    doc = sample_document(definition, FORM, ctx, rng=random.Random(1))
    spec = spec_of(definition, FORM)
    for unit in units:
        with db.session() as s:
            save_on(s, kec, STAGE, YEAR, f"op-{unit}", _unit_part(spec, doc, unit), now=NOW)
    settle(db)
    return db, kec, desa, doc, spec


def serve(db_url: str, port: int) -> subprocess.Popen:
    aksi = str(Path(sys.executable).with_name("aksi"))
    env = {**os.environ, "AKSI_SECRET_KEY": "bench"}
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


def timed_get(client: httpx.Client, path: str, rounds: int) -> tuple[float, int, int]:
    """Median ms, compressed bytes on the wire, decompressed bytes."""
    times, wire, body = [], 0, 0
    for _ in range(rounds):
        start = time.perf_counter()
        with client.stream("GET", path) as response:
            content = response.read()
            wire = response.num_bytes_downloaded
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code}")
        body = len(content)
    return statistics.median(times) * 1000, wire, body


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
    port = _free_port()
    proc = serve(db.url, port)
    base = f"http://127.0.0.1:{port}"
    path = f"/tugas/{YEAR}/{kec}/{STAGE}"
    try:
        operator = signed_in(base, "op-Puskesmas")
        camat = signed_in(base, "camat")
        floor, floor_wire, _ = timed_get(operator, "/healthz", args.rounds)
        page, wire, size = timed_get(operator, path, args.rounds)
        viewed, viewed_wire, viewed_size = timed_get(camat, path, args.rounds)
        html = operator.get(path).text
        action, fields = save_form(operator, path, html)
        saved = None
        if action:
            # One desa's Puskesmas values typed again (every other field as the page holds it).
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
        proc.terminate()
        proc.wait(timeout=10)
    print(f"database: {db.engine.dialect.name}; kecamatan {kec}: {desa} desa/kelurahan; "
          f"median of {args.rounds} requests over loopback HTTP")
    print(f"floor  GET /healthz                    : {floor:7.1f} ms")
    print(f"page   stage page, Puskesmas operator  : {page:7.1f} ms ({page / floor:.1f}x floor, "
          f"goal <= 5x); {wire / 1024:.1f} KB gzip (budget {BUDGET // 1024} KB), "
          f"{size / 1024:.0f} KB uncompressed")
    print(f"page   stage page, Camat (read-only)   : {viewed:7.1f} ms ({viewed / floor:.1f}x floor); "
          f"{viewed_wire / 1024:.1f} KB gzip, {viewed_size / 1024:.0f} KB uncompressed")
    if saved is not None:
        print(f"save   'Simpan draf' of the whole page : {saved:7.1f} ms ({saved / floor:.1f}x floor)")
    else:
        print("save   no 'Simpan draf' form on the page")


if __name__ == "__main__":
    main()
