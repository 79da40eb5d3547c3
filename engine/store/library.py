"""Definitions as running cases pinned them, fetched from the store by content hash.

Definitions are immutable, so a process may keep the ones it has read: a hash
always means the same definition, on every machine.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..definitions import Definition
from .models import Case, DefinitionRow
from ..errors import NotFound


_by_hash: dict[str, Definition] = {}


def pinned(session: Session, content_hash: str) -> Definition:
    """The definition a case was started with."""
    found = _by_hash.get(content_hash)
    if found is None:
        snapshot = session.scalar(
            select(DefinitionRow.snapshot).where(DefinitionRow.content_hash == content_hash))
        if snapshot is None:
            raise NotFound(f"definisi {content_hash[:12]} tidak ada di basis data",
                           content_hash=content_hash)
        found = _by_hash.setdefault(content_hash, Definition.from_snapshot(snapshot))
    return found


def pin(session: Session, definition: Definition, now: dt.datetime) -> None:
    """Store ``definition`` so that cases can refer to it by hash (once)."""
    exists = session.scalar(select(DefinitionRow.content_hash)
                            .where(DefinitionRow.content_hash == definition.content_hash))
    if exists is None:
        session.add(DefinitionRow(content_hash=definition.content_hash, level=definition.level,
                                  version=definition.version, snapshot=definition.snapshot,
                                  stored_at=now))
        session.flush()
    _by_hash.setdefault(definition.content_hash, definition)


def running_versions(session: Session) -> dict[str, dict[str, list[int]]]:
    """Level -> definition hash -> years of the cases that run on it."""
    rows = session.execute(select(Case.level, Case.definition_hash, Case.year).distinct()).all()
    out: dict[str, dict[str, list[int]]] = {}
    for level, content_hash, year in rows:
        out.setdefault(level, {}).setdefault(content_hash, []).append(year)
    return out
