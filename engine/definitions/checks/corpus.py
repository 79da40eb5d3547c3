"""The files being checked together, indexed the way checks look them up."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ..model import PARENT, SYSTEM, RoleRef
from ..source import SourceDoc


def suggest(name: str, known: Iterable[str]) -> str:
    """A "did you mean" tail for a message, or ''."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; maksud Anda '{close[0]}'?" if close else ""


@dataclass
class Corpus:
    docs: list[SourceDoc]
    # (level, tier) of files that failed parsing or the schema (None where unreadable):
    # references to them are not reported again, their own errors already are.
    broken: list[tuple[str | None, int | None]] = field(default_factory=list)
    by_level: dict[str, SourceDoc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for doc in self.docs:
            self.by_level.setdefault(doc.data["level"], doc)

    def is_broken(self, *, level: str | None = None, tier: int | None = None) -> bool:
        """Could the missing ``level`` (or ``tier``) be one of the broken files?"""
        return any((level is not None and (lv == level or lv is None)) or
                   (tier is not None and (t == tier or t is None))
                   for lv, t in self.broken)

    def __iter__(self) -> Iterator[SourceDoc]:
        return iter(self.docs)

    def by_tier(self, tier: int) -> SourceDoc | None:
        return next((d for d in self.by_level.values() if d.data["tier"] == tier), None)

    def child(self, doc: SourceDoc) -> SourceDoc | None:
        return self.by_tier(doc.data["tier"] + 1)

    def parent(self, doc: SourceDoc) -> SourceDoc | None:
        return self.by_tier(doc.data["tier"] - 1)

    def level_of(self, doc: SourceDoc, ref: RoleRef) -> SourceDoc | None:
        """The file a role reference made in ``doc`` points into."""
        if ref.level is None:
            return doc
        if ref.level == PARENT:
            return self.parent(doc)
        return self.by_level.get(ref.level)

    @staticmethod
    def stages(doc: SourceDoc) -> Iterator[tuple[int, dict]]:
        yield from enumerate(doc.data["stages"])

    @staticmethod
    def stage_ids(doc: SourceDoc) -> list[str]:
        return [s["id"] for s in doc.data["stages"]]

    @staticmethod
    def stage_index(doc: SourceDoc) -> dict[str, int]:
        """Stage id -> index of its first occurrence."""
        index: dict[str, int] = {}
        for i, s in enumerate(doc.data["stages"]):
            index.setdefault(s["id"], i)
        return index


__all__ = ["Corpus", "suggest", "SYSTEM", "PARENT"]
