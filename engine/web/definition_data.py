"""What the definitions pages show, read from the files on disk and from the store: the
checker's findings and the definitions of the workflows directory (kept per process
until a file changes), which years run which stored version, and a definition's stages,
roles and notices in names a policy owner reads (never ids alone)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.dates import format_date
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..definitions import Definition, DefinitionSet, Finding, RoleRef, default_directory, inspect
from ..definitions.model import SYSTEM
from ..definitions.comments import stage_comments
from ..store.library import pinned
from ..store.models import Case, DefinitionRow

_on_disk: dict[tuple, tuple[list[Finding], DefinitionSet | None]] = {}


def directory() -> Path:
    """The workflows directory: config ``WORKFLOWS`` (``AKSI_WORKFLOWS``), else the CLI's."""
    configured = current_app.config.get("WORKFLOWS")
    return Path(configured) if configured else default_directory()


def _signature(folder: Path) -> tuple:
    """Every file of the workflows and forms folders with its size and time: a changed
    file changes it."""
    files = [p for f in (folder, folder.parent / "forms") if f.is_dir()
             for p in sorted(f.rglob("*")) if p.is_file()]
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def on_disk() -> tuple[list[Finding], DefinitionSet | None]:
    """(what `aksi check` finds in the files, their definitions when none is an error)."""
    folder = directory()
    key = (str(folder.resolve()), _signature(folder))
    if key not in _on_disk:
        _on_disk.clear()
        _on_disk[key] = inspect(folder)
    return _on_disk[key]


def file_of(definition: Definition) -> Path | None:
    """The file on disk a definition was loaded from (its level), if any."""
    for path in sorted(directory().glob("*.y*ml")):
        if f"\nlevel: {definition.level}\n" in "\n" + path.read_text(encoding="utf-8",
                                                                     errors="replace"):
            return path
    return None


def running(session: Session) -> list[dict]:
    """Per level, stored version and year: how many cases run on it, oldest year first."""
    versions = dict(session.execute(
        select(DefinitionRow.content_hash, DefinitionRow.version)).all())
    rows = session.execute(
        select(Case.level, Case.definition_hash, Case.year, func.count())
        .group_by(Case.level, Case.definition_hash, Case.year)
        .order_by(Case.level, Case.year, Case.definition_hash)).all()
    return [{"level": level, "hash": h, "year": year, "cases": n, "version": versions.get(h, "?"),
             "title": pinned(session, h).title} for level, h, year, n in rows]


def year_definitions(session: Session, year: int, disk: DefinitionSet | None) -> DefinitionSet:
    """The definitions of ``year``: each level's version its cases run on (the most
    common, should a level run on two), else the file's."""
    pins: dict[str, str] = {}
    for level, h in session.execute(
            select(Case.level, Case.definition_hash).where(Case.year == year)
            .group_by(Case.level, Case.definition_hash)
            .order_by(Case.level, func.count().desc())).all():
        pins.setdefault(level, h)
    chosen = dict(disk.definitions) if disk else {}
    for level, h in pins.items():
        if level not in chosen or chosen[level].content_hash != h:
            chosen[level] = pinned(session, h)
    return DefinitionSet(chosen)


def day(value: dt.date) -> str:
    """A date in Bahasa Indonesia: "15 Januari 2027"."""
    return format_date(value, "d MMMM y", locale="id")


def role_names(family: DefinitionSet, level: str, refs) -> list[str]:
    """Names of role references made at ``level`` ("parent:supervisor" included)."""
    out = []
    for ref in refs:
        ref = ref if isinstance(ref, RoleRef) else RoleRef.parse(str(ref))
        found = family.resolve(level, ref)
        role = found[0].roles.get(found[1]) if found else None
        if role is None and ref.role == SYSTEM:
            out.append("sistem (otomatis)")
            continue
        out.append(f"{role.name} ({found[0].title})" if role and ref.level else
                   role.name if role else str(ref))
    return out


def stage_rows(d: Definition, family: DefinitionSet, quotes: dict[str, str]) -> list[dict]:
    """Each stage of ``d`` as the level page lists it."""
    names = {s.id: s.name for s in d.stages}
    rows = []
    for s in d.stages:
        waits = None
        if s.waits_for:
            child = family.definitions.get(s.waits_for.level)
            stage = next((c.name for c in child.stages if c.id == s.waits_for.stage),
                         s.waits_for.stage) if child else s.waits_for.stage
            state = (child.lifecycle.states[s.waits_for.state].name
                     if child and s.waits_for.state in child.lifecycle.states
                     else s.waits_for.state)
            waits = {"level": child.title if child else s.waits_for.level, "stage": stage,
                     "state": state, "quorum": ("semua" if s.waits_for.needs_all
                                                else f"{s.waits_for.quorum_percent}%")}
        rows.append({
            "id": s.id, "name": s.name, "group": d.groups.get(s.group, s.group), "kind": s.kind,
            "opens": str(s.opens), "due": str(s.due), "roll": s.roll,
            "after": [names.get(a, a) for a in s.after], "waits": waits,
            "parts": list(s.parts), "description": s.description,
            # The triggers this stage gives to other roles than the lifecycle does.
            "by": [(s.trigger(tid).name, role_names(family, d.level, refs)) for tid, refs in s.by],
            "outputs": [d.forms.get(f, {}).get("title", f) for f in s.outputs],
            "reminders": [(n.days, role_names(family, d.level, n.to)) for n in s.reminders],
            "escalations": [(n.days, role_names(family, d.level, n.to)) for n in s.escalations],
            "quote": quotes.get(s.id),
        })
    return rows


def quotes_for(d: Definition, disk: DefinitionSet | None) -> dict[str, str]:
    """The comments above each stage in its file, when ``d`` is the file's version."""
    if disk is None or disk.definitions.get(d.level) != d:
        return {}
    path = file_of(d)
    return stage_comments(path) if path else {}
