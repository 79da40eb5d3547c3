"""What to watch: the supervisors' view of how the year goes in their regions, stage by
stage (each overdue count links to the list of those stages), and everyone's inbox of
the reminders and escalations addressed to their roles."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from sqlalchemy import select

from ..runtime import progress
from ..runtime.inbox import inbox_for
from .auth import require_sign_in
from ..store.models import Region
from .store import database
from .years import cycle_year

bp = Blueprint("monitor", __name__)


require_sign_in(bp)


@bp.get("/pantau")
def overview():
    actor = current_user.actor
    areas = sorted({a.region_code for a in actor.assignments})
    with database().session() as session:
        year, years = cycle_year(session, actor)
        rows = progress(session, areas, year)
        area_names = dict(session.execute(select(Region.code, Region.name)
                                          .where(Region.code.in_(areas))).all()) if areas else {}
    return render_template("monitor/overview.html", rows=rows, year=year, years=years,
                           areas=[(a, area_names.get(a, a)) for a in areas],
                           overdue=sum(r.overdue for r in rows))


@bp.get("/kotak-masuk")
def inbox():
    with database().session() as session:
        items = inbox_for(session, current_user.actor, limit=200)
    return render_template("monitor/inbox.html", items=items)
