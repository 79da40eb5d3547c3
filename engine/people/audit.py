"""The audit trail of people: sign-ins (and refusals, throttled ones included), sign-outs,
API tokens issued and revoked, users created, passwords set, activations and
deactivations, role grants. Read by an admin with ``aksi audit``.

Storage: a table of its own (``audit``), not ``events``. An event belongs to a case and
a task (its columns are case, task, region, level, year, stage, from/to state, and the
webhook outbox reads them); a sign-in has none of those, so it would fit only as a row
of nulls, and every reader of events (a case's history, the webhooks) would have to
learn to skip it. ``audit`` holds exactly what a person-event has: when (``at``), what
(``kind``), who did it (``actor``), whom it concerned (``subject``), from where
(``address``, the client address of a web request; None from the command line), and a
small ``detail``. Rows are only ever appended. There is no foreign key: a refused
sign-in names a username that may not exist, and the record outlives the user. Indexes:
``(at)`` for the newest-first list, ``(subject, at)`` for one user's history.

Actors:
- a username: the person signed in (their own sign-in or sign-out);
- ``anonymous``: a refused or throttled sign-in (whoever typed the username is not
  known; the username typed is the subject);
- ``cli:<OS user>`` (`operator`): the engine/people functions called without an
  ``actor``, i.e. ``aksi users ...``, ``aksi demo`` and simulations, run by someone
  logged in to the server. A caller acting for a signed-in person passes ``actor``.

Every row is written in the transaction of the change it records, so the two commit or
roll back together. A throttled sign-in is the exception that proves it: its
reservation is rolled back (people/throttle.py), so its row is written by `sign_in` in
a transaction of its own, once per username and address per throttling window (a
guesser held at the limit adds no row per request). Rows are not pruned: retention is
the operator's call.

Never in a row: a password, a password hash, a session or token secret or its digest.
`record` refuses ``detail`` keys that name such things, as a guard against a careless
caller; the tests search every row for the actual values.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import AuditEntry

ANONYMOUS = "anonymous"

# kind: what the CLI shows (people in Indonesia read it)
KINDS = {
    "sign_in": "masuk",
    "sign_in_refused": "masuk ditolak",
    "sign_in_throttled": "masuk dibatasi",
    "sign_out": "keluar",
    "token_issued": "token diterbitkan",
    "token_revoked": "token dicabut",
    "user_created": "pengguna dibuat",
    "password_set": "kata sandi diatur",
    "user_activated": "diaktifkan",
    "user_deactivated": "dinonaktifkan",
    "role_granted": "peran diberikan",
    "email_set": "surel diatur",
}

FORBIDDEN = ("password", "hash", "secret", "token", "digest")  # never a detail key
_KEPT = 160  # characters of an actor or subject (a typed username may be long)


@functools.cache
def operator() -> str:
    """``cli:<OS user>``: the actor of a change made from the command line."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password file
        name = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{name}"[:_KEPT]


def record(session: Session, kind: str, *, actor: str, subject: str,
           address: str | None = None, detail: dict[str, Any] | None = None,
           at: dt.datetime) -> None:
    """Append one row, in ``session``'s transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    for key in detail or {}:
        if any(word in key.lower() for word in FORBIDDEN):
            raise ValueError(f"audit detail key {key!r} names a secret")
    session.add(AuditEntry(at=at, kind=kind, actor=actor[:_KEPT], subject=subject[:_KEPT],
                           address=address[:64] if address else None,
                           detail=detail or None))


def recorded_since(session: Session, kind: str, *, subject: str, address: str | None,
                   since: dt.datetime) -> bool:
    """Is there a row of ``kind`` about ``subject`` from ``address`` at or after ``since``?
    (index ``(subject, at)``)"""
    return session.scalar(select(AuditEntry.id).where(
        AuditEntry.subject == subject[:_KEPT], AuditEntry.at >= since,
        AuditEntry.kind == kind, AuditEntry.address == (address[:64] if address else None))
        .limit(1)) is not None


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    kind: str
    actor: str
    subject: str
    address: str | None
    detail: dict[str, Any]

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "kind": self.kind,
                "label": self.label, "actor": self.actor, "subject": self.subject,
                "address": self.address, "detail": self.detail}


def entries(session: Session, *, subject: str | None = None, kind: str | None = None,
            since: dt.datetime | None = None, limit: int = 50) -> list[Entry]:
    """The rows, newest first (``limit`` of them), of ``subject``, of ``kind``, at or
    after ``since``, as given."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    if kind is not None:
        query = query.where(AuditEntry.kind == kind)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return [Entry(r.id, r.at, r.kind, r.actor, r.subject, r.address, r.detail or {})
            for r in session.scalars(query)]
