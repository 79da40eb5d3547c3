"""The comment written just above each stage in its definition file: where policy owners
quote the juknis sentence a stage comes from. Snapshots keep data, not comments, so
these are read from the file on disk."""

from __future__ import annotations

from pathlib import Path

from . import source


def stage_comments(path: Path) -> dict[str, str]:
    """Stage id -> the comment lines directly above its entry, joined, ``#`` removed
    (none when the file cannot be read)."""
    doc, _ = source.read(path)
    data = doc.data if doc is not None else None
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        return {}
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    out = {}
    for i, stage in enumerate(doc.data["stages"]):
        if not isinstance(stage, dict) or not isinstance(stage.get("id"), str):
            continue
        line = doc.position(("stages", i))[0] - 1  # 0-based index of the stage's first line
        above = []
        while line > 0 and lines[line - 1].strip().startswith("#"):
            line -= 1
            above.append(lines[line].strip().lstrip("#").strip())
        if above:
            out[stage["id"]] = " ".join(reversed(above))
    return out
