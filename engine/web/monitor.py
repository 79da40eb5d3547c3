"""Pantauan: the dashboard of a region, for supervisors and approvers.

- ``GET /pantau``: the dashboard of the user's outermost area (national when the user
  may watch every provinsi) for the cycle year (``?tahun=``);
- ``GET /pantau/<year>/<wilayah>`` (``region`` a code, or ``nasional``): the region's
  child regions with their progress, class and a link down; a region x stage matrix of
  the children's own stages (each cell to the stage page) with the stages below them
  summed per level (to the child's dashboard); the ranking; progress over the year as
  a server-side SVG chart; the region's own stages (runtime/dashboard.py reads it all);
- ``GET /pantau/<year>/<wilayah>/unduh/<anak|matriks>.<csv|xlsx>``: the children table or
  the matrix as a download (`export`);
- ``GET /pantau/<year>/<wilayah>.json``: the same data as JSON.

Who: holders of a supervising or approving role (`runtime.overdue.chase_areas`, from the
definitions' role properties); others get 403, and so does a region outside the user's.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template
from flask_login import current_user
from sqlalchemy import select

from ..clock import utcnow
from ..regions import ancestors, is_within
from ..runtime.dashboard import NATIONAL, Dashboard, dashboard
from ..runtime.overdue import chase_areas, may_chase_in
from ..store.models import Region
from .auth import require_sign_in
from .charts import progress_chart
from .export import FORMATS, export_response
from .filters import names
from .store import database
from .years import MAX_YEAR, MIN_YEAR, cycle_year

bp = Blueprint("monitor", __name__)
require_sign_in(bp)

NATIONAL_SLUG = "nasional"


def _areas_or_403(session) -> list[str]:
    areas = chase_areas(session, current_user.actor)
    if not areas:
        abort(403)
    return areas


def _national(session, areas: list[str]) -> bool:
    """May the user watch the whole country: is every provinsi one of their areas?"""
    provinces = set(session.scalars(select(Region.code).where(Region.tier == 1)))
    return bool(provinces) and provinces <= set(areas)


@bp.get("/pantau")
def overview():
    with database().read() as session:
        areas = _areas_or_403(session)
        year, _ = cycle_year(session, current_user.actor)
        root = NATIONAL_SLUG if _national(session, areas) else areas[0]
    return _page(year, root)


def _load(year: int, region: str) -> tuple[Dashboard, dict]:
    """The dashboard the user asked for, or 403/404; with what the page shows around it."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404)
    actor = current_user.actor
    with database().read() as session:
        areas = _areas_or_403(session)
        national = _national(session, areas)
        if region == NATIONAL_SLUG:
            if not national:
                abort(403)
            code = NATIONAL
        else:
            code = region
            if not may_chase_in(session, actor, code):
                abort(403)
        codes = [code, *ancestors(code)] if code is not NATIONAL else []
        known = dict(session.execute(select(Region.code, Region.name)
                                     .where(Region.code.in_(codes))).all()) if codes else {}
        if code is not NATIONAL and code not in known:
            abort(404)
        board = dashboard(session, code, year, utcnow())
        _, years = cycle_year(session, actor)
    trail = []
    if code is not NATIONAL:  # the way up, as far as the user may go
        trail = [(NATIONAL_SLUG, "Nasional")] if national else []
        trail += [(c, known[c]) for c in reversed(ancestors(code))
                  if c in known and any(is_within(c, a) for a in areas)]
    context = {"name": known.get(code, "Nasional") if code else "Nasional", "slug": region,
               "trail": trail, "areas": areas, "years": years}
    return board, context


# ``wilayah``, not ``region``: edge.py 404s a ``region`` that is not a Kemendagri code, and
# this page takes "nasional" too (an unknown code is a 404 here).
@bp.get("/pantau/<int:year>/nasional", defaults={"wilayah": NATIONAL_SLUG})
@bp.get("/pantau/<int:year>/<wilayah>")
def region(year: int, wilayah: str):
    return _page(year, wilayah)


def _page(year: int, wilayah: str):
    board, context = _load(year, wilayah)
    return render_template("monitor/dashboard.html", board=board, year=year,
                           chart=progress_chart(board.weeks, board.now), **context)


@bp.get("/pantau/<int:year>/nasional.json", defaults={"wilayah": NATIONAL_SLUG})
@bp.get("/pantau/<int:year>/<wilayah>.json")
def region_json(year: int, wilayah: str):
    board, context = _load(year, wilayah)
    return jsonify({**board.as_dict(), "name": context["name"]})


def _child_rows(board: Dashboard) -> tuple[list[str], list[list]]:
    headings = ["Peringkat", "Wilayah", "Kode wilayah", "Tahap", "Jatuh tempo", "Selesai",
                "Selesai dari yang jatuh tempo (%)", "Tepat waktu", "Selesai terlambat",
                "Lewat tenggat", "Klasifikasi"]
    rows = [[c.rank, c.name, c.code, c.tally.total, c.tally.due, c.tally.done, c.tally.percent,
             c.tally.on_time, c.tally.done_late, c.tally.overdue, c.band or ""]
            for c in board.children]
    return headings, rows


def _matrix_rows(board: Dashboard) -> tuple[list[str], list[list]]:
    d = board.levels.get(board.child_level) if board.child_level else None
    stages = d.stages if d else []
    lower = [names(level, board.year).level for level in board.lower_levels]
    headings = ["Wilayah", "Kode wilayah", *(s.name for s in stages),
                *(f"{name}: selesai" for name in lower)]
    rows = []
    for c in board.children:
        cells = [c.cells[s.id].state_name if s.id in c.cells else "" for s in stages]
        below = [f"{c.below[lv].done}/{c.below[lv].total}" if lv in c.below else ""
                 for lv in board.lower_levels]
        rows.append([c.name, c.code, *cells, *below])
    return headings, rows


@bp.get("/pantau/<int:year>/nasional/unduh/<table>.<fmt>", defaults={"wilayah": NATIONAL_SLUG})
@bp.get("/pantau/<int:year>/<wilayah>/unduh/<table>.<fmt>")
def download(year: int, wilayah: str, table: str, fmt: str):
    if fmt not in FORMATS or table not in ("anak", "matriks"):
        abort(404)
    board, context = _load(year, wilayah)
    headings, rows = (_child_rows if table == "anak" else _matrix_rows)(board)
    return export_response(fmt, f"pantauan-{table}-{wilayah}-{year}", headings, rows,
                           title="Wilayah" if table == "anak" else "Matriks")
