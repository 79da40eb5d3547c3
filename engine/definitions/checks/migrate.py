"""The ``migrate:`` block: what running cases' gone states and stages become.

``aksi year migrate`` reads it (runtime/migration.py). Each mapping goes from an id
this edition no longer has to one it has; two stages cannot become one.
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from ..source import SourceDoc
from .corpus import Corpus, suggest

BASE = ("migrate",)


def check(corpus: Corpus) -> Iterator[Finding]:
    for doc in corpus:
        block = doc.data.get("migrate") or {}
        states = doc.data["lifecycle"]["states"]
        yield from _pairs(doc, block.get("states") or {}, "states", list(states),
                          "unknown-state", "status")
        stages = Corpus.stage_ids(doc)
        yield from _pairs(doc, block.get("stages") or {}, "stages", stages,
                          "unknown-stage", "tahap")
        yield from _merged(doc, block.get("stages") or {})


def _pairs(doc: SourceDoc, pairs: dict, key: str, known: list[str], code: str,
           noun: str) -> Iterator[Finding]:
    for old, new in pairs.items():
        where = BASE + (key, old)
        if old in known:
            yield doc.error(where, "migrate-existing",
                            f"{noun} '{old}' masih ada di definisi ini: hanya {noun} yang sudah "
                            f"tidak ada yang dipetakan di 'migrate.{key}'", key=True)
        if new not in known:
            yield doc.error(where, code,
                            f"'migrate.{key}' memetakan '{old}' ke {noun} '{new}' yang tidak ada "
                            f"di definisi ini{suggest(new, known)}")


def _merged(doc: SourceDoc, pairs: dict) -> Iterator[Finding]:
    seen: dict[str, str] = {}
    for old, new in pairs.items():
        if new in seen:
            yield doc.error(BASE + ("stages", old), "migrate-merge",
                            f"tahap '{old}' dan '{seen[new]}' sama-sama dipetakan ke '{new}': "
                            "satu tahap kasus hanya dapat menjadi satu tahap baru")
        seen.setdefault(new, old)
