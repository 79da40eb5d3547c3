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
    by_level: dict[str, SourceDoc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for doc in self.docs:
            self.by_level.setdefault(doc.data["level"], doc)

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
