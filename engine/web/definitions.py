"""The year on screen, for every signed-in user (policy owners above all): the calendar
as a Gantt chart, each level's stage graph and lifecycle, and a definitions page.

The diagrams are the very text ``aksi calendar YEAR --format mermaid`` and ``aksi graph
LEVEL --format mermaid`` print (engine/diagrams), in a ``<pre class="mermaid">`` that the
vendored Mermaid (static/vendor/mermaid) draws; without JavaScript the text stays. The
pages show definitions, the checker's findings and how many cases each version runs,
nothing of any region, so every signed-in user may read them.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from ..clock import utcnow
from ..definitions import DefinitionSet
from ..diagrams import calendar_rows, gantt, graph_text
from ..errors import NotFound
from ..store.library import pinned
from ..store.models import DefinitionRow
from .auth import require_sign_in
from .definition_data import (
    day, directory, on_disk, quotes_for, role_names, running, stage_rows, year_definitions,
)
from .headers import DIAGRAM_POLICY
from .store import database

bp = Blueprint("definitions", __name__)
HASH = re.compile(r"[0-9a-f]{64}")

require_sign_in(bp)


@bp.after_request
def allow_diagram_styles(response):
    """Mermaid writes each diagram's ``<style>`` into its SVG: these pages allow inline
    styles, and nothing else more than every other page (engine/web/headers.py)."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = DIAGRAM_POLICY
    return response


@bp.get("/definisi")
def index():
    findings, disk = on_disk()
    with database().read() as session:
        runs = running(session)
    disk_hash = {d.level: d.content_hash for d in disk} if disk else {}
    for run in runs:
        run["same"] = disk_hash.get(run["level"]) == run["hash"]
    drift = sorted({(r["title"], r["year"]) for r in runs if disk and not r["same"]})
    years = sorted({r["year"] for r in runs} | {utcnow().year})
    return render_template("definitions/index.html", findings=findings, disk=disk, runs=runs,
                           drift=drift, years=years, folder=directory(),
                           errors=sum(f.is_error for f in findings))


@bp.get("/definisi/<level>")
def level_page(level: str):
    findings, disk = on_disk()
    asked = request.args.get("versi")
    if asked is not None and not HASH.fullmatch(asked):
        abort(404)
    with database().read() as session:
        d = _definition(session, level, asked, disk)
        runs = [r for r in running(session) if r["level"] == level]
    family = dict(disk.definitions) if disk else {}
    family[level] = d
    family_set = DefinitionSet(family)
    lc = d.lifecycle
    triggers = [{"name": t.name, "from": [lc.states[s].name for s in t.sources if s in lc.states],
                 "to": lc.states[t.dest].name if t.dest in lc.states else t.dest,
                 "by": role_names(family_set, level, t.by), "reason": t.reason_required,
                 "not_by": [lc.triggers[n].name for n in t.not_by if n in lc.triggers]}
                for t in lc.triggers.values()]
    return render_template(
        "definitions/level.html", d=d, runs=runs, triggers=triggers,
        on_disk=bool(disk and disk.definitions.get(level) == d),
        stages=stage_rows(d, family_set, quotes_for(d, disk)),
        stages_text=graph_text(d, "mermaid", "stages", child=family_set.child_of(level)),
        lifecycle_text=graph_text(d, "mermaid", "lifecycle"),
        findings=[f for f in findings if level in f.file])


def _definition(session, level: str, asked: str | None, disk):
    """The version asked for (a stored hash of ``level``), else the file's, else the one
    stored last; 404 when there is none."""
    if asked is None and disk is not None and level in disk.definitions:
        return disk[level]
    h = asked or session.scalar(select(DefinitionRow.content_hash).where(
        DefinitionRow.level == level).order_by(DefinitionRow.stored_at.desc()).limit(1))
    try:
        d = pinned(session, h) if h else None
    except NotFound:
        d = None
    if d is None or d.level != level:
        abort(404)
    return d


@bp.get("/kalender/<int:year>")
def calendar(year: int):
    _, disk = on_disk()
    with database().read() as session:
        defs = year_definitions(session, year, disk)
    if not len(defs):
        abort(404)
    rows = calendar_rows(defs, year)
    titles = {d.level: d.title for d in defs}
    names = {(d.level, s.id): s.name for d in defs for s in d.stages}
    return render_template("definitions/calendar.html", year=year, rows=rows, titles=titles,
                           names=names, gantt_text=gantt(rows, year), day=day,
                           pinned={d.level: d.content_hash for d in defs}
                           != ({d.level: d.content_hash for d in disk} if disk else {}))
