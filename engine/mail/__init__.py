"""E-mail for what lands in the inbox: reminders, escalations, returns and nudges.

A user with an address chooses every message ("each"), a daily digest
("digest") or none. Delivery is a channel of the outbox (engine/outbox), the
same machinery as webhooks: a cursor over the event table, delivery rows with a
lease, backoff with jitter and dead letters, ``aksi email list/retry``. Each
e-mail goes out once however many workers run; after a crash mid-delivery it
may go again, with the same Message-ID (it carries the event id).

    settings = load_settings()                 # AKSI_SMTP_*, AKSI_BASE_URL (config.py)
    report = run_once(db, settings)            # queue, make digests, send: MailReport
"""

from .config import MailConfigError, SmtpSettings, load_settings
from .delivery import MailRow, deliver_due, list_deliveries, retry
from .outbox import Enqueued, enqueue, make_digests
from .worker import MailReport, run_once

__all__ = [
    "Enqueued", "MailConfigError", "MailReport", "MailRow", "SmtpSettings", "deliver_due",
    "enqueue", "list_deliveries", "load_settings", "make_digests", "retry", "run_once",
]
