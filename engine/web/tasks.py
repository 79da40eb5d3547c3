"""The task list and the stage pages: where operators, verifikators and approvers act.

Acting is a POST per trigger (CSRF-checked by the app) carrying the version the user
saw: if somebody changed the stage meanwhile, the engine refuses with a conflict and
nothing is written. A refusal is shown on the stage page in the engine's own words.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired

from ..errors import Conflict, InvalidForm, NotFound, Refused
from ..regions import TIER_NAMES
from ..people import can_see
from ..runtime import act_on, find_task, list_tasks, view
from ..store.library import pinned
from ..store.models import Case
from .auth import require_sign_in
from .form_page import form_page
from .fragments import MARKER, Fragment, page_response
from .review import review_panel
from .sheets import sheets_panel
from .store import database
from .years import cycle_year

bp = Blueprint("tasks", __name__)
PAGE_SIZE = 50  # rows per page of the task list
MAX_PAGE = 10_000


class ActForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])
    reason = TextAreaField("Alasan")  # its length: the engine's `REASON_MAX`, in its words


require_sign_in(bp)


@bp.get("/")
def index():
    return redirect(url_for("tasks.task_list"))


@bp.get("/tugas")
def task_list():
    """'Tugas saya' (what needs this person now) or, with ``lingkup=semua``, every stage
    they can see; filtered by year, level, stage, state and lateness, a page at a time.
    Without ``tahun``: the cycle year with open work (`years.default_year`)."""
    everything = request.args.get("lingkup") == "semua"
    overdue = request.args.get("terlambat") == "1"
    level = request.args.get("tingkat") or None
    stage = request.args.get("tahap") or None
    state = request.args.get("status") or None
    page = min(max(request.args.get("halaman", type=int) or 1, 1), MAX_PAGE)
    actor = current_user.actor
    with database().read() as session:
        year, years = cycle_year(session, actor)
        choices = filter_choices(session, year)
        views = list_tasks(session, user=actor, year=year, overdue=overdue,
                           actionable=not everything, level=level, stage=stage, state=state,
                           offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    args = {k: v for k, v in request.args.items() if k not in ("halaman", "tahun") and v}

    def page_url(number: int) -> str:
        return url_for("tasks.task_list", **args, tahun=year, halaman=number)

    return render_template(
        "tasks/list.html", tasks=views[:PAGE_SIZE], year=year, years=years,
        everything=everything, overdue=overdue, level=level, stage=stage, state=state,
        choices=choices, page=page, first=(page - 1) * PAGE_SIZE + 1,
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if len(views) > PAGE_SIZE else None,
        year_url=lambda y: url_for("tasks.task_list", **args, tahun=y))


def filter_choices(session, year: int) -> dict:
    """Levels, their stages and the states of the definitions ``year``'s cases run on,
    as (id, name) pairs for the filter menus: highest level first."""
    hashes = session.scalars(select(Case.definition_hash).distinct().where(Case.year == year))
    definitions = sorted((pinned(session, h) for h in hashes), key=lambda d: d.tier)
    states: dict[str, str] = {}
    for d in definitions:
        for sid, spec in d.lifecycle.states.items():
            states.setdefault(sid, spec.name)
    return {"levels": [(d.level, TIER_NAMES.get(d.tier, d.level),
                        [(s.id, s.name) for s in d.stages]) for d in definitions],
            "states": list(states.items())}


def _visible_or_abort(region: str) -> None:
    # Checked before the stage is looked up: a region outside the user's scope is a 403
    # whether or not the stage exists there.
    if not can_see(current_user.actor, region):
        abort(403)


@bp.get("/tugas/<int:year>/<region>/<stage>")
def detail(year: int, region: str, stage: str):
    return stage_page(year, region, stage)


def stage_page(year: int, region: str, stage: str, *, form_override=None, status: int = 200):
    """The stage page. ``form_override(session, task, definition, actor)`` gives extra
    arguments of `form_page`: after a refused save (engine/web/form_entry.py) the form
    shows what was typed, its problems and why nothing was saved."""
    _visible_or_abort(region)
    with database().read() as session:
        try:
            task = find_task(session, region, stage, year)
        except NotFound:
            abort(404)
        shown = view(session, task, user=current_user.actor, documents=False)
        definition = pinned(session, task.definition_hash)
        # Each panel of the stage page is built by its own module (see their docstrings).
        panel_args = dict(task=task, definition=definition, actor=current_user.actor)
        extra = form_override(session, task, definition, current_user.actor) \
            if form_override else {}
        review = review_panel(session, **panel_args, returned=shown.returned)
        panels = dict(form_page=form_page(session, **panel_args, **extra,
                                          marks=review["marks"] if review else None),
                      review=review, sheets=sheets_panel(session, **panel_args))
    fp = panels["form_page"]
    fragment = fp["documents"] if fp and isinstance(fp["documents"], Fragment) else None
    if fragment is not None:  # written into the page as it was compressed (fragments.py)
        panels["form_page"] = {**fp, "documents": Markup(MARKER)}
    html = render_template("tasks/detail.html", task=shown, confirm=confirmations(definition),
                           **panels)
    return page_response(html, fragment, status) if fragment is not None else (html, status)


def confirmations(definition) -> dict[str, str]:
    """Trigger id -> the question asked before firing it: approving (into the done state)
    and reopening (out of it) are asked twice."""
    lc = definition.lifecycle
    done = lc.states[lc.done].name
    out = {}
    for tid, t in lc.triggers.items():
        if t.by_system:
            continue
        if t.dest == lc.done:
            out[tid] = (f"Yakin '{t.name}'? Status tahap menjadi '{done}' dan isiannya tidak "
                        "dapat diubah lagi kecuali dibuka kembali.")
        elif lc.done in t.sources:
            out[tid] = (f"Yakin '{t.name}'? Tahap yang sudah '{done}' akan dapat diubah lagi "
                        "dan harus disetujui ulang.")
    return out


@bp.post("/tugas/<int:year>/<region>/<stage>/<trigger>")
def act(year: int, region: str, stage: str, trigger: str):
    _visible_or_abort(region)
    back = redirect(url_for("tasks.detail", year=year, region=region, stage=stage))
    form = ActForm()
    if not form.validate_on_submit() or not (form.version.data.isascii()
                                             and form.version.data.isdigit()):
        flash("Formulir tidak lengkap; muat ulang halaman lalu coba lagi.", "error")
        return back
    try:
        with database().session() as session:
            done = act_on(session, region, stage, year, trigger, current_user.username,
                          reason=(form.reason.data or "").strip() or None,
                          expected_version=int(form.version.data))
            lc = pinned(session, find_task(session, region, stage, year).definition_hash).lifecycle

            def name_of(state_or_trigger: str) -> str:  # the YAML names people read
                known = lc.states.get(state_or_trigger) or lc.triggers.get(state_or_trigger)
                return known.name if known else state_or_trigger
    except NotFound:
        abort(404)
    except InvalidForm as exc:
        flash(exc.message + ": " + "; ".join(exc.problems), "error")
    except (Refused, Conflict) as exc:
        flash(exc.message, "error")
    else:
        flash(f"Berhasil: {name_of(trigger)}; status tahap kini '{name_of(done.to_state)}'"
              + (f"; {len(done.opened)} tahap terbuka karenanya" if done.opened else ""), "success")
    return back


@bp.app_errorhandler(403)
def forbidden(_error):
    return render_template("error.html", title="Tidak diizinkan",
                           message="Anda tidak berhak melihat wilayah ini."), 403


@bp.app_errorhandler(404)
def not_found(_error):
    return render_template("error.html", title="Tidak ditemukan",
                           message="Halaman atau tahap yang Anda cari tidak ada."), 404
