"""Signing in and out. A signed-in user is read again on every request (``actor``):
a role withdrawn or a user deactivated takes effect at once."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
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
            return target
    return url_for("tasks.index")


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
    flash("Anda telah keluar.", "info")
    return redirect(url_for("auth.login"))


def require_sign_in(blueprint: Blueprint) -> None:
    """Every page of ``blueprint`` needs a signed-in user (else: to the sign-in page)."""
    blueprint.before_request(login_required(lambda: None))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
