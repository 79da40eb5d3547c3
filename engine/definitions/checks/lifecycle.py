"""The stage state machine: its names resolve, and every state can start and finish."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..findings import Finding
from ..source import SourceDoc
from .corpus import Corpus, suggest

BASE = ("lifecycle",)


def check(corpus: Corpus) -> Iterator[Finding]:
    for doc in corpus:
        problems = list(_names(doc))
        yield from problems
        if not problems:  # reachability is meaningless over unknown states
            yield from _reachability(doc)


def _sources(trigger: dict) -> list[tuple[tuple, str]]:
    src = trigger["from"]
    if isinstance(src, str):
        return [(("from",), src)]
    return [(("from", i), s) for i, s in enumerate(src)]


def _names(doc: SourceDoc) -> Iterator[Finding]:
    lc = doc.data["lifecycle"]
    states, triggers = lc["states"], lc["triggers"]
    for key in ("initial", "done"):
        if lc[key] not in states:
            yield doc.error(BASE + (key,), "unknown-state",
                            f"status '{lc[key]}' tidak ada di 'states'{suggest(lc[key], states)}")
    for tid, trig in triggers.items():
        for sub, state in _sources(trig) + [(("to",), trig["to"])]:
            if state not in states:
                yield doc.error(BASE + ("triggers", tid) + sub, "unknown-state",
                                f"pemicu '{tid}' memakai status '{state}' yang tidak ada di "
                                f"'states'{suggest(state, states)}")
    yield from _duties(doc, triggers)
    opens = lc["opens_with"]
    if opens not in triggers:
        yield doc.error(BASE + ("opens_with",), "unknown-trigger",
                        f"pemicu '{opens}' tidak ada di 'triggers'{suggest(opens, triggers)}")
        return
    trig = triggers[opens]
    by = [trig["by"]] if isinstance(trig["by"], str) else trig["by"]
    if "system" not in by:
        yield doc.error(BASE + ("triggers", opens, "by"), "unknown-role",
                        f"pemicu pembuka '{opens}' dijalankan mesin, jadi 'by' harus memuat 'system'")
    if lc["initial"] not in [s for _, s in _sources(trig)]:
        yield doc.error(BASE + ("triggers", opens, "from"), "unknown-state",
                        f"pemicu pembuka '{opens}' harus berangkat dari status awal "
                        f"'{lc['initial']}'")


def _duties(doc: SourceDoc, triggers: dict) -> Iterator[Finding]:
    """Every trigger a ``not_by`` names exists (separation of duties, runtime/duties.py)."""
    for tid, trig in triggers.items():
        barred = trig.get("not_by")
        if barred is None:
            continue
        items = [(("not_by",), barred)] if isinstance(barred, str) else [
            (("not_by", i), b) for i, b in enumerate(barred)]
        for sub, other in items:
            if other not in triggers:
                yield doc.error(BASE + ("triggers", tid) + sub, "unknown-trigger",
                                f"'not_by' pemicu '{tid}' menyebut pemicu '{other}' yang tidak "
                                f"ada di 'triggers'{suggest(other, triggers)}")


def _reachability(doc: SourceDoc) -> Iterator[Finding]:
    lc = doc.data["lifecycle"]
    forward: dict[str, set[str]] = defaultdict(set)
    backward: dict[str, set[str]] = defaultdict(set)
    for trig in lc["triggers"].values():
        for _, src in _sources(trig):
            forward[src].add(trig["to"])
            backward[trig["to"]].add(src)
    reachable = _closure(lc["initial"], forward)
    finishing = _closure(lc["done"], backward)
    for state in lc["states"]:
        if state not in reachable:
            yield doc.error(BASE + ("states", state), "unreachable-state",
                            f"status '{state}' tidak dapat dicapai dari status awal "
                            f"'{lc['initial']}': tidak ada pemicu yang menuju ke sana",
                            key=True)
        elif state not in finishing:
            yield doc.error(BASE + ("states", state), "dead-end-state",
                            f"dari status '{state}' tahap tidak pernah bisa mencapai "
                            f"'{lc['done']}': tambahkan pemicu keluar dari status ini",
                            key=True)


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
