"""The outbox: delivering the engine's events to the outside, whatever the channel.

Every change appends an event in its own transaction; that table is the outbox.
A channel (webhooks: the ``webhooks`` package; e-mail: engine/mail) consumes it
with the same two pieces:

- `cursor`: a cursor per consumer over the event table (`take_new`), safe with
  any number of workers and with PostgreSQL's late-committing events;
- `queue`: delivery rows with a lease, attempts, backoff with jitter and dead
  letters (`deliver`, `claim_ids`, `record`, `release`, `retry`, `backoff`).

The commands that show and retry deliveries (``aksi webhooks list/retry``,
``aksi email list/retry``) are built by one function, engine/cli/_outbox.py.
"""

from .cursor import DEFAULT_LIMIT, cursors, final_event_id, forget_notes, take_new
from .queue import (
    BACKOFF_BASE, BACKOFF_CAP, DEFAULT_LEASE, STATUSES, Channel, DeliveryReport, Outcome, backoff,
    check_status, claim_ids, deliver, record, release, retry,
)

__all__ = [
    "BACKOFF_BASE", "BACKOFF_CAP", "DEFAULT_LEASE", "DEFAULT_LIMIT", "STATUSES", "Channel",
    "DeliveryReport", "Outcome", "backoff", "check_status", "claim_ids", "cursors", "deliver",
    "final_event_id", "forget_notes", "record", "release", "retry", "take_new",
]
