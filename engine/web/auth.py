"""Signing in and out. A signed-in user is read again on every request (``actor``):
a role withdrawn or a user deactivated takes effect at once.

Sessions are kept in the database (people/sessions.py): the cookie's Flask-Login user id
is only the session's random secret, which `load_user` resolves on every request. Signing
out, a password set and a deactivation delete the row, so the same cookie identifies
nobody afterwards; so do an idle session (``AKSI_SESSION_IDLE_MINUTES``, default 120) and
an old one (``AKSI_SESSION_MAX_HOURS``, default 12). The rest of Flask's signed cookie
(the CSRF token, flashed messages, the input kept below) is no credential.

Sign-ins are throttled per client address and per username at an address, refused with
429 and ``Retry-After`` before any password is hashed (people/throttle.py; limits from
``AKSI_SIGN_IN_LIMIT_PER_ACCOUNT``, ``AKSI_SIGN_IN_LIMIT_PER_ADDRESS``,
``AKSI_SIGN_IN_WINDOW_MINUTES``). The client address is ``request.remote_addr``; behind
reverse proxies set ``AKSI_TRUSTED_PROXIES`` to how many of them append to
``X-Forwarded-For`` (werkzeug's ProxyFix then takes the address they saw). Left at 0, the
header is ignored: anyone could write it.

A session that ended while a page was open must not lose the click: a POST without a
signed-in user (or with a CSRF token its ended session no longer knows) sends the person
to sign in with ``next`` = the GET page the form was on (the stage page; never the
POST-only address, which would answer 405), and keeps what they typed in the session
(`keep_input`: in the session cookie when it fits, else the browser's copy is used).
After signing in, that page gets the input back (`unsaved_input`, used by base.html with
static/restore.js, which fills the fields of the same names).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from ..clock import utcnow
from ..errors import ConfigurationError, NotFound, Refused
from ..people import (Actor, Limits, SessionPolicy, actor, end_session, live_session, sign_in,
                      touch_session)
from .store import database

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Silakan masuk terlebih dahulu."
login_manager.login_message_category = "info"
UNSAVED = "aksi_unsaved"  # session key of the input kept across a sign-in
MAX_KEPT = 2500  # bytes of JSON in the session, a cookie (browsers keep 4 KB of one)
NOT_KEPT = {"csrf_token", "version"}  # the page gives fresh ones


@dataclass(frozen=True)
class Settings:
    """The app's session and throttling settings, read once from its config."""

    sessions: SessionPolicy
    limits: Limits
    trusted_proxies: int


# config key (after the AKSI_ prefix): (default, what it is, in the error message)
SETTINGS = {
    "SESSION_IDLE_MINUTES": (120, "minutes a session may stay idle"),
    "SESSION_MAX_HOURS": (12, "hours a session lasts at most"),
    "SIGN_IN_LIMIT_PER_ACCOUNT": (10, "refused sign-ins of one username from one address"),
    "SIGN_IN_LIMIT_PER_ADDRESS": (100, "refused sign-ins from one address"),
    "SIGN_IN_WINDOW_MINUTES": (15, "minutes the sign-in limits count over"),
    "TRUSTED_PROXIES": (0, "reverse proxies in front of the app"),
}


def _setting(app: Flask, key: str) -> int:
    default, meaning = SETTINGS[key]
    value = app.config.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or (number == 0 and key != "TRUSTED_PROXIES") or isinstance(value, bool):
        raise ConfigurationError(f"AKSI_{key}={value!r}: {meaning}, a whole number "
                           f"{'>= 0' if key == 'TRUSTED_PROXIES' else '> 0'} "
                           f"(default {default})")
    return number


def _settings(app: Flask) -> Settings:
    get = {key: _setting(app, key) for key in SETTINGS}
    return Settings(
        sessions=SessionPolicy(idle=dt.timedelta(minutes=get["SESSION_IDLE_MINUTES"]),
                               lifetime=dt.timedelta(hours=get["SESSION_MAX_HOURS"])),
        limits=Limits(per_account=get["SIGN_IN_LIMIT_PER_ACCOUNT"],
                      per_address=get["SIGN_IN_LIMIT_PER_ADDRESS"],
                      window=dt.timedelta(minutes=get["SIGN_IN_WINDOW_MINUTES"])),
        trusted_proxies=get["TRUSTED_PROXIES"])


def settings() -> Settings:
    return current_app.extensions["aksi.auth"]


class Person(UserMixin):
    """The signed-in user as the engine sees them (username, active, role grants), and
    the secret of their session (Flask-Login's user id, all the cookie holds of them)."""

    def __init__(self, found: Actor, secret: str):
        self.actor = found
        self.username = found.username
        self.assignments = found.assignments
        self.active = found.active
        self.secret = secret

    def get_id(self) -> str:
        return self.secret

    @property
    def is_active(self) -> bool:
        return self.active


@login_manager.user_loader
def load_user(secret: str) -> Person | None:
    """Read only (it must not wait for a writer on SQLite); the session's once-a-minute
    touch is a write transaction of its own."""
    now = utcnow()
    with database().read() as session:
        live = live_session(session, secret, settings().sessions, now)
        if live is None:
            return None
        username, due = live
        try:
            found = actor(session, username)
        except NotFound:
            return None
    if due:
        with database().session() as session:
            touch_session(session, secret, now)
    return Person(found, secret) if found.active else None


class LoginForm(FlaskForm):
    username = StringField("Nama pengguna", validators=[DataRequired("Isi nama pengguna.")])
    password = PasswordField("Kata sandi", validators=[DataRequired("Isi kata sandi.")])


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never send a user elsewhere after signing in. Browsers
    drop tabs and newlines and read a backslash as a slash, so none of those pass."""
    if (target and target.startswith("/") and target.isprintable() and "\\" not in target
            and not target.startswith("//")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return _page_to_get(target, parts.path)
    return url_for("tasks.index")


def _page_to_get(target: str, path: str) -> str:
    """``target``, unless it only takes POSTs (an old link, a ``next`` from an ended
    session): then the stage page it belongs to, or the task list. A GET there would
    only answer 405."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(path, method="GET")
        return target
    except MethodNotAllowed:
        try:
            _endpoint, args = adapter.match(path, method="POST")
        except HTTPException:
            return url_for("tasks.index")
        if {"year", "region", "stage"} <= args.keys():
            return url_for("tasks.detail", year=args["year"], region=args["region"],
                           stage=args["stage"])
        return url_for("tasks.index")
    except HTTPException:  # not found, or a redirect of the router's: the page will say
        return target


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tasks.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            secret = sign_in(database(), form.username.data.strip(), form.password.data,
                             address=request.remote_addr or "", limits=settings().limits,
                             policy=settings().sessions)
        except Refused as exc:
            flash(exc.message, "error")
            return (render_template("login.html", form=form), 429,
                    {"Retry-After": str(exc.context["retry_after"])})
        person = load_user(secret) if secret else None
        if person is None:
            flash("Nama pengguna atau kata sandi salah, atau akun tidak aktif.", "error")
            return render_template("login.html", form=form), 401
        login_user(person)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form)


@bp.post("/keluar")
@login_required
def logout():
    with database().session() as db_session:
        end_session(db_session, current_user.get_id(), address=request.remote_addr,
                    now=utcnow())
    logout_user()
    session.pop(UNSAVED, None)
    flash("Anda telah keluar.", "info")
    return redirect(url_for("auth.login"))


def require_sign_in(blueprint: Blueprint) -> None:
    """Every page of ``blueprint`` needs a signed-in user (else: to the sign-in page)."""
    blueprint.before_request(login_required(lambda: None))


def _page_of_post() -> str:
    """The GET page a POST came from: the stage page for anything posted to a stage,
    else the referring page on this site, else the task list."""
    args = request.view_args or {}
    if {"year", "region", "stage"} <= args.keys():  # acting, saving, returning, importing
        return url_for("tasks.detail", year=args["year"], region=args["region"],
                       stage=args["stage"])
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return _safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    return url_for("tasks.index")


def keep_input(page: str) -> None:
    """Keep the posted fields (not files, tokens or versions) for ``page``. In the session
    cookie when they fit; else the browser's own copy is used (restore.js keeps what each
    form posts in the tab's sessionStorage until the next page has loaded): the session
    then only says that the post to ``request.path`` is to be given back."""
    fields: dict[str, Any] = {}
    for name, values in request.form.lists():
        if name in NOT_KEPT:
            continue
        fields[name] = values[0] if len(values) == 1 else values
    kept = {"page": page, "action": request.path, "fields": fields}
    if len(json.dumps(kept, ensure_ascii=False).encode()) > MAX_KEPT:
        kept = {"page": page, "action": request.path, "fields": {}}
    session[UNSAVED] = kept


def _from_this_site() -> bool:
    """Was the POST sent by a page of this site? Browsers name the sending page's origin
    on every POST (``Origin``; older ones the ``Referer``)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.host
    return urlsplit(request.referrer or "").netloc == request.host


def expired_post():
    """The answer to a POST whose session has ended: to sign in, then back to the page
    the form was on, the input kept. None when the request is not such a POST.

    Only a POST sent from this site's own pages is kept: a form on another site could
    otherwise post text that the signed-out person would find typed into their form after
    signing in."""
    if (request.method != "POST" or current_user.is_authenticated
            or request.blueprint in ("auth", "api")):
        return None
    page = _page_of_post()
    if not _from_this_site():
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(url_for("auth.login", next=page))
    keep_input(page)
    files = any(f.filename for f in request.files.values())
    flash("Sesi Anda telah berakhir, jadi kiriman tadi belum diproses dan tidak ada yang "
          "diubah. Silakan masuk lagi: Anda akan kembali ke halaman tadi dengan isian yang "
          "sudah Anda ketik, lalu kirim ulang."
          + (" Berkas yang Anda pilih perlu dipilih ulang." if files else ""), "info")
    return redirect(url_for("auth.login", next=page))


@login_manager.unauthorized_handler
def unauthorized():
    kept = expired_post()
    if kept is not None:
        return kept
    flash(login_manager.login_message, login_manager.login_message_category)
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def unsaved_input() -> dict | None:
    """The input kept for this page across a sign-in (``{"action", "fields"}``, the
    fields empty when the browser's copy is to be used), once; ``{"waiting": True}`` on
    other pages while some is kept (the browser keeps its copy till then); else None."""
    kept = session.get(UNSAVED)
    if not kept:
        return None
    if (not current_user.is_authenticated or request.method != "GET"
            or kept.get("page") != request.full_path.rstrip("?")):
        return {"waiting": True}
    session.pop(UNSAVED, None)
    return {"action": kept.get("action"), "fields": kept.get("fields", {})}


def init_app(app: Flask) -> None:
    app.extensions["aksi.auth"] = found = _settings(app)
    if found.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=found.trusted_proxies)  # type: ignore[method-assign]
    login_manager.init_app(app)
    app.add_template_global(unsaved_input, "unsaved_input")
