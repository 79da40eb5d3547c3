"""The web application (Flask). ``create_app(test_config)`` builds it.

Only the health endpoint exists so far: the task list, stage pages, supervisor
dashboard and JSON API are separate pieces of work. ``aksi serve`` runs this
app with the clock ticking in the same process.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from ..store import Database
from ..store.migrate import current, head


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(DATABASE_URL=None)
    app.config.from_prefixed_env("AKSI")
    if test_config:
        app.config.update(test_config)
    db = Database(app.config["DATABASE_URL"])
    app.extensions["aksi.db"] = db

    @app.get("/healthz")
    def health():
        revision = current(db)
        ok = revision == head()
        return jsonify(status="ok" if ok else "schema-outdated", schema=revision), 200 if ok else 503

    return app
