"""The web application (Flask): the task list where people act on stages.

``create_app(test_config)`` builds it; each area is a blueprint with its own module:

- ``health``: ``/healthz`` for load balancers (no login);
- ``auth``: sign-in and sign-out (Flask-Login sessions, passwords checked against
  their hashes);
- ``tasks``: the task list and one page per stage, where the allowed triggers are
  forms (CSRF-protected, like every POST);
- ``monitor``: the dashboard of a region for supervisors and approvers (children's
  progress, the region x stage matrix, ranking, weekly chart; from the progress counters);
- ``chase``: who to chase: the overdue list across the subtree, whose turn, Ingatkan,
  deadline extensions, exports;
- ``inbox``: the reminders and escalations addressed to the user's roles, read state per
  user (``menu`` reads the unread count and whether the overdue list is offered);
- ``definitions``: the year on screen for every signed-in user: the calendar as a Gantt
  chart, each level's stage graph and lifecycle (Mermaid, vendored), its stages, roles
  and notices, the checker's findings and which years run which version;
- ``api``: the JSON API under ``/api/v1`` (bearer tokens, same scope and role checks).

Around them: ``edge`` checks and bounds every request before any view runs (no NUL, no
lone surrogate, sizes, address parts by pattern, strict JSON), ``problems`` answers
errors (pages in Bahasa Indonesia, 405 and 500 included; JSON under the API's prefix),
``headers`` adds the security headers (a Content-Security-Policy the pages satisfy;
``Secure`` cookies and HSTS with ``AKSI_HTTPS=1``), ``metrics`` serves ``/metrics`` for
Prometheus and times every request, only with ``AKSI_METRICS=1``. ``page_cache`` keeps what a page
computed from a stage's data under the data's stamp, and ``fragments`` serves the stage
page as one gzip stream around its form, compressed once.

Every page but the health check and the sign-in needs a signed-in user, and every
stage page checks that the user may see its region. ``aksi serve`` runs this app with
the clock ticking in the same process. Outside testing the app refuses to start without
a ``SECRET_KEY`` (``AKSI_SECRET_KEY``) of at least `MIN_SECRET_KEY` characters: every
process must sign sessions and CSRF tokens alike, with a key nobody can guess.

For slow links: responses are compressed (Flask-Compress: zstd, brotli or gzip, as the
browser asks), and static files are fingerprinted (``url_for('static', ...)`` adds
``?v=<hash of the content>``), so a browser may keep them for a year: a changed file
gets a new address. No web fonts, no CDN: every file the pages load is served here.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_compress import Compress
from flask_wtf.csrf import CSRFProtect

from .. import logs
from ..errors import ConfigurationError
from ..store import Database
from . import (api, auth, chase, client_rules, definitions, edge, filters, form_entry, headers,
               health, inbox, menu, metrics, monitor, page_cache, problems, review, sheets, tasks)
from . import settings as settings_page

csrf = CSRFProtect()
compress = Compress()
YEAR_IN_SECONDS = 365 * 24 * 3600
MIN_SECRET_KEY = 32  # characters: secrets.token_hex(16) and up


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    logs.configure()  # AKSI_LOG_FORMAT=json: one JSON object per line
    app = Flask(__name__)
    app.config.from_mapping(DATABASE_URL=None, SECRET_KEY=None,
                            SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.config.from_prefixed_env("AKSI")  # AKSI_SECRET_KEY, AKSI_DATABASE_URL, ...
    if test_config:
        app.config.update(test_config)
    _check_secret_key(app)
    # from_prefixed_env parses values as JSON: a key of digits arrives as a number.
    key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = str(key) if key else secrets.token_hex(32)
    app.extensions["aksi.db"] = Database(app.config["DATABASE_URL"])
    edge.init_app(app)  # first: its checks run before the CSRF check and every view
    metrics.init_app(app)  # /metrics and request timing, with AKSI_METRICS=1 only
    csrf.init_app(app)
    compress.init_app(app)
    headers.init_app(app)
    problems.init_app(app)
    _fingerprint_static(app)
    page_cache.init_app(app)
    menu.init_app(app)  # the unread count and the overdue list's link, read before views
    auth.init_app(app)
    filters.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(review.bp)  # returning a stage or part with marked cells
    app.register_blueprint(form_entry.bp)
    app.register_blueprint(client_rules.bp)  # a form's rules for static/rules.js
    app.register_blueprint(inbox.bp)  # /kotak-masuk
    app.register_blueprint(settings_page.bp)  # /pengaturan/surel
    app.register_blueprint(monitor.bp)
    app.register_blueprint(definitions.bp)  # the calendar, diagrams and definitions
    chase.init_app(app)  # who to chase: the overdue list, Ingatkan, extensions, exports
    sheets.init_app(app)  # its upload checks CSRF after limiting the body's size
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # bearer tokens only: no cookie session to forge requests with
    return app


def _check_secret_key(app: Flask) -> None:
    """Outside testing: a ``SECRET_KEY`` of at least `MIN_SECRET_KEY` characters (the key
    itself is never shown)."""
    if app.testing:
        return
    key = app.config["SECRET_KEY"]
    advice = ("the same long random text for every web process, e.g. AKSI_SECRET_KEY=$(python3 "
              "-c 'import secrets; print(secrets.token_hex(32))')")
    if not key:
        # Without one, every process would sign its own sessions and CSRF tokens.
        raise ConfigurationError(f"set AKSI_SECRET_KEY ({advice})")
    if len(str(key)) < MIN_SECRET_KEY:
        raise ConfigurationError(f"AKSI_SECRET_KEY is too short (fewer than {MIN_SECRET_KEY} "
                                 f"characters): sessions signed with it can be forged; set "
                                 f"{advice}")


def _fingerprint_static(app: Flask) -> None:
    """``?v=`` + the first 12 hex digits of a static file's SHA-256 on every static URL;
    a request carrying the current one is cached for a year (``immutable``)."""
    digests: dict[str, tuple[float, str]] = {}

    def digest(filename: str) -> str | None:
        path = Path(app.static_folder or "", filename)
        try:
            mtime = path.stat().st_mtime
        except (OSError, ValueError):
            return None
        known = digests.get(filename)
        if known is None or known[0] != mtime:
            known = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
            digests[filename] = known
        return known[1]

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            found = digest(values["filename"])
            if found:
                values["v"] = found

    @app.after_request
    def cache_fingerprinted(response):
        if (request.endpoint == "static" and response.status_code == 200
                and request.args.get("v")
                and request.args["v"] == digest(request.view_args.get("filename", ""))):
            response.cache_control.public = True
            response.cache_control.max_age = YEAR_IN_SECONDS
            response.cache_control.immutable = True
        return response
