"""Queueing from the event table: filtering, idempotence, concurrency, late commits."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections import Counter

import pytest
from sqlalchemy import select, text

from engine.definitions import load
from engine.regions import load_regions
from engine.runtime import act_on, start_year
from engine.store import events
from engine.store.models import Event, WebhookDelivery
from webhook_support import REPO, NOW, add_events, enqueue_until_done, subscription
from webhooks import enqueue
from webhooks.outbox import cursors


def queued(db) -> set[tuple[str, int]]:
    with db.session() as s:
        return set(s.execute(select(WebhookDelivery.subscription, WebhookDelivery.event_id)).all())


def test_queues_matching_events_only_by_kind_and_region_prefix(db):
    ids = add_events(db, [
        ("approve", "19"),           # 0
        ("approve", "19.01.02"),     # 1
        ("approve", "190.01"),       # 2: not under 19
        ("submit", "19.01"),         # 3: another kind
        ("approve", None),           # 4: no region
        ("reject", "32.04.01"),      # 5
        ("approve", "32.05"),        # 6: not under 32.04
    ])
    subs = [
        subscription("approvals-19", "http://h/a", events=("approve",), regions=("19",)),
        subscription("two-kinds", "http://h/b", events=("approve", "reject"),
                     regions=("19.01", "32.04")),
        subscription("everything", "http://h/c"),
    ]
    with db.session() as s:
        assert enqueue(s, subs, now=NOW) == 2 + 2 + 7
    assert queued(db) == {
        ("approvals-19", ids[0]), ("approvals-19", ids[1]),
        ("two-kinds", ids[1]), ("two-kinds", ids[5]),
        *(("everything", i) for i in ids),
    }
    with db.session() as s:
        rows = s.scalars(select(WebhookDelivery)).all()
        assert {(r.status, r.attempts, r.next_attempt_at, r.lease_until) for r in rows} == {
            ("pending", 0, NOW, None)}
        # Every cursor moved past everything scanned, matching or not.
        assert cursors(s) == {"approvals-19": ids[-1], "two-kinds": ids[-1], "everything": ids[-1]}


def test_enqueue_twice_queues_nothing_new_then_only_new_events(db):
    subs = [subscription("a", "http://h/a"), subscription("b", "http://h/b", events=("submit",))]
    first = add_events(db, [("submit", "19.01"), ("approve", "19.01")])
    with db.session() as s:
        assert enqueue(s, subs, now=NOW) == 3
    with db.session() as s:
        assert enqueue(s, subs, now=NOW) == 0
    second = add_events(db, [("submit", "19.02")])
    with db.session() as s:
        assert enqueue(s, subs, now=NOW) == 2
    assert queued(db) == {("a", first[0]), ("a", first[1]), ("b", first[0]),
                          ("a", second[0]), ("b", second[0])}


def test_enqueue_respects_the_limit_and_resumes(db):
    ids = add_events(db, [("submit", "19")] * 25)
    sub = subscription("a", "http://h/a")
    counts = []
    while True:
        with db.session() as s:
            counts.append(enqueue(s, [sub], 10, now=NOW))
        if counts[-1] < 10:
            break
    assert counts == [10, 10, 5]
    assert queued(db) == {("a", i) for i in ids}


def test_a_rolled_back_change_queues_nothing(db):
    sub = subscription("a", "http://h/a")
    with pytest.raises(RuntimeError):
        with db.session() as s:
            events.record(s, "submit", actor="x", at=NOW, region_code="19")
            raise RuntimeError("the change failed")
    kept = add_events(db, [("approve", "19")])
    with db.session() as s:
        assert enqueue(s, [sub], now=NOW) == 1
    assert queued(db) == {("a", kept[0])}


def test_real_engine_events_are_filtered(db, tmp_path):
    """Year start and an approval walked with act_on: the events the engine itself writes."""
    from runtime.support import lifecycle_only

    defs = load(lifecycle_only(REPO / "workflows", tmp_path))
    with db.session() as s:
        load_regions(s, "19")
        start_year(s, defs, 2026, province="19", now=NOW)
    from engine.people import add_user

    region = "19.01.01"
    with db.session() as s:
        for role in ("operator", "verifikator", "approver"):
            add_user(s, defs, f"{role}@{region}", role=role, region=region, now=NOW)
    with db.session() as s:
        for trigger, role in (("submit", "operator"), ("verify", "verifikator"),
                              ("approve", "approver")):
            act_on(s, region, "analisis_situasi", 2026, trigger, f"{role}@{region}", now=NOW)
    subs = [subscription("approvals-bangka", "http://h/a", events=("approve",), regions=("19.01",)),
            subscription("all-19.02", "http://h/b", regions=("19.02",)),
            subscription("all", "http://h/c")]
    with db.session() as s:
        enqueue(s, subs, now=NOW)
        all_events = s.execute(select(Event.id, Event.kind, Event.region_code)).all()
    assert len(all_events) > 3
    expected = {(sub.name, i) for sub in subs for i, kind, region in all_events
                if sub.matches(kind, region)}
    got = queued(db)
    assert got == expected
    approvals = {i for name, i in got if name == "approvals-bangka"}
    assert len(approvals) == 1
    assert any(name == "all-19.02" for name, _ in got)  # year-start events of 19.02 regions
    assert len({i for name, i in got if name == "all"}) == len(all_events)


def test_concurrent_enqueuers_queue_each_event_once(db):
    subs = (subscription("a", "http://h/a"), subscription("b", "http://h/b", events=("submit",)),
            subscription("c", "http://h/c", regions=("19.01",)))
    ctx = multiprocessing.get_context("spawn")
    barrier, writers_done = ctx.Barrier(4), ctx.Event()
    workers = [ctx.Process(target=enqueue_until_done, args=(db.url, subs, 7, barrier, writers_done))
               for _ in range(3)]
    for w in workers:
        w.start()
    barrier.wait(timeout=60)
    ids = []
    for batch in range(20):
        ids += add_events(db, [("submit" if i % 2 else "approve", f"19.0{i % 3 + 1}")
                               for i in range(batch, batch + 10)])
    writers_done.set()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    with db.session() as s:
        rows = s.execute(select(WebhookDelivery.subscription, WebhookDelivery.event_id)).all()
        kinds = dict(s.execute(select(Event.id, Event.kind)).all())
        regions = dict(s.execute(select(Event.id, Event.region_code)).all())
    assert len(ids) == 200
    assert set(Counter(rows).values()) == {1}  # nobody queued anything twice
    assert set(rows) == {(sub.name, i) for sub in subs for i in ids
                         if sub.matches(kinds[i], regions[i])}


def test_an_event_committed_late_with_a_lower_id_is_not_missed(db):
    """The PostgreSQL hazard: id 1 drawn first, committed after id 2 was queued.

    On SQLite the situation cannot arise - a second writer waits for the first (which
    is what the cursor relies on there) - and that is checked instead.
    """
    sub = subscription("a", "http://h/a")
    if not db.is_postgresql:
        path = db.url.split("///", 1)[1]
        with db.session() as s:
            events.record(s, "submit", actor="x", at=NOW, region_code="19")
            other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
        with db.session() as s:
            assert enqueue(s, [sub], now=NOW) == 1
        return
    slow = db.engine.connect()
    slow_tx = slow.begin()
    slow.execute(Event.__table__.insert(), dict(at=NOW, kind="submit", actor="slow",
                                                region_code="19"))
    late_id = slow.execute(text("SELECT max(id) FROM events")).scalar()
    early_id = add_events(db, [("approve", "19")])[0]
    assert early_id > late_id
    with db.session() as s:
        assert enqueue(s, [sub], now=NOW) == 1
        # The running transaction holds the cursor back: it may still commit below it.
        assert cursors(s)["a"] < late_id
    slow_tx.commit()
    slow.close()
    with db.session() as s:
        assert enqueue(s, [sub], now=NOW) == 1
    assert queued(db) == {("a", late_id), ("a", early_id)}
    # Once the transactions running at an earlier call have ended, the cursor catches up.
    # (Transaction ids are cluster-wide: other databases' work may delay it a little.)
    deadline = time.monotonic() + 20
    while True:
        with db.session() as s:
            assert enqueue(s, [sub], now=NOW) == 0
            position = cursors(s)["a"]
        if position == early_id or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert position == early_id


def test_enqueue_needs_a_positive_limit(db):
    with db.session() as s, pytest.raises(ValueError):
        enqueue(s, [subscription("a", "http://h/a")], 0)
