"""Delivering: real HTTP on loopback (pytest-httpserver); httpx.MockTransport for the client path."""

from __future__ import annotations

import datetime as dt
import json
import random
import time

import httpx
import pytest

from engine.store.models import Event
from webhook_support import NOW, SECRET, Receiver, add_events, deliveries, subscription
from webhooks import (
    backoff, deliver_due, enqueue, list_deliveries, retry, run_once, verify_signature,
)
from webhooks.delivery import Outcome, claim, record

SECOND = dt.timedelta(seconds=1)
MICRO = dt.timedelta(microseconds=1)


class Ceiling:
    """A `random.Random` stand-in whose jitter is always the largest allowed: shows the curve."""

    def uniform(self, a, b):
        return b


def mock_client(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_delivers_signed_json_with_headers_to_a_real_http_endpoint(db, httpserver):
    receiver = Receiver()
    httpserver.expect_request("/hooks/aksi", method="POST").respond_with_handler(receiver)
    ids = add_events(db, [("approve", "19.01.02"), ("submit", "32.04")])
    sub = subscription("bappeda", httpserver.url_for("/hooks/aksi"), regions=("19",))
    report = run_once(db, [sub], NOW)
    assert (report.queued, report.delivered, report.failed, report.dead) == (1, 1, 0, 0)
    httpserver.check_assertions()

    (seen,) = receiver.seen
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == str(ids[0])
    assert headers["x-aksi-event"] == "approve"
    assert headers["x-aksi-subscription"] == "bappeda"
    assert headers["x-aksi-attempt"] == "1"
    assert abs(int(headers["x-aksi-timestamp"]) - time.time()) < 60
    verify_signature(SECRET, headers["x-aksi-timestamp"], seen.body, headers["x-aksi-signature"])

    with db.session() as s:
        event = s.get(Event, ids[0])
        assert json.loads(seen.body) == {
            "id": ids[0], "kind": "approve", "at": NOW.isoformat(), "actor": event.actor,
            "region_code": "19.01.02", "level": "kecamatan", "year": 2026, "stage": None,
            "from_state": "ready", "to_state": "submitted", "payload": event.payload,
        }
    assert "Desa Ăž" in seen.body.decode("utf-8")  # UTF-8, not escaped
    (row,) = deliveries(db)
    assert (row.event_id, row.status, row.attempts, row.delivered_at, row.lease_until) == (
        ids[0], "delivered", 1, NOW, None)
    # Nothing left to do: a second run sends nothing.
    assert run_once(db, [sub], NOW).delivered == 0 and len(receiver.seen) == 1


def test_a_500_is_retried_with_the_same_key_and_growing_backoff(db, httpserver):
    receiver = Receiver(statuses=(500, 500, 503, 200))
    httpserver.expect_request("/h", method="POST").respond_with_handler(receiver)
    (event_id,) = add_events(db, [("approve", "19.01")])
    sub = subscription("s", httpserver.url_for("/h"), max_attempts=8)
    now = NOW
    waits = []
    for attempt in range(1, 5):
        report = run_once(db, [sub], now, rng=Ceiling())
        assert len(receiver.seen) == attempt
        (row,) = deliveries(db)
        assert row.attempts == attempt
        if attempt == 4:
            assert report.delivered == 1 and row.status == "delivered"
            break
        assert report.failed == 1 and row.status == "pending"
        assert row.last_error.startswith(f"HTTP {receiver.statuses[attempt - 1]}")
        assert "rusak" in row.last_error  # the receiver's answer is kept
        waits.append(row.next_attempt_at - now)
        # Not due a microsecond early; due at its time.
        early = run_once(db, [sub], row.next_attempt_at - MICRO)
        assert early.delivered == early.failed == 0 and len(receiver.seen) == attempt
        now = row.next_attempt_at
    assert waits == [dt.timedelta(seconds=30), dt.timedelta(seconds=60),
                     dt.timedelta(seconds=120)]
    assert receiver.keys() == [str(event_id)] * 4
    assert len({s.body for s in receiver.seen}) == 1  # the same bytes every time
    assert [s.headers["X-Aksi-Attempt"] for s in receiver.seen] == ["1", "2", "3", "4"]


def test_backoff_is_full_jitter_under_a_capped_exponential():
    rng, twin = random.Random(42), random.Random(42)
    for attempts in range(1, 15):
        ceiling = min(3600.0, 30.0 * 2 ** (attempts - 1))
        wait = backoff(attempts, rng=rng).total_seconds()
        assert wait == pytest.approx(twin.uniform(0, ceiling), abs=1e-6)
        assert 0 <= wait <= ceiling
    assert backoff(20, rng=Ceiling()) == dt.timedelta(hours=1)
    assert backoff(3, base=1, cap=100, rng=Ceiling()) == dt.timedelta(seconds=4)


def test_jittered_retry_times_come_from_the_injected_random(db):
    (event_id,) = add_events(db, [("approve", "19")])
    sub = subscription("s", "http://receiver.test/h")
    client = mock_client(lambda request: httpx.Response(500))
    rng, twin = random.Random(7), random.Random(7)
    now = NOW
    for attempt in range(1, 4):
        run_once(db, [sub], now, client, rng=rng)
        (row,) = deliveries(db)
        expected = dt.timedelta(seconds=twin.uniform(0, 30 * 2 ** (attempt - 1)))
        assert abs(row.next_attempt_at - now - expected) <= MICRO
        now = row.next_attempt_at


def test_dead_after_max_attempts_then_retried_and_delivered(db, httpserver):
    receiver = Receiver(statuses=(500,))
    httpserver.expect_request("/h", method="POST").respond_with_handler(receiver)
    (event_id,) = add_events(db, [("approve", "19")])
    sub = subscription("s", httpserver.url_for("/h"), max_attempts=3)
    now = NOW
    reports = []
    for _ in range(3):
        reports.append(run_once(db, [sub], now))
        (row,) = deliveries(db)
        now = row.next_attempt_at
    assert [(r.failed, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]
    (row,) = deliveries(db, status="dead")
    assert row.attempts == 3 and row.last_error.startswith("HTTP 500")
    # Dead stays dead, however late it gets.
    assert run_once(db, [sub], now + dt.timedelta(days=30)).failed == 0
    assert len(receiver.seen) == 3

    receiver.statuses = (500, 500, 500, 200)
    with db.session() as s:
        assert retry(s, now=now) == [row.id]
        assert retry(s, now=now) == []  # nothing dead any more
    (again,) = deliveries(db)
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, now)
    assert run_once(db, [sub], now).delivered == 1
    assert receiver.keys() == [str(event_id)] * 4
    assert deliveries(db, status="delivered")[0].attempts == 1


def test_retry_without_ids_takes_every_dead_one_and_only_those(db):
    add_events(db, [("approve", "19")] * 4)
    sub = subscription("s", "http://receiver.test/h", max_attempts=1)
    answers = iter([500, 200, 500, 500])
    client = mock_client(lambda request: httpx.Response(next(answers)))
    run_once(db, [sub], NOW, client, concurrency=1)
    dead = [r.id for r in deliveries(db, status="dead")]
    assert len(dead) == 3 and len(deliveries(db, status="delivered")) == 1
    with db.session() as s:
        assert retry(s, [dead[0], 999_999]) == [dead[0]]
        assert retry(s) == dead[1:]
    assert [r.status for r in deliveries(db)].count("pending") == 3


def test_the_client_path_with_mock_transport_records_transport_errors(db):
    add_events(db, [("approve", "19")] * 3)
    sub = subscription("s", "http://receiver.test/h", timeout=1.5)
    requests = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        n = len(requests)
        if n == 1:
            raise httpx.ConnectError("Connection refused", request=request)
        if n == 2:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(302, headers={"Location": "http://elsewhere/"})

    report = run_once(db, [sub], NOW, mock_client(handler), concurrency=1)
    assert (report.delivered, report.failed) == (0, 3)
    errors = [r.last_error for r in deliveries(db)]
    assert errors[0] == "ConnectError: Connection refused"
    assert errors[1].startswith("waktu habis (ReadTimeout, 1.5 s)")
    assert errors[2].startswith("HTTP 302")  # redirects are not followed
    assert len(requests) == 3 and all(r.url == "http://receiver.test/h" for r in requests)
    # The subscription's timeout is the request's.
    assert requests[0].extensions["timeout"] == {"connect": 1.5, "read": 1.5, "write": 1.5,
                                                  "pool": 1.5}


def test_a_real_timeout_against_a_slow_endpoint(db, threaded_httpserver):
    def slow(request):
        time.sleep(1.0)
        from werkzeug import Response
        return Response("late")

    threaded_httpserver.expect_request("/slow").respond_with_handler(slow)
    add_events(db, [("approve", "19")])
    sub = subscription("s", threaded_httpserver.url_for("/slow"), timeout=0.2)
    assert run_once(db, [sub], NOW).failed == 1
    (row,) = deliveries(db)
    assert row.last_error.startswith("waktu habis (ReadTimeout, 0.2 s)")


def test_only_configured_subscriptions_are_delivered(db):
    add_events(db, [("approve", "19")])
    a, b = subscription("a", "http://receiver.test/a"), subscription("b", "http://receiver.test/b")
    with db.session() as s:
        enqueue(s, [a, b], now=NOW)
    sent = []
    client = mock_client(lambda r: sent.append(r.url.path) or httpx.Response(204))
    assert deliver_due(db, [b], now=NOW, client=client).delivered == 1
    assert sent == ["/b"]
    assert {r.subscription: r.status for r in deliveries(db)} == {"a": "pending",
                                                                  "b": "delivered"}


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_expires(db):
    add_events(db, [("approve", "19")] * 2)
    sub = subscription("s", "http://receiver.test/h")
    with db.session() as s:
        enqueue(s, [sub], now=NOW)
    lease = dt.timedelta(seconds=60)
    with db.session() as s:
        first = claim(s, ["s"], now=NOW, limit=1, lease=lease)
    with db.session() as s:
        second = claim(s, ["s"], now=NOW, limit=10, lease=lease)
    with db.session() as s:
        assert claim(s, ["s"], now=NOW + lease - MICRO, limit=10, lease=lease) == []
    assert len(first) == len(second) == 1 and first[0].id != second[0].id
    # The lease expired: somebody else takes it over, and the first holder's late answer
    # no longer counts.
    with db.session() as s:
        taken = claim(s, ["s"], now=NOW + lease, limit=10, lease=lease)
    assert {c.id for c in taken} == {first[0].id, second[0].id}
    with db.session() as s:
        assert record(s, first[0], Outcome(True), sub, now=NOW) is None
    with db.session() as s:
        mine = next(c for c in taken if c.id == first[0].id)
        assert record(s, mine, Outcome(True), sub, now=NOW + lease) == "delivered"
    assert taken[0].body == first[0].body or taken[1].body == first[0].body


def test_claims_that_cannot_be_answered_within_the_lease_are_released(db):
    add_events(db, [("approve", "19")] * 3)
    sub = subscription("s", "http://receiver.test/h", timeout=5)
    sent = []
    client = mock_client(lambda r: sent.append(r) or httpx.Response(200))
    report = run_once(db, [sub], NOW, client, lease=dt.timedelta(seconds=2))
    assert sent == [] and report.delivered == 0
    assert {(r.status, r.attempts, r.lease_until) for r in deliveries(db)} == {
        ("pending", 0, None)}
    assert run_once(db, [sub], NOW, client).delivered == 3


def test_run_once_delivers_batch_after_batch_within_its_budget(db):
    add_events(db, [("approve", "19")] * 7)
    sub = subscription("s", "http://receiver.test/h")
    sent = []
    client = mock_client(lambda r: sent.append(r) or httpx.Response(200))
    assert run_once(db, [sub], NOW, client, limit=3).delivered == 7
    assert len(sent) == 7
    add_events(db, [("approve", "19")] * 7)
    assert run_once(db, [sub], NOW, client, limit=3, budget=0).delivered == 3
    assert run_once(db, [sub], NOW, client, limit=3, budget=0).delivered == 3
    assert run_once(db, [sub], NOW, client, limit=3).delivered == 1


def test_list_deliveries_filters(db):
    add_events(db, [("approve", "19"), ("submit", "19.01")])
    subs = [subscription("a", "http://receiver.test/a"),
            subscription("b", "http://receiver.test/b")]
    run_once(db, subs, NOW, mock_client(
        lambda r: httpx.Response(200 if r.url.path == "/a" else 500)))
    with db.session() as s:
        assert [(r.subscription, r.status) for r in list_deliveries(s, status="pending")] == [
            ("b", "pending"), ("b", "pending")]
        assert [r.kind for r in list_deliveries(s, subscription="a")] == ["approve", "submit"]
        assert len(list_deliveries(s, limit=3)) == 3
        with pytest.raises(ValueError):
            list_deliveries(s, status="lost")
    row = deliveries(db, status="delivered")[0]
    assert row.as_dict()["delivered_at"] == NOW.isoformat()


def test_no_subscriptions_do_nothing(db):
    add_events(db, [("approve", "19")])
    assert run_once(db, [], NOW).as_dict() == {"queued": 0, "delivered": 0, "failed": 0,
                                               "dead": 0}
    assert deliveries(db) == []
