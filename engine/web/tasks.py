"""The task list and the stage pages: where operators, verifikators and approvers act.

Acting is a POST per trigger (CSRF-checked by the app) carrying the version the user
saw: if somebody changed the stage meanwhile, the engine refuses with a conflict and
nothing is written. A refusal is shown on the stage page in the engine's own words.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..clock import utcnow
from ..errors import Conflict, InvalidForm, NotFound, Refused
from ..people import can_see
from ..runtime import act_on, find_task, list_tasks, view
from ..store.library import pinned
from .auth import require_sign_in
from .form_page import form_page
from .review import review_panel
from .sheets import sheets_panel
from .store import database

bp = Blueprint("tasks", __name__)
LIST_LIMIT = 300


class ActForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])
    reason = TextAreaField("Alasan", validators=[Length(max=2000)])


require_sign_in(bp)


@bp.get("/")
def index():
    return redirect(url_for("tasks.task_list"))


@bp.get("/tugas")
def task_list():
    year = request.args.get("tahun", type=int) or utcnow().year
    everything = request.args.get("lingkup") == "semua"
    overdue = request.args.get("terlambat") == "1"
    level, stage = request.args.get("tingkat") or None, request.args.get("tahap") or None
    with database().session() as session:
        views = list_tasks(session, user=current_user.actor, year=year, overdue=overdue,
                           actionable=not everything, level=level, stage=stage,
                           limit=LIST_LIMIT + 1)
    return render_template("tasks/list.html", tasks=views[:LIST_LIMIT],
                           truncated=len(views) > LIST_LIMIT, year=year,
                           everything=everything, overdue=overdue, level=level, stage=stage)


def _visible_or_abort(region: str) -> None:
    # Checked before the stage is looked up: a region outside the user's scope is a 403
    # whether or not the stage exists there.
    if not can_see(current_user.actor, region):
        abort(403)


@bp.get("/tugas/<int:year>/<region>/<stage>")
def detail(year: int, region: str, stage: str):
    _visible_or_abort(region)
    with database().session() as session:
        try:
            task = find_task(session, region, stage, year)
        except NotFound:
            abort(404)
        shown = view(session, task, user=current_user.actor)
        # Each panel of the stage page is built by its own module (see their docstrings).
        panel_args = dict(task=task, definition=pinned(session, task.definition_hash),
                          actor=current_user.actor)
        panels = dict(form_page=form_page(session, **panel_args),
                      review=review_panel(session, **panel_args),
                      sheets=sheets_panel(session, **panel_args))
    return render_template("tasks/detail.html", task=shown, **panels)


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
    except NotFound:
        abort(404)
    except InvalidForm as exc:
        flash(exc.message + ": " + "; ".join(exc.problems), "error")
    except (Refused, Conflict) as exc:
        flash(exc.message, "error")
    else:
        flash(f"Berhasil: status kini '{done.to_state}'"
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
