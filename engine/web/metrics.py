"""``/metrics`` in the Prometheus text format, for operators who run Prometheus. Off unless
``AKSI_METRICS=1``; with ``AKSI_METRICS_TOKEN`` set, a scrape must send it as a bearer token.

What it says (prometheus_client; nothing about any region or person):

- ``aksi_http_request_duration_seconds{method,endpoint,status}``: a histogram of request
  latency, labelled by Flask endpoint (a bounded set), never by path;
- ``aksi_events_total{kind}``: events committed by this service's processes, by kind: the
  lifecycle's triggers (transitions), ``reminder``/``escalation`` (notices fired), ... -
  counted when their transaction commits (`engine.store.events.on_committed`);
- read from the store at each scrape, the same whichever process answers:
  ``aksi_notices{status}`` (pending, fired, skipped), ``aksi_outbox_lag_events{consumer}``
  (events not yet queued for a consumer: a webhook subscription, ``@email``),
  ``aksi_outbox_deliveries{channel,status}`` (webhook and e-mail rows: pending, delivered,
  dead - the dead letters - and the e-mail digest's held and digested items).

Several gunicorn processes: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared
by them (prometheus_client's multiprocess mode, docs/deploying.md); each scrape then sums
the counters and histograms of every process.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Iterator, Mapping

from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy import func, select

from ..store import events
from ..store.models import EmailDelivery, Event, Notice, OutboxCursor, WebhookDelivery
from .store import database

bp = Blueprint("metrics", __name__)
_STARTED = "aksi.metrics.started"


class _Metrics:
    """The process's metric objects, made once (prometheus_client registers each name once
    per registry)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.latency = Histogram(
            "aksi_http_request_duration_seconds", "Time to answer a request",
            ["method", "endpoint", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.events = Counter("aksi_events_total", "Events committed, by kind", ["kind"])

    def committed(self, kinds: Mapping[str, int]) -> None:
        for kind, n in kinds.items():
            self.events.labels(kind=kind).inc(n)


_metrics: _Metrics | None = None


def _process_metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
        events.on_committed(_metrics.committed)
    return _metrics


class StoreCollector:
    """Gauges read from the store when Prometheus scrapes (three small grouped queries)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily

        with self.app.app_context(), database().session() as s:
            notices = GaugeMetricFamily("aksi_notices", "Reminders and escalations by status",
                                        labels=["status"])
            for status, n in s.execute(select(Notice.status, func.count())
                                       .group_by(Notice.status)):
                notices.add_metric([status], n)
            deliveries = GaugeMetricFamily(
                "aksi_outbox_deliveries", "Outbox rows by channel and status (dead: dead letters)",
                labels=["channel", "status"])
            for channel, table in (("webhook", WebhookDelivery), ("email", EmailDelivery)):
                for status, n in s.execute(select(table.status, func.count())
                                           .group_by(table.status)):
                    deliveries.add_metric([channel, status], n)
            last = s.scalar(select(func.max(Event.id))) or 0
            lag = GaugeMetricFamily("aksi_outbox_lag_events",
                                    "Events not yet queued for an outbox consumer",
                                    labels=["consumer"])
            for name, position in s.execute(select(OutboxCursor.consumer,
                                                   OutboxCursor.last_event_id)):
                lag.add_metric([name], max(0, last - position))
        yield from (notices, deliveries, lag)


def init_app(app: Flask) -> None:
    """Serve ``/metrics`` and time requests, when ``METRICS`` (``AKSI_METRICS``) is on."""
    if not app.config.get("METRICS"):
        return
    metrics = _process_metrics()
    app.extensions["aksi.metrics.collector"] = StoreCollector(app)

    @app.before_request
    def start_timer() -> None:
        g.setdefault(_STARTED, time.perf_counter())

    @app.after_request
    def observe(response):
        started = g.get(_STARTED)
        if started is not None:
            metrics.latency.labels(method=request.method,
                                   endpoint=request.endpoint or "none",
                                   status=str(response.status_code)).observe(
                time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
def scrape():
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("token metrik salah atau tidak ada\n", status=401,
                            mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _Joined(REGISTRY)
    registry.register(current_app.extensions["aksi.metrics.collector"])
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Joined:
    """The process's default registry plus collectors added for one scrape (the default
    registry itself is never changed)."""

    def __init__(self, base) -> None:
        self.base, self.extra = base, []

    def register(self, collector) -> None:
        self.extra.append(collector)

    def collect(self) -> Iterator:
        yield from self.base.collect()
        for collector in self.extra:
            yield from collector.collect()
