"""Signed-in browsers, kept in the database so that a session can be ended at once.

A session is a random secret (32 bytes, URL-safe text) the browser's cookie carries; the
store keeps its SHA-256 only (like API tokens: a copy of the database signs nobody in),
with the user, when it began and when it was last seen. It identifies nobody once its
row is gone, or its user is inactive, or it was idle longer than ``idle``, or it began
more than ``lifetime`` ago. Signing out deletes the row; a password set (`add_user`)
or a deactivation (`set_active`) deletes all of the user's rows.

``last_seen_at`` is written only when it is older than `TOUCH_EVERY` (a minute): a write
on every request would make every page a write transaction (on PostgreSQL a new row
version, WAL and a commit to flush for each click; on SQLite the database's one write
lock). Idle timeouts are tens of minutes, so a minute of imprecision changes nothing;
the update's own condition makes concurrent requests of one browser write once. A page
finds its session with `live_session` in a read transaction (on SQLite it does not wait
for a writer) and touches it, when due, in a short write transaction of its own.
Expired rows are pruned by the sign-ins (people/expiry.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ..store.models import User, WebSession
from . import audit
from .expiry import delete_expired

TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: ``idle`` since its last request, ``lifetime`` in all."""

    idle: dt.timedelta = dt.timedelta(minutes=120)
    lifetime: dt.timedelta = dt.timedelta(hours=12)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def open_session(session: Session, user_id: int, now: dt.datetime) -> str:
    """A new session of user ``user_id``; its secret (for the cookie), returned only here."""
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(secret_hash=_digest(secret), user_id=user_id, created_at=now,
                           last_seen_at=now))
    session.flush()
    return secret


def resume_session(session: Session, secret: str, policy: SessionPolicy,
                   now: dt.datetime) -> str | None:
    """The username of the live session ``secret`` (seen now), or None."""
    found = live_session(session, secret, policy, now)
    if found is None:
        return None
    username, due = found
    if due:
        touch_session(session, secret, now)
    return username


def live_session(session: Session, secret: str, policy: SessionPolicy,
                 now: dt.datetime) -> tuple[str, bool] | None:
    """(username, whether `touch_session` is due) of the live session ``secret``, or None.
    Only reads: a page looks its user up in a read transaction, and touches in a write
    transaction of its own once a minute."""
    found = session.execute(
        select(User.username, WebSession.last_seen_at)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.secret_hash == _digest(secret), User.active.is_(True),
               WebSession.last_seen_at > now - policy.idle,
               WebSession.created_at > now - policy.lifetime)).one_or_none()
    if found is None:
        return None
    return found.username, found.last_seen_at <= now - TOUCH_EVERY


def touch_session(session: Session, secret: str, now: dt.datetime) -> None:
    """Seen now (unless a concurrent request of the same browser just wrote it)."""
    session.execute(update(WebSession)
                    .where(WebSession.secret_hash == _digest(secret),
                           WebSession.last_seen_at <= now - TOUCH_EVERY)
                    .values(last_seen_at=now))


def end_session(session: Session, secret: str, *, address: str | None = None,
                now: dt.datetime) -> None:
    """Sign this browser out: its cookie identifies nobody from now on. Audited as the
    session's user signing out (from ``address``); a session already gone records
    nothing."""
    digest = _digest(secret)
    username = session.scalar(select(User.username).join(WebSession, WebSession.user_id == User.id)
                              .where(WebSession.secret_hash == digest))
    session.execute(delete(WebSession).where(WebSession.secret_hash == digest))
    if username is not None:
        audit.record(session, "sign_out", actor=username, subject=username, address=address,
                     at=now)


def end_sessions(session: Session, user_id: int) -> int:
    """End every session of user ``user_id``; how many."""
    return session.execute(delete(WebSession).where(WebSession.user_id == user_id),
                           execution_options={"preserve_rowcount": True}).rowcount


def prune_sessions(session: Session, policy: SessionPolicy, now: dt.datetime) -> int:
    """Remove (a batch of) the sessions that can no longer be resumed; how many."""
    return delete_expired(session, WebSession.secret_hash,
                          or_(WebSession.last_seen_at <= now - policy.idle,
                              WebSession.created_at <= now - policy.lifetime))
