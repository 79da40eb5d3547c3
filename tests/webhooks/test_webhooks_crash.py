"""A worker killed with SIGKILL in the middle of a delivery loses nothing.

A real worker process delivers to a real HTTP endpoint on loopback; the endpoint
holds one request open, the worker is killed while it waits for the answer, and
a restarted worker (here: the test process) takes over once the lease expired.
Every event is delivered; the one the receiver had already seen comes again,
with the same Idempotency-Key and body.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

from werkzeug import Response

from webhook_support import SECRET, add_events, deliveries
from webhooks import load_subscriptions, run_once, verify_signature

WORKER = Path(__file__).with_name("webhook_worker.py")
LEASE = 30  # seconds: expiry is reached by moving `now`, not by waiting
HOLD_AT = 4  # the request the receiver holds open


class HoldingReceiver:
    """Answers 200, except that request number HOLD_AT is held open until released."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen: list[tuple[str, bytes, str, str]] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, request):
        with self.lock:
            self.seen.append((request.headers["Idempotency-Key"], request.get_data(),
                              request.headers["X-Aksi-Timestamp"],
                              request.headers["X-Aksi-Signature"]))
            n = len(self.seen)
        if n == HOLD_AT:
            self.holding.set()
            self.release.wait(timeout=60)
        return Response("ok")


def test_sigkill_mid_delivery_loses_nothing_and_repeats_carry_the_same_key(
        db, threaded_httpserver, tmp_path):
    receiver = HoldingReceiver()
    threaded_httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    hooks = tmp_path / "hooks.yaml"
    hooks.write_text(f"- name: pusat\n  url: {threaded_httpserver.url_for('/hook')}\n"
                     f"  secret: {SECRET}\n  events: ['*']\n", encoding="utf-8")
    ids = add_events(db, [("submit" if i % 2 else "approve", f"19.0{i % 5 + 1}")
                          for i in range(12)])

    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, str(WORKER), db.url, str(hooks), str(LEASE)],
                              stdout=log, stderr=subprocess.STDOUT,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        # More events while the worker runs.
        ids += add_events(db, [("approve", "19.02")] * 3)
        assert receiver.holding.wait(timeout=60), (tmp_path / "worker.log").read_text()
        assert worker.poll() is None, "the worker must be alive, waiting for the answer"
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()
        receiver.release.set()

    held_key = receiver.seen[HOLD_AT - 1][0]
    rows = {str(r.event_id): r for r in deliveries(db)}
    held = rows[held_key]
    # The held delivery is still claimed by the dead worker: not delivered, leased.
    assert held.status == "pending" and held.attempts == 0 and held.lease_until is not None
    leased = [r for r in rows.values() if r.lease_until is not None]
    assert held in leased

    # A new worker, before the lease expires: the dead worker's claims stay untouched.
    subs = load_subscriptions(hooks)
    before = len(receiver.seen)
    run_once(db, subs)
    assert [k for k, *_ in receiver.seen[before:]].count(held_key) == 0
    # After it expires they are claimed again and sent.
    expiry = max(r.lease_until for r in leased)
    for _ in range(20):
        run_once(db, subs, expiry + dt.timedelta(seconds=1))
        if all(r.status == "delivered" for r in deliveries(db)):
            break

    final = deliveries(db)
    assert sorted(r.event_id for r in final) == sorted(ids)  # every event, once queued
    assert {r.status for r in final} == {"delivered"}
    received = defaultdict(list)
    for key, body, timestamp, header in receiver.seen:
        verify_signature(SECRET, timestamp, body, header)
        received[key].append(body)
    assert set(received) == {str(i) for i in ids}  # none lost
    repeated = {k for k, bodies in received.items() if len(bodies) > 1}
    assert held_key in repeated  # the interrupted delivery came again...
    for key in repeated:  # ...with the same key, and the same event
        assert len(set(received[key])) == 1
        assert f'"id":{key},'.encode() in received[key][0]
