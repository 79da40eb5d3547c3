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
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
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
from ..store.task_rows import find_task
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
    with database().read() as session:
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
    with database().read() as session:
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
    with database().read() as session:
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


def _stage_or_403(session, actor, year: int, region: str, stage: str):
    if not may_chase_in(session, actor, region):
        abort(403)
    try:
        return find_task(session, region, stage, year)
    except NotFound:
        abort(404)


@bp.post("/kejar/ingatkan/<int:year>/<region>/<stage>")
def remind(year: int, region: str, stage: str):
    actor = _actor_or_403()
    back = _back()
    try:
        with database().session() as session:
            task = _stage_or_403(session, actor, year, region, stage)
            done = nudge(session, actor, region=region, stage=stage, year=year)
            roles = [w.role_name + (f" ({w.unit})" if w.unit else "") for w in done.recipients]
            what = (f"'{pinned(session, task.definition_hash).stage(stage).name}' "
                    f"{_names(session, [region]).get(region, region)}")
    except Refused as exc:
        flash(f"Pengingat tidak dikirim: {exc.message}.", "error")
    else:
        flash(f"Pengingat tahap {what} terkirim ke {', '.join(dict.fromkeys(roles))}; "
              "tercatat pada tahap.", "success")
    return back


def _back():
    """Back to the list the form was on (its query string rides along as ``kembali``)."""
    target = request.form.get("kembali") or ""
    if not target.startswith("/kejar") or "//" in target or "\\" in target:
        target = url_for("chase.overdue_list")
    return redirect(target)


def _area_choices(session, actor, task, supervising) -> list[tuple[str, str]]:
    """"This region only" and each area above it the user supervises (every region of the
    stage's level below it)."""
    names = _names(session, [task.region_code, *ancestors(task.region_code)])
    choices = [("", f"Hanya {names.get(task.region_code, task.region_code)} "
                    f"({task.region_code})")]
    for code in ancestors(task.region_code):
        if any((a.level, a.role) in supervising and a.region_code == code
               for a in actor.assignments):
            choices.append((code, f"Semua wilayah tingkat ini di {names.get(code, code)} "
                                  f"({code})"))
    return choices


@bp.route("/kejar/perpanjang/<int:year>/<region>/<stage>", methods=["GET", "POST"])
def extension(year: int, region: str, stage: str):
    """The form; on POST a confirmation page saying what will change; on the confirmed
    POST the extension itself (`extensions.extend`, all or nothing)."""
    actor = _actor_or_403()
    form = ExtendForm()
    with database().session() as session:
        task = _stage_or_403(session, actor, year, region, stage)
        supervising = supervising_roles(session)
        if not may_extend(actor, region, supervising):
            abort(403)
        d = pinned(session, task.definition_hash)
        form.area.choices = _area_choices(session, actor, task, supervising)
        place = session.get(Region, region)
        affected = None
        go = False
        if request.method == "POST" and form.validate_on_submit():
            if (form.area.data or "") not in dict(form.area.choices):
                abort(403)
            if form.until.data <= utcnow().astimezone(ZoneInfo(place.timezone)).date():
                form.until.errors.append("tenggat baru harus sesudah hari ini")
            elif form.confirmed.data == "1":
                go = True
            else:
                affected = _affected(session, task, form.area.data or None)
                form.confirmed.data = "1"
        level, stage_name = task.level, d.stage(stage).name
    if go:
        return _do_extend(actor, year, region, stage, level, stage_name, form)
    until = (format_date(form.until.data, "d MMMM y", locale=LOCALE)
             if isinstance(form.until.data, dt.date) else "")
    return render_template("chase/extend.html", form=form, year=year, region=region,
                           stage=stage, stage_name=stage_name, region_name=place.name,
                           until=until, reason_max=REASON_MAX,
                           zone=place.timezone, due_at=task.due_at, affected=affected,
                           area_name=dict(form.area.choices).get(form.area.data or "", ""))


def _affected(session, task, area: str | None) -> int:
    """How many stages an extension over ``area`` (None: the stage alone) would move."""
    if area is None:
        return 1
    return session.scalar(select(func.count()).select_from(Task).where(
        Task.year == task.year, Task.stage == task.stage, Task.level == task.level,
        within_clause(Task.region_code, area))) or 0


def _do_extend(actor, year: int, region: str, stage: str, level: str, stage_name: str,
               form: ExtendForm):
    area = form.area.data or None
    try:
        with database().session() as session:  # a refusal rolls everything back
            report = extend(session, area=area or region, stage=stage, year=year,
                            until=form.until.data, reason=form.reason.data.strip(),
                            username=actor.username, level=level if area else None)
    except (Refused, NotFound, Conflict) as exc:
        flash(f"Tenggat tidak diperpanjang: {exc.message}.", "error")
        return redirect(url_for("chase.extension", year=year, region=region, stage=stage))
    day = format_date(form.until.data, "d MMMM y", locale=LOCALE)
    text = (f"Tenggat tahap '{stage_name}' diperpanjang sampai {day} pukul 23.59 waktu "
            f"setempat, untuk {number(len(report.extended))} wilayah")
    if report.skipped_done:
        text += f"; {number(len(report.skipped_done))} wilayah sudah selesai dan tidak diubah"
    flash(text + ".", "success")
    return redirect(url_for("chase.overdue_list", tahun=year))


@bp.get("/kejar/penghambat/<int:year>/<region>/<stage>")
def blockers_page(year: int, region: str, stage: str):
    actor = _actor_or_403()
    with database().read() as session:
        task = _stage_or_403(session, actor, year, region, stage)
        tree = blocker_tree(session, task)
        place = session.get(Region, region)
    return render_template("chase/blockers.html", tree=tree, task=task, region_name=place.name,
                           zone=place.timezone)


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.add_template_global(blocker_text, "blocker_text")
