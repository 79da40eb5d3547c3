"""The user's own settings: the e-mail address reminders, escalations, returns and
nudges go to, and how (every message, a daily digest, or none). The same rules as
``aksi users email`` (people/users.py `set_email`); audited as done by the user."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice

from ..errors import Refused
from ..people import EMAIL_PREFERENCES, set_email
from ..store.models import User
from .auth import require_sign_in
from .store import database

bp = Blueprint("settings", __name__)
require_sign_in(bp)


class EmailForm(FlaskForm):
    email = StringField("Alamat surel")
    pref = RadioField("Kirimi saya surel", choices=[SelectChoice(k, v) for k, v in EMAIL_PREFERENCES.items()],
                      default="each")


@bp.route("/pengaturan/surel", methods=["GET", "POST"])
def email():
    form = EmailForm()
    if form.validate_on_submit():
        address = (form.email.data or "").strip()
        try:
            with database().session() as session:
                set_email(session, current_user.username, email=address or None,
                          clear=not address, pref=form.pref.data,
                          actor=current_user.username)
        except Refused as exc:
            flash(exc.message, "error")
            return render_template("settings/email.html", form=form), 400
        flash("Pengaturan surel disimpan.", "success")
        return redirect(url_for("settings.email"))
    if not form.is_submitted():
        with database().session() as session:
            row = session.execute(select(User.email, User.email_pref)
                                  .where(User.username == current_user.username)).one()
        form.email.data, form.pref.data = row.email or "", row.email_pref
    return render_template("settings/email.html", form=form), 400 if form.errors else 200
