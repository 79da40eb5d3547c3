"""``/healthz``: for load balancers. Anyone may ask, so it says only whether the service
is up (200 ``{"status": "ok"}``): its store reachable and its schema current; else 503
``{"status": "unavailable"}``. Which revision, or what failed, is for the logs and
``aksi db status``, not for the world."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..store.migrate import current, head
from .store import database

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        revision = current(database())
    except Exception:  # noqa: BLE001 - unreachable store: say "unavailable", log the rest
        current_app.logger.exception("health check: the store cannot be read")
        return jsonify(status="unavailable"), 503
    if revision != head():
        current_app.logger.warning("health check: schema revision %s, code expects %s; run "
                                   "`aksi db upgrade`", revision, head())
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
