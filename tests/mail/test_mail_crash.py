"""An e-mail worker killed with SIGKILL in the middle of a delivery loses nothing.

A real worker process sends to a real SMTP server (aiosmtpd) on loopback; the server
holds one message's answer, the worker is killed while it waits, and a restarted
worker (here: the test process) takes over once the lease expired. Every e-mail is
delivered; the one the server had already accepted comes again, with the same
Message-ID and the same content.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import time_machine

from engine.mail import list_deliveries, run_once
from engine.worker.tick import tick

from .support import (KEC, REMINDER_AT, SmtpRecorder, add_people, addressed_events,
                      environment, settings_for, start_province)

WORKER = Path(__file__).with_name("mail_worker.py")
REPO = Path(__file__).resolve().parents[2]
LEASE = 30  # seconds: expiry is reached by moving `now`, not by waiting
HOLD_AT = 4  # the message whose answer the server holds

# Operators of eight kecamatan, every message each: enough e-mails for several batches.
KECAMATAN = [f"19.01.0{i}" for i in range(1, 9)]


@pytest.fixture
def holding_smtp():
    recorder = SmtpRecorder(hold_at=HOLD_AT)
    recorder.start()
    yield recorder
    recorder.stop()


def _mail(db):
    with db.session() as s:
        return [r for r in list_deliveries(s, limit=None)]


def test_sigkill_mid_delivery_loses_nothing_and_a_repeat_has_the_same_message_id(
        db, defs, holding_smtp, tmp_path):
    start_province(db, defs)
    add_people(db, defs, [(f"op{i}", "operator", code, f"op{i}@kec{i}.example.go.id", "each")
                          for i, code in enumerate(KECAMATAN)])
    with time_machine.travel(REMINDER_AT, tick=False):
        tick(db)
    expected = {e for code in KECAMATAN for e in addressed_events(db, "operator", code)}
    assert len(expected) == len(KECAMATAN)

    log_path = tmp_path / "worker.log"
    env = {**os.environ, **environment(holding_smtp.port)}
    with log_path.open("w") as log:
        worker = subprocess.Popen([sys.executable, str(WORKER), db.url, str(LEASE)],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        try:
            assert holding_smtp.holding.wait(timeout=120), log_path.read_text()
            assert worker.poll() is None, "the worker must be alive, waiting for the answer"
            os.kill(worker.pid, signal.SIGKILL)
            assert worker.wait(timeout=30) == -signal.SIGKILL
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            holding_smtp.release.set()

    held_id = holding_smtp.received[HOLD_AT - 1].message_id
    rows = _mail(db)
    leased = [r for r in rows if r.lease_until is not None]
    assert leased and all(r.status == "pending" and r.attempts == 0 for r in leased)

    settings = settings_for(holding_smtp.port)
    before = len(holding_smtp.received)
    run_once(db, settings)  # before the lease expires: the dead worker's claims stay put
    assert held_id not in holding_smtp.ids()[before:]
    expiry = max(r.lease_until for r in leased)
    for _ in range(10):
        run_once(db, settings, expiry + dt.timedelta(seconds=1))
        if all(r.status == "delivered" for r in _mail(db)):
            break

    final = _mail(db)
    assert sorted(r.event_id for r in final) == sorted(expected)  # every event, once queued
    assert {r.status for r in final} == {"delivered"}
    received = defaultdict(list)
    for r in holding_smtp.received:
        received[r.message_id].append(r.message)
    events = {int(mid.split(".e")[1].split(".")[0]) for mid in received}
    assert events == expected  # none lost
    repeated = {mid for mid, msgs in received.items() if len(msgs) > 1}
    assert held_id in repeated  # the interrupted e-mail came again, with the same Message-ID
    for mid in repeated:
        first, *others = received[mid]
        assert all(o.as_bytes() == first.as_bytes() for o in others)  # the same e-mail
