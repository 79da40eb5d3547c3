"""Siapa yang dikejar: the overdue list of supervisors and approvers, with its actions.

- ``GET /kejar``: late work (or, with ``jenis=terkunci``, stages locked behind late
  ones) across the user's regions, filtered and paged (`runtime.overdue`);
- ``GET /kejar/unduh.<csv|xlsx>``: the same list, every page, as a download (`export`);
- ``POST /kejar/ingatkan/<year>/<region>/<stage>``: "Ingatkan" (`runtime.nudges`);
- ``GET|POST /kejar/perpanjang/<year>/<region>/<stage>``: a deadline extension for the
  stage, or the stage in every region of its level below an area, after a confirmation
  page; the same `extensions.extend` as ``aksi task extend``;
- ``GET /kejar/penghambat/<year>/<region>/<stage>``: what keeps a stage locked, followed
  down through the child regions that are themselves locked (`runtime.overdue.blocker_tree`).

Others than supervisors and approvers get 403 on every one of them; a region outside
the user's regions is a 403 too.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Optional

from ..clock import utcnow
from sqlalchemy import func, select

from ..errors import Conflict, NotFound, Refused
from ..regions import ancestors, within_clause
from ..runtime.extensions import extend, may_extend, supervising_roles
from ..runtime.nudges import nudge
from ..runtime.reasons import REASON_MAX
from ..runtime.overdue import (MAX_PER_PAGE, Filters, blocker_tree, chase_areas,
                               may_chase, may_chase_in, overdue)
from ..runtime.tasks import find_task
from ..store.library import pinned
from ..store.models import Region, Task
from .auth import require_sign_in
from .export import FORMATS, Moment, export_response
from .filters import LOCALE, local_date, names, number
from .store import database
from .tasks import MAX_PAGE, filter_choices
from .years import cycle_year

bp = Blueprint("chase", __name__)
require_sign_in(bp)
MAX_DAYS = 3660


class ExtendForm(FlaskForm):
    until = DateField("Tenggat baru", validators=[DataRequired(message="isi tanggal tenggat baru")])
    area = SelectField("Berlaku untuk", validate_choice=False)
    reason = TextAreaField("Alasan", validators=[DataRequired(message="tulis alasannya")])
    confirmed = HiddenField(validators=[Optional()])


def _actor_or_403():
    actor = current_user.actor
    with database().session() as session:
        if not may_chase(session, actor):
            abort(403)
    return actor


def _filters(year: int) -> Filters:
    args = request.args
    area = (args.get("wilayah") or "").strip() or None
    return Filters(year=year, area=area, level=args.get("tingkat") or None,
                   stage=args.get("tahap") or None, state=args.get("status") or None,
                   min_days=min(max(args.get("min_hari", type=int) or 1, 1), MAX_DAYS),
                   unit=(args.get("unit") or "").strip() or None,
                   locked=args.get("jenis") == "terkunci")


@bp.get("/kejar")
def overdue_list():
    actor = _actor_or_403()
    page = min(max(request.args.get("halaman", type=int) or 1, 1), MAX_PAGE)
    with database().session() as session:
        year, years = cycle_year(session, actor)
        filters = _filters(year)
        if filters.area and not can_chase_here(session, actor, filters.area):
            abort(403)
        result = overdue(session, actor, filters, page)
        choices = filter_choices(session, year)
        supervising = supervising_roles(session)
        areas = chase_areas(session, actor)
        area_names = _names(session, areas + ([filters.area] if filters.area else []))
    args = {k: v for k, v in request.args.items() if k not in ("halaman", "tahun") and v}

    def page_url(number: int) -> str:
        return url_for("chase.overdue_list", **args, tahun=year, halaman=number)

    def kind_url(locked: bool) -> str:
        rest = {k: v for k, v in args.items() if k != "jenis"}
        return url_for("chase.overdue_list", **rest, tahun=year,
                       **({"jenis": "terkunci"} if locked else {}))

    return render_template(
        "chase/list.html", result=result, filters=filters, year=year, years=years,
        choices=choices, areas=[(a, area_names.get(a, a)) for a in areas],
        area_name=area_names.get(filters.area or "", filters.area),
        may_extend=lambda code: may_extend(actor, code, supervising),
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < result.pages else None,
        kind_url=kind_url, year_url=lambda y: url_for("chase.overdue_list", **args, tahun=y),
        export_url=lambda fmt: url_for("chase.download", fmt=fmt, **args, tahun=year))


def can_chase_here(session, actor, region: str) -> bool:
    return may_chase_in(session, actor, region)


def _names(session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Region.code, Region.name)
                                .where(Region.code.in_(set(codes)))).all())


HEADINGS = ["Wilayah", "Kode wilayah", "Wilayah induk", "Tingkat", "Tahap", "Status", "Tenggat",
            "Hari terlambat", "Menunggu", "Pemegang peran", "Penghambat"]


def _export_rows(rows):
    for r in rows:
        yield [r.region_name, r.region_code, r.parent_name or "", r.level_name, r.stage_name,
               r.state_name, Moment(r.due_at, r.timezone), r.days_late,
               "; ".join(w.role_name + (f" ({w.unit})" if w.unit else "") for w in r.waiting),
               "; ".join(h.display_name for w in r.waiting for h in w.holders),
               "; ".join(blocker_text(b, r.level, r.year, r.timezone) for b in r.blockers)]


def blocker_text(b, level: str, year: int, zone: str) -> str:
    """A `gates.Blocker` in the names people read (the gate's own message says ids)."""
    if b.kind == "opens":
        return f"belum waktunya dibuka: mulai {local_date(b.opens_at, zone)}"
    if b.kind == "after":
        n = names(level, year)
        return f"menunggu tahap '{n.stage(b.stage)}' selesai (kini: {n.state(b.state)})"
    n = names(b.level, year)
    if not b.total:
        return f"belum ada kasus {n.level} di wilayah ini"
    return (f"menunggu {n.level}: '{n.stage(b.stage)}' {n.state(b.state).lower()} di "
            f"{number(b.have)} dari {number(b.total)} wilayah, perlu {number(b.need)}")


@bp.get("/kejar/unduh.<fmt>")
def download(fmt: str):
    actor = _actor_or_403()
    if fmt not in FORMATS:
        abort(404)
    with database().session() as session:
        year, _ = cycle_year(session, actor)
        filters = _filters(year)
        if filters.area and not can_chase_here(session, actor, filters.area):
            abort(403)
        now = utcnow()

        def every_row():  # a page of MAX_PER_PAGE rows per query, written as they come
            page = 1
            while True:
                part = overdue(session, actor, filters, page, MAX_PER_PAGE, now=now)
                yield from _export_rows(part.rows)
                if page >= part.pages:
                    return
                page += 1

        kind = "terkunci" if filters.locked else "terlambat"
        return export_response(fmt, f"{kind}-{filters.area or 'semua'}-{year}", HEADINGS,
                               every_row(), title="Terkunci" if filters.locked else "Terlambat")


@bp.get("/kejar/penghambat/<int:year>/<region>/<stage>")
def blockers_page(year: int, region: str, stage: str):
    actor = _actor_or_403()
    with database().session() as session:
        task = _stage_or_403(session, actor, year, region, stage)
        tree = blocker_tree(session, task)
        place = session.get(Region, region)
    return render_template("chase/blockers.html", tree=tree, task=task, region_name=place.name,
                           zone=place.timezone)


def _remember_may_chase() -> None:
    """Before a page's view runs (and opens its own transaction, inside which a page may
    render: SQLite allows one writer), whether the menu offers the overdue list."""
    if (request.endpoint in (None, "static") or request.blueprint == "api"
            or not current_user.is_authenticated):
        return
    with database().session() as session:
        g.aksi_may_chase = may_chase(session, current_user.actor)


def nav_may_chase() -> bool:
    """For the navigation: may the signed-in user open the overdue list?"""
    return bool(g.get("aksi_may_chase")) and current_user.is_authenticated


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.before_request(_remember_may_chase)
    app.add_template_global(nav_may_chase, "boleh_kejar")
    app.add_template_global(blocker_text, "blocker_text")
