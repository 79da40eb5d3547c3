"""``/healthz``: is the store reachable and its schema current? For load balancers."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..store.migrate import current, head
from .store import database

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    revision = current(database())
    ok = revision == head()
    return jsonify(status="ok" if ok else "schema-outdated", schema=revision), 200 if ok else 503
