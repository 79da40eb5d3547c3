"""`after` must not loop: a stage that (indirectly) waits for itself never opens."""

from __future__ import annotations

from typing import Iterator

from ..findings import Finding
from ..source import SourceDoc
from .corpus import Corpus


def check(corpus: Corpus) -> Iterator[Finding]:
    for doc in corpus:
        yield from _cycles(doc)


def _edges(doc: SourceDoc) -> dict[str, list[str]]:
    index = Corpus.stage_index(doc)
    edges: dict[str, list[str]] = {sid: [] for sid in index}
    for sid, i in index.items():
        edges[sid] = [d for d in doc.data["stages"][i].get("after", []) if d in index]
    return edges


def _components(edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan), in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            result.append(comp)

    for v in edges:
        if v not in index:
            visit(v)
    return result


def _cycle_through(start: str, members: set[str], edges: dict[str, list[str]]) -> list[str]:
    """A shortest path start -> ... -> start inside one component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for v in frontier:
            for w in edges[v]:
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return list(reversed(path)) + [start]
                if w in members and w not in previous:
                    previous[w] = v
                    nxt_frontier.append(w)
        frontier = nxt_frontier
    return [start, start]


def _cycles(doc: SourceDoc) -> Iterator[Finding]:
    edges = _edges(doc)
    order = Corpus.stage_index(doc)
    for comp in _components(edges):
        if len(comp) == 1 and comp[0] not in edges[comp[0]]:
            continue
        start = min(comp, key=order.__getitem__)
        cycle = _cycle_through(start, set(comp), edges)
        i = order[start]
        j = doc.data["stages"][i]["after"].index(cycle[1])
        yield doc.error(("stages", i, "after", j), "cycle",
                        "ketergantungan 'after' berputar, tahap-tahap ini tidak akan pernah "
                        f"terbuka: {' → '.join(cycle)} (→ = menunggu)")
