"""Outbound event delivery to other government systems (webhooks).

Webhooks are one channel of the outbox (engine/outbox: the cursor over the event
table, the lease, backoff, dead letters and retry are shared with e-mail,
engine/mail); this package is what is webhook-specific: subscriptions, signing,
the POST.

Every change the engine makes appends an event in its own transaction; that
table is the outbox. For each subscription (a URL, a secret, the event kinds
and regions it wants) events are queued as ``webhook_deliveries`` rows and
POSTed as signed JSON, outside any database transaction, retried with
exponential backoff and jitter, and declared dead after ``max_attempts`` -
visible with ``aksi webhooks list --status dead``, retried with ``aksi webhooks
retry``. Delivery is at least once; the event id, sent as ``Idempotency-Key``,
lets receivers drop repeats.

Public API::

    subs = load_subscriptions()                # $AKSI_WEBHOOKS or ./webhooks.yaml
    report = run_once(db, subs)                # enqueue, then deliver_due batches: RunReport

    enqueue(session, subs, limit)              # events -> deliveries, moves cursors
    deliver_due(db, subs, now=, client=, limit=, lease=)   # claim, POST, record
    retry(session, ids=None)                   # dead -> pending (None: every dead one)
    list_deliveries(session, status=)          # for display
    verify_signature(secret, timestamp, body, header, tolerance=300)  # for receivers

Requests carry ``Content-Type: application/json``, ``Idempotency-Key: <event
id>``, ``X-Aksi-Event: <kind>``, ``X-Aksi-Subscription``, ``X-Aksi-Delivery``,
``X-Aksi-Attempt``, ``X-Aksi-Timestamp: <unix seconds>`` and ``X-Aksi-Signature:
sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``. The body is the event:
id, kind, at, actor, region_code, level, year, stage, from_state, to_state, payload.

Exceptions::

    WebhookError
    ├── ConfigError            the subscriptions file is missing (when named), unreadable
    │                          or invalid; .path and .line say where
    └── SignatureError         verify_signature: reject the request
        ├── MalformedSignature     header or timestamp not in the expected form
        ├── StaleTimestamp         timestamp outside the tolerance (replay or skewed clock)
        └── BadSignature           HMAC mismatch: altered body or another secret

A failed delivery raises nothing: it is recorded on its row (``last_error``)
and retried. Database errors are SQLAlchemy's own.
"""

from .config import ENV_VAR, Subscription, load_subscriptions, parse_subscriptions
from .delivery import (
    DeliveryReport, DeliveryRow, backoff, deliver_due, event_body, list_deliveries, retry,
)
from .errors import (
    BadSignature, ConfigError, MalformedSignature, SignatureError, StaleTimestamp, WebhookError,
)
from .outbox import enqueue
from .signing import signature, verify_signature
from .worker import RunReport, run_once

__all__ = [
    "BadSignature", "ConfigError", "DeliveryReport", "DeliveryRow", "ENV_VAR",
    "MalformedSignature", "RunReport", "SignatureError", "StaleTimestamp", "Subscription",
    "WebhookError", "backoff", "deliver_due", "enqueue", "event_body", "list_deliveries",
    "load_subscriptions", "parse_subscriptions", "retry", "run_once", "signature",
    "verify_signature",
]
