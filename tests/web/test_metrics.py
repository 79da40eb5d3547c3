"""``/metrics`` (Prometheus text format): off by default, token-guarded when a token is set,
counting committed events only, request latency by endpoint, and the store's notices and
outbox as gauges - on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from engine.errors import Refused
from engine.runtime import act_on
from engine.store.models import Notice
from engine.web import create_app
from runtime.support import NOW, YEAR, user

from .conftest import KEC, PASSWORD, USERS  # noqa: F401

TOKEN = "rahasia-metrik-0123456789"


@pytest.fixture
def metered(started):
    app = create_app({"DATABASE_URL": started.url, "SECRET_KEY": "test", "TESTING": True,
                      "METRICS": True, "METRICS_TOKEN": TOKEN})
    with time_machine.travel(NOW, tick=False):
        yield app
    app.extensions["aksi.db"].dispose()


def scrape(client) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_are_off_unless_asked_for(app, client):
    assert client.get("/metrics").status_code == 404


def test_a_scrape_needs_the_token(metered):
    client = metered.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer salah"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_committed_events_count_and_rolled_back_ones_do_not(metered, started):
    client = metered.test_client()
    submit = ("aksi_events_total", (("kind", "submit"),))
    verify = ("aksi_events_total", (("kind", "verify"),))
    before = scrape(client)
    with started.session() as s:
        act_on(s, KEC, "analisis_situasi", YEAR, "submit", user("operator", KEC), now=NOW)
    with pytest.raises(Refused):  # a second submit is refused
        with started.session() as s:
            act_on(s, KEC, "analisis_situasi", YEAR, "submit", user("operator", KEC), now=NOW)
    with pytest.raises(RuntimeError):  # a verify written, then its transaction rolled back
        with started.session() as s:
            act_on(s, KEC, "analisis_situasi", YEAR, "verify", user("verifikator", KEC), now=NOW)
            raise RuntimeError("gagal setelah menulis")
    with started.session() as s:  # the next commit on the same connection carries nothing
        act_on(s, "19.01.02", "analisis_situasi", YEAR, "submit", user("operator", "19.01.02"),
               now=NOW)
    after = scrape(client)
    assert after[submit] == before.get(submit, 0) + 2
    assert after.get(verify, 0) == before.get(verify, 0)


def test_request_latency_is_labelled_by_endpoint(metered):
    client = metered.test_client()
    assert client.get("/healthz").status_code == 200
    samples = scrape(client)
    key = ("aksi_http_request_duration_seconds_count",
           (("endpoint", "health.healthz"), ("method", "GET"), ("status", "200")))
    assert samples[key] >= 1
    assert not any("19.01" in str(labels) for _, labels in samples)  # no paths, no regions


def test_notices_are_read_from_the_store(metered, started):
    with started.session() as s:
        pending = s.scalar(select(func.count()).select_from(Notice)
                           .where(Notice.status == "pending"))
    assert pending > 0
    assert scrape(metered.test_client())[("aksi_notices", (("status", "pending"),))] == pending


def test_outbox_rows_by_channel_and_status(metered, started):
    from engine.store.models import EmailDelivery, Event, User, WebhookDelivery

    with started.session() as s:
        s.add(Event(id=999_001, at=NOW, kind="submit", actor="x"))
        s.flush()
        s.add_all([WebhookDelivery(event_id=999_001, subscription="dinkes", status="dead",
                                   attempts=8, next_attempt_at=NOW),
                   EmailDelivery(kind="message", user_id=s.scalar(select(User.id).limit(1)),
                                 event_id=999_001, status="pending", next_attempt_at=NOW)])
    samples = scrape(metered.test_client())
    assert samples[("aksi_outbox_deliveries", (("channel", "webhook"), ("status", "dead")))] == 1
    assert samples[("aksi_outbox_deliveries", (("channel", "email"), ("status", "pending")))] == 1


def test_outbox_lag_per_consumer(metered, started):
    from engine.store.models import Event, OutboxCursor

    with started.session() as s:
        last = s.scalar(select(func.max(Event.id)))
        s.add(OutboxCursor(consumer="@email", last_event_id=last - 3))  # 3 events behind
    samples = scrape(metered.test_client())
    assert samples[("aksi_outbox_lag_events", (("consumer", "@email"),))] == 3
