"""The web application (Flask): the task list where people act on stages.

``create_app(test_config)`` builds it; each area is a blueprint with its own module:

- ``health``: ``/healthz`` for load balancers (no login);
- ``auth``: sign-in and sign-out (Flask-Login sessions, passwords checked against
  their hashes);
- ``tasks``: the task list and one page per stage, where the allowed triggers are
  forms (CSRF-protected, like every POST);
- ``monitor``: the supervisors' view of a year in their regions, stage by stage, with
  the overdue ones counted and listed; the inbox of reminders and escalations;
- ``api``: the JSON API under ``/api/v1`` (bearer tokens, same scope and role checks).

Every page but the health check and the sign-in needs a signed-in user, and every
stage page checks that the user may see its region. ``aksi serve`` runs this app with
the clock ticking in the same process. UI text is Bahasa Indonesia.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..store import Database
from . import api, auth, filters, health, monitor, sheets, tasks

csrf = CSRFProtect()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(DATABASE_URL=None, SECRET_KEY=None,
                            SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.config.from_prefixed_env("AKSI")  # AKSI_SECRET_KEY, AKSI_DATABASE_URL, ...
    if test_config:
        app.config.update(test_config)
    key = app.config["SECRET_KEY"]
    if not key and not app.testing:
        # Without one, every process would sign its own sessions and CSRF tokens.
        raise RuntimeError("set AKSI_SECRET_KEY (the same long random text for every web "
                           "process), e.g. AKSI_SECRET_KEY=$(python3 -c 'import secrets; "
                           "print(secrets.token_hex(32))')")
    # from_prefixed_env parses values as JSON: a key of digits arrives as a number.
    app.config["SECRET_KEY"] = str(key) if key else secrets.token_hex(32)
    app.extensions["aksi.db"] = Database(app.config["DATABASE_URL"])
    csrf.init_app(app)
    auth.init_app(app)
    filters.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(monitor.bp)
    sheets.init_app(app)  # its upload checks CSRF after limiting the body's size
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # bearer tokens only: no cookie session to forge requests with

    @app.errorhandler(500)
    def failed(_error):
        # Flask has logged the exception; the person gets words they can act on.
        return render_template("error.html", title="Terjadi kesalahan",
                               message="Permintaan Anda tidak dapat diselesaikan dan tidak ada "
                                       "yang diubah. Coba lagi sebentar lagi; bila terus "
                                       "terjadi, hubungi admin."), 500

    @app.errorhandler(CSRFError)
    def csrf_refused(_error):
        return render_template("error.html", title="Formulir kedaluwarsa",
                               message="Formulir ini sudah kedaluwarsa atau tidak sah; muat "
                                       "ulang halaman lalu coba lagi. Tidak ada yang diubah."), 400

    return app
