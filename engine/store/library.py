"""Definitions as running cases pinned them, fetched from the store by content hash.

Definitions are immutable, so a process may keep the ones it has read: a hash
always means the same definition, on every machine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
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


@dataclass(frozen=True)
class StoredVersion:
    """One stored definition and the cases running it: year -> number of cases."""

    content_hash: str
    level: str
    version: str
    stored_at: dt.datetime
    cases: dict[int, int]

    def as_dict(self) -> dict:
        return {"hash": self.content_hash, "level": self.level, "version": self.version,
                "stored_at": self.stored_at.isoformat(),
                "years": [{"year": y, "cases": n} for y, n in sorted(self.cases.items())]}


def stored_versions(session: Session) -> list[StoredVersion]:
    """Every definition stored, level by level and oldest first, with the years and counts
    of its cases."""
    counts: dict[str, dict[int, int]] = {}
    for content_hash, year, n in session.execute(
            select(Case.definition_hash, Case.year, func.count())
            .group_by(Case.definition_hash, Case.year)).all():
        counts.setdefault(content_hash, {})[year] = n
    rows = session.execute(select(DefinitionRow.content_hash, DefinitionRow.level,
                                  DefinitionRow.version, DefinitionRow.stored_at)
                           .order_by(DefinitionRow.level, DefinitionRow.stored_at,
                                     DefinitionRow.content_hash)).all()
    return [StoredVersion(h, level, version, stored_at, dict(sorted(counts.get(h, {}).items())))
            for h, level, version, stored_at in rows]
