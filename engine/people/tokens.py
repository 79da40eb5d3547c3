"""API tokens: secrets other systems present to act as a user through the JSON API.

A token is 32 random bytes (URL-safe text, prefixed ``aksi_`` so a leaked one is easy
to recognise); the store keeps only its SHA-256. A revoked token, or one whose user
is inactive, identifies nobody.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..errors import NotFound
from ..store.models import ApiToken, User
from . import audit
from .users import Actor, actor

PREFIX = "aksi_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(session: Session, username: str, name: str,
                now: dt.datetime | None = None, *, actor: str | None = None) -> str:
    """A new token for ``username``, named ``name``; the secret is returned only here.
    Audited (its name only) as issued by ``actor``, default the command line's operator."""
    user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise NotFound(f"pengguna '{username}' tidak ada; tambahkan dengan `aksi users add`",
                       username=username)
    now = now or utcnow()
    secret = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user_id, name=name, token_hash=_digest(secret),
                         created_at=now))
    audit.record(session, "token_issued", actor=actor or audit.operator(), subject=username,
                 at=now, detail={"name": name})
    session.flush()
    return secret


def revoke_tokens(session: Session, username: str, name: str | None = None,
                  now: dt.datetime | None = None, *, actor: str | None = None) -> int:
    """Revoke ``username``'s tokens (only the one named ``name``, if given); how many.
    Audited as revoked by ``actor`` (default the command line's operator) when there were
    any."""
    user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise NotFound(f"pengguna '{username}' tidak ada", username=username)
    query = update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    if name is not None:
        query = query.where(ApiToken.name == name)
    now = now or utcnow()
    count = session.execute(query.values(revoked_at=now),
                            execution_options={"preserve_rowcount": True}).rowcount
    if count:
        audit.record(session, "token_revoked", actor=actor or audit.operator(),
                     subject=username, at=now, detail={"name": name, "count": count})
    return count


def token_actor(session: Session, secret: str) -> Actor | None:
    """The user a presented token stands for, or None (unknown, revoked or inactive)."""
    if not secret.startswith(PREFIX):
        return None
    username = session.scalar(
        select(User.username).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(secret), ApiToken.revoked_at.is_(None)))
    if username is None:
        return None
    found = actor(session, username)
    return found if found.active else None
