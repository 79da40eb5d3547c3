"""Operators' task lists under load: a national year (7,837 cases, 77,266 stages) served
by `aksi serve` over loopback HTTP, ``--clients`` operators of different kecamatan asking
for "Tugas saya" (``/tugas``) at once, each ``--requests`` times; beside it the same
number of clients asking for ``/healthz`` at once: the floor under the same concurrency.
Printed: p50 and p95 of each, and the ratio of the p95s.

    python benchmarks/task_list.py [--db URL] [--clients 8] [--requests 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from _setup import definitions, fresh_database, settle, url_from_env
from engine.people import add_user
from engine.runtime.years import start_year
from engine.store.models import Region
from stage_page import _free_port, csrf_of

PASSWORD = "bench-antri-123"
YEAR = 2026


def prepare(url: str | None, clients: int):
    defs = definitions(lifecycle=True)
    db = fresh_database(url)
    start = dt.datetime(YEAR, 1, 5, tzinfo=dt.timezone.utc)
    hashed = generate_password_hash(PASSWORD)  # one hash for every account: set-up speed
    with db.session() as s:
        start_year(s, defs, YEAR, now=start)
        kecamatan = s.scalars(select(Region.code).where(Region.tier == 3)
                              .order_by(Region.code)).all()
        step = max(1, len(kecamatan) // clients)
        chosen = kecamatan[::step][:clients]  # spread over the country
        for code in chosen:
            add_user(s, defs, f"operator-{code}", role="operator", region=code, now=start,
                     password_hash=hashed)
    settle(db)
    return db, [f"operator-{code}" for code in chosen]


def serve(db_url: str, port: int) -> subprocess.Popen:
    aksi = str(Path(sys.executable).with_name("aksi"))
    env = {**os.environ, "AKSI_SECRET_KEY": "bench-" + "k" * 40}
    proc = subprocess.Popen([aksi, "--db", db_url, "serve", "--port", str(port), "--no-clock"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("aksi serve did not answer")


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120, headers={"Accept-Encoding": "gzip"})
    page = client.get("/masuk")
    answer = client.post("/masuk", data={"username": username, "password": PASSWORD,
                                         "csrf_token": csrf_of(page.text)})
    if answer.status_code != 302:
        raise SystemExit(f"{username} could not sign in ({answer.status_code})")
    return client


def under_load(clients: list[httpx.Client], path: str, requests: int) -> list[float]:
    """Every client asks for ``path`` ``requests`` times, all at once; the seconds each took."""
    taken: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(len(clients))

    def run(client: httpx.Client) -> None:
        client.get(path)  # warm
        ready.wait()
        mine = []
        for _ in range(requests):
            start = time.perf_counter()
            answer = client.get(path)
            mine.append(time.perf_counter() - start)
            if answer.status_code != 200:
                raise SystemExit(f"GET {path}: {answer.status_code}")
        with lock:
            taken.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return taken


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=40)
    args = ap.parse_args()
    db, usernames = prepare(args.db, args.clients)
    port = _free_port()
    proc = serve(db.url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        clients = [signed_in(base, name) for name in usernames]
        floor = under_load(clients, "/healthz", args.requests)
        lists = under_load(clients, "/tugas", args.requests)
        size = len(clients[0].get("/tugas").content)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"database: {db.engine.dialect.name}; national year {YEAR}; {len(usernames)} operators "
          f"of kecamatan across the country at once, {args.requests} requests each, over "
          "loopback HTTP (aksi serve, threaded)")
    print(f"floor  GET /healthz  : p50 {p(floor, 50):7.1f} ms, p95 {p(floor, 95):7.1f} ms")
    print(f"list   GET /tugas    : p50 {p(lists, 50):7.1f} ms, p95 {p(lists, 95):7.1f} ms "
          f"({p(lists, 95) / p(floor, 95):.1f}x the floor's p95); {size / 1024:.1f} KB")


if __name__ == "__main__":
    main()
