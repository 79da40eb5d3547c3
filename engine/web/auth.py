"""Signing in and out. A signed-in user is read again on every request (``actor``):
a role withdrawn or a user deactivated takes effect at once.

A session that ended while a page was open must not lose the click: a POST without a
signed-in user (or with a CSRF token its ended session no longer knows) sends the person
to sign in with ``next`` = the GET page the form was on (the stage page; never the
POST-only address, which would answer 405), and keeps what they typed in the session
(`keep_input`: in the session cookie when it fits, else the browser's copy is used).
After signing in, that page gets the input back (`unsaved_input`, used by base.html with
static/restore.js, which fills the fields of the same names).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from ..errors import NotFound, Refused
from ..people import Actor, actor, password_fingerprint, sign_in
from .store import database

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Silakan masuk terlebih dahulu."
login_manager.login_message_category = "info"
UNSAVED = "aksi_unsaved"  # session key of the input kept across a sign-in
MAX_KEPT = 2500  # bytes of JSON in the session, a cookie (browsers keep 4 KB of one)
NOT_KEPT = {"csrf_token", "version"}  # the page gives fresh ones


class Person(UserMixin):
    """The signed-in user as the engine sees them (username, active, role grants).

    The session keeps the username and a fingerprint of the password hash: a password
    changed (or removed) since signing in ends the session."""

    def __init__(self, found: Actor, fingerprint: str):
        self.actor = found
        self.username = found.username
        self.assignments = found.assignments
        self.active = found.active
        self.fingerprint = fingerprint

    def get_id(self) -> str:
        return f"{self.fingerprint}:{self.username}"

    @property
    def is_active(self) -> bool:
        return self.active


def _person(session, username: str) -> Person | None:
    fingerprint = password_fingerprint(session, username)
    if fingerprint is None:
        return None
    found = actor(session, username)
    return Person(found, fingerprint) if found.active else None


@login_manager.user_loader
def load_user(session_id: str) -> Person | None:
    fingerprint, _, username = session_id.partition(":")
    with database().session() as session:
        try:
            person = _person(session, username)
        except NotFound:
            return None
    return person if person is not None and person.fingerprint == fingerprint else None


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
            with database().session() as session:
                user = sign_in(session, form.username.data.strip(), form.password.data)
                person = _person(session, user.username) if user else None
        except Refused as exc:
            flash(exc.message, "error")
            return render_template("login.html", form=form), 429
        if person is None:
            flash("Nama pengguna atau kata sandi salah, atau akun tidak aktif.", "error")
            return render_template("login.html", form=form), 401
        login_user(person)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form)


@bp.post("/keluar")
@login_required
def logout():
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
    login_manager.init_app(app)
    app.add_template_global(unsaved_input, "unsaved_input")
