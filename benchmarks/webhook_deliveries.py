"""Webhook deliveries per second, to a receiver on 127.0.0.1.

    python benchmarks/webhook_deliveries.py [--db URL] [--events 2000] [--concurrency 1 4 16]
                                            [--latency MS]

Writes N events, queues them for one subscription (timed), then delivers them
with `deliver_due` in batches until none is left (timed), once per concurrency
level (the queue is reset in between). The receiver is a threaded
``http.server`` on the loopback, HTTP/1.1 with keep-alive, checking every
signature and answering 204 (after ``--latency`` ms: a remote system is slower
than the loopback); each run is bounded by ``--timeout`` seconds.
Each batch costs a claim transaction, each group of 20 answers an outcome
transaction, each delivery one POST: the database's commit cost shows too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import threading
import time

from sqlalchemy import delete, func, select

from _setup import fresh_database, url_from_env
from engine.store import events
from engine.store.models import OutboxCursor, WebhookDelivery
from webhooks import Subscription, deliver_due, enqueue, verify_signature

UTC = dt.timezone.utc
SECRET = "benchmark-secret"


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: httpx reuses its connections
    count = 0
    bad = 0
    lock = threading.Lock()

    latency = 0.0

    def do_POST(self) -> None:  # noqa: N802
        if Receiver.latency:
            time.sleep(Receiver.latency)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            verify_signature(SECRET, self.headers["X-Aksi-Timestamp"], body,
                             self.headers["X-Aksi-Signature"])
            status = 204
        except Exception:
            status = 401
        with Receiver.lock:
            Receiver.count += 1
            Receiver.bad += status != 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=url_from_env())
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=100, help="deliveries claimed per call")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--latency", type=float, default=0, metavar="MS",
                    help="the receiver waits this long before answering")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per run, at most")
    args = ap.parse_args()
    Receiver.latency = args.latency / 1000

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    sub = Subscription(name="bench", url=url, secret=SECRET, events=("*",), timeout=10)

    db = fresh_database(args.db, province="19")
    now = dt.datetime(2026, 1, 5, 3, tzinfo=UTC)
    with db.session() as s:
        for i in range(args.events):
            events.record(s, "submit", actor="bench", at=now, region_code=f"19.01.{i % 8 + 1:02d}",
                          level="kecamatan", year=2026, from_state="ready", to_state="submitted",
                          payload={"n": i, "note": "x" * 200})

    print(f"database: {db.engine.dialect.name}; {args.events} events, receiver {url} "
          f"answering after {args.latency:g} ms")
    for concurrency in args.concurrency:
        with db.session() as s:
            s.execute(delete(WebhookDelivery))
            s.execute(delete(OutboxCursor))
        t0 = time.perf_counter()
        queued = 0
        while True:
            with db.session() as s:
                n = enqueue(s, [sub], 1000, now=now)
            queued += n
            if n < 1000:
                break
        enqueue_s = time.perf_counter() - t0
        Receiver.count = Receiver.bad = 0
        t0 = time.perf_counter()
        delivered = 0
        while delivered < queued and time.perf_counter() - t0 < args.timeout:
            report = deliver_due(db, [sub], now=now, limit=args.batch, concurrency=concurrency)
            delivered += report.delivered
            if report.failed or report.dead:
                raise SystemExit(f"unexpected failures: {report}")
        deliver_s = time.perf_counter() - t0
        with db.session() as s:
            done = s.scalar(select(func.count()).select_from(WebhookDelivery)
                            .where(WebhookDelivery.status == "delivered"))
        assert done == delivered == queued == Receiver.count, (done, delivered, queued,
                                                               Receiver.count)
        assert Receiver.bad == 0
        print(f"concurrency {concurrency:>2}: queued {queued} in {enqueue_s * 1000:.0f} ms "
              f"({queued / enqueue_s:,.0f}/s); delivered {delivered} in {deliver_s:.2f} s: "
              f"{delivered / deliver_s:,.0f} deliveries/s")
    server.shutdown()
    db.dispose()


if __name__ == "__main__":
    main()
