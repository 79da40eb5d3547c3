"""A level's diagrams as ``aksi graph`` prints them: each under a comment naming it, so
the CLI and the web viewer (engine/web/definitions.py) show the very same text."""

from __future__ import annotations

from ..definitions import Definition
from .lifecycle import lifecycle_graph
from .stages import stage_graph

PARTS = ("stages", "lifecycle")


def graph_text(definition: Definition, fmt: str = "mermaid", part: str = "all",
               child: Definition | None = None) -> str:
    """The stage dependency graph (``part`` "stages"), the lifecycle ("lifecycle") or
    both ("all"), in Mermaid or DOT, without a trailing newline. ``child``: the level its
    gates wait for, whose stages and states are then shown by name."""
    comment = "%%" if fmt == "mermaid" else "//"
    out = []
    if part in ("all", "stages"):
        out.append(f"{comment} Ketergantungan tahap: {definition.title}\n"
                   + stage_graph(definition, fmt, child))
    if part in ("all", "lifecycle"):
        out.append(f"{comment} Siklus tahap: {definition.title}\n"
                   + lifecycle_graph(definition, fmt))
    return "\n".join(out).rstrip("\n")
