"""A stage's own `by`: who fires which of its triggers, overriding the lifecycle's roles.

Each key must name a trigger of the lifecycle other than the one the engine fires to open
a stage, and each role must exist (the same rules as a trigger's `by`, via
`references.role_ref`). Positions point at the key or the role in the stage.
"""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from ..source import SourceDoc
from .corpus import SYSTEM, Corpus, suggest
from .references import role_ref


def check(corpus: Corpus) -> Iterator[Finding]:
    for doc in corpus:
        lc = doc.data["lifecycle"]
        for i, stage in Corpus.stages(doc):
            for tid, roles in stage.get("by", {}).items():
                yield from _override(corpus, doc, ("stages", i, "by", tid), stage["id"],
                                     tid, roles, lc)


def _override(corpus: Corpus, doc: SourceDoc, path: tuple, stage: str, tid: str,
              roles: str | list[str], lc: dict) -> Iterator[Finding]:
    triggers = lc["triggers"]
    if tid not in triggers:
        yield doc.error(path, "unknown-trigger",
                        f"'by' tahap '{stage}' menyebut pemicu '{tid}' yang tidak ada di "
                        f"'triggers'{suggest(tid, triggers)}", key=True)
        return
    if tid == lc["opens_with"]:
        yield doc.error(path, "unknown-trigger",
                        f"pemicu pembuka '{tid}' selalu dijalankan mesin ('system'); "
                        f"tahap '{stage}' tidak dapat mengganti siapa yang menjalankannya",
                        key=True)
        return
    items = [(path, roles)] if isinstance(roles, str) else [
        (path + (j,), r) for j, r in enumerate(roles)]
    for where, text in items:
        if text == SYSTEM:  # the engine fires only the opening trigger
            yield doc.error(where, "unknown-role",
                            f"'system' hanya menjalankan pemicu pembuka; pemicu '{tid}' di "
                            f"tahap '{stage}' harus dijalankan suatu peran")
            continue
        yield from role_ref(corpus, doc, where, text, system_ok=False)
