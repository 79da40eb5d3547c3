"""What to watch: the supervisors' view of how the year goes in their regions, stage by
stage (each overdue count links to the list of those stages), and everyone's inbox of
the reminders and escalations addressed to their roles."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from ..clock import utcnow
from ..runtime import progress
from ..runtime.inbox import inbox_for
from .auth import require_sign_in
from .store import database

bp = Blueprint("monitor", __name__)


require_sign_in(bp)


@bp.get("/pantau")
def overview():
    year = request.args.get("tahun", type=int) or utcnow().year
    areas = sorted({a.region_code for a in current_user.actor.assignments})
    with database().session() as session:
        rows = progress(session, areas, year)
    return render_template("monitor/overview.html", rows=rows, year=year, areas=areas,
                           overdue=sum(r.overdue for r in rows))


@bp.get("/kotak-masuk")
def inbox():
    with database().session() as session:
        items = inbox_for(session, current_user.actor, limit=200)
    return render_template("monitor/inbox.html", items=items)
