"""Sending queued e-mail over SMTP: the e-mail channel of the outbox.

Claims, leases, backoff with jitter, dead letters and retries are the shared ones
of engine/outbox/queue.py; this module says which rows are claimed (messages and
digests that are due), renders them (engine/mail/render.py: the same bytes and
Message-ID on every attempt) and hands them to the SMTP server with `smtplib`.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from dataclasses import asdict, dataclass
from email.policy import SMTP as SMTP_POLICY
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..outbox import queue
from ..outbox.queue import DEFAULT_LEASE, DeliveryReport, Outcome
from ..store import Database
from ..store.models import EmailDelivery, Event, User
from . import render
from .config import SmtpSettings
from .outbox import digest_events

MAX_ATTEMPTS = 8
ERROR_CHARS = 300
STATUSES = ("pending", "delivered", "dead", "held", "digested")
SENT_KINDS = ("message", "digest")

_M = EmailDelivery.__table__


@dataclass(frozen=True)
class Claimed:
    """A claimed e-mail, rendered: everything needed to send it."""

    id: int
    attempts: int  # before this attempt
    lease_until: dt.datetime
    to: str | None
    message_id: str
    data: bytes


def claim(session: Session, settings: SmtpSettings, *, now: dt.datetime, limit: int = 100,
          lease: dt.timedelta = DEFAULT_LEASE) -> list[Claimed]:
    """Lease up to ``limit`` due e-mails to the caller, rendered."""
    ids, lease_until = queue.claim_ids(session, _M, now=now, limit=limit, lease=lease,
                                       where=[_M.c.kind.in_(SENT_KINDS)])
    if not ids:
        return []
    rows = session.execute(
        select(_M.c.id, _M.c.kind, _M.c.user_id, _M.c.event_id, _M.c.day, _M.c.attempts,
               _M.c.next_attempt_at, User.email, User.display_name, User.username)
        .join(User, User.id == _M.c.user_id)
        .where(_M.c.id.in_(ids)).order_by(_M.c.next_attempt_at, _M.c.id)).all()
    carried = digest_events(session, [r.id for r in rows if r.kind == "digest"])
    wanted = {r.event_id for r in rows if r.event_id} | {e for v in carried.values() for e in v}
    told = render.notices(session, settings, wanted)
    when = dict(session.execute(select(Event.id, Event.at).where(Event.id.in_(wanted))).all())
    out = []
    for r in rows:
        name = r.display_name or r.username
        to = r.email or ""
        if r.kind == "digest":
            items = [told[e] for e in carried.get(r.id, []) if e in told]
            last = max((when[e] for e in carried.get(r.id, [])), default=r.next_attempt_at)
            msg = render.digest(settings, to=to, name=name, user_id=r.user_id, day=r.day,
                                 items=items, when=last)
        else:
            msg = render.single(settings, to=to, name=name, user_id=r.user_id,
                                 notice=told[r.event_id], when=when[r.event_id])
        out.append(Claimed(id=r.id, attempts=r.attempts, lease_until=lease_until,
                           to=r.email, message_id=msg["Message-ID"],
                           data=msg.as_bytes(policy=SMTP_POLICY)))  # CRLF lines
    return out


def send(settings: SmtpSettings, item: Claimed) -> Outcome:
    """Hand one e-mail to the SMTP server; any refusal or broken connection is a failure
    to retry (the password never appears in the error)."""
    if not item.to:
        return Outcome(False, "pengguna tidak punya alamat surel")
    try:
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.sendmail(_envelope_sender(settings), [item.to], item.data)
        return Outcome(True)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return Outcome(False, f"SMTP {code}: {_text(text)}", code)
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", exc.smtp_code)
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return text.replace("\n", " ")[:ERROR_CHARS]


def _envelope_sender(settings: SmtpSettings) -> str:
    from email.utils import parseaddr

    return parseaddr(settings.sender)[1]


class MailChannel:
    """The e-mail channel of the outbox (engine/outbox/queue.py)."""

    table = _M
    name = "email"

    def __init__(self, settings: SmtpSettings, max_attempts: int = MAX_ATTEMPTS):
        self.settings = settings
        self.attempts = max_attempts

    def claim(self, session: Session, *, now: dt.datetime, limit: int,
              lease: dt.timedelta) -> list[Claimed]:
        return claim(session, self.settings, now=now, limit=limit, lease=lease)

    def timeout(self, item: Claimed) -> float:
        return self.settings.timeout

    def max_attempts(self, item: Claimed) -> int:
        return self.attempts

    def send(self, item: Claimed) -> Outcome:
        return send(self.settings, item)


def deliver_due(db: Database, settings: SmtpSettings, **options) -> DeliveryReport:
    """Claim, send and record up to ``limit`` due e-mails (`outbox.queue.deliver`'s
    keywords: ``now``, ``limit``, ``lease``, ``concurrency``, ``rng``, ...)."""
    return queue.deliver(db, MailChannel(settings), **options)


# --- Looking at and retrying e-mail ------------------------------------------------------

@dataclass(frozen=True)
class MailRow:
    id: int
    kind: str
    event_id: int | None
    username: str
    email: str | None
    day: dt.date | None
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime
    lease_until: dt.datetime | None
    delivered_at: dt.datetime | None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else v)
                for k, v in asdict(self).items()}


def list_deliveries(session: Session, *, status: str | None = None,
                    username: str | None = None, limit: int | None = 100) -> list[MailRow]:
    """E-mail rows, oldest first, with their user's name and address."""
    queue.check_status(status, STATUSES)
    q = (select(_M.c.id, _M.c.kind, _M.c.event_id, User.username, User.email, _M.c.day,
                _M.c.status, _M.c.attempts, _M.c.last_error, _M.c.next_attempt_at,
                _M.c.lease_until, _M.c.delivered_at)
         .join(User, User.id == _M.c.user_id).order_by(_M.c.id))
    if status is not None:
        q = q.where(_M.c.status == status)
    if username is not None:
        q = q.where(User.username == username)
    if limit is not None:
        q = q.limit(limit)
    return [MailRow(**r._mapping) for r in session.execute(q)]


def retry(session: Session, ids: Iterable[int] | None = None, *,
          now: dt.datetime | None = None) -> list[int]:
    """Put dead e-mails back in the queue (``ids``, or every dead one); return their ids."""
    return queue.retry(session, _M, ids, now=now)
