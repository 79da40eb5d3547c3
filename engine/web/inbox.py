"""The inbox: reminders and escalations addressed to the user's roles, newest first, a
page at a time, each with its stage's state now; marking read (one item or all on
screen), for this user only; and the unread count the navigation shows on every page
(one indexed query per request of a signed-in user, before the view runs)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..runtime.inbox import inbox_for
from ..runtime.reads import mark_read
from .auth import require_sign_in
from .store import database

bp = Blueprint("inbox", __name__)
PAGE = 50
MAX_ID = 2 ** 53

require_sign_in(bp)


def _item_id(value: str | None) -> int | None:
    """An item id from a query or form field; None when absent, 400 when malformed."""
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < MAX_ID:
        abort(400)
    return int(value)


def _days_after(item: dict) -> int:
    """Whole days from the deadline to the moment the item arrived."""
    return max(0, (dt.datetime.fromisoformat(item["at"])
                   - dt.datetime.fromisoformat(item["due_at"])).days)


@bp.get("/kotak-masuk")
def index():
    before = _item_id(request.args.get("sebelum"))
    with database().read() as session:
        items = inbox_for(session, current_user.actor, limit=PAGE + 1, before=before)
    more = len(items) > PAGE
    items = items[:PAGE]
    for item in items:
        item["days_after"] = _days_after(item)
    return render_template("inbox/index.html", items=items, before=before,
                           older=items[-1]["id"] if more else None)


@bp.post("/kotak-masuk/dibaca")
def mark():
    """Mark read one item (``item``) or every item up to ``sampai`` (the newest on screen)."""
    one, up_to = _item_id(request.form.get("item")), _item_id(request.form.get("sampai"))
    if (one is None) == (up_to is None):
        abort(400)
    with database().session() as session:
        marked = mark_read(session, current_user.actor,
                           ids=[one] if one is not None else None, up_to=up_to)
    if up_to is not None:
        flash(f"{marked} pesan ditandai sudah dibaca." if marked
              else "Tidak ada pesan baru untuk ditandai.", "success")
    back = _item_id(request.form.get("sebelum"))
    return redirect(url_for("inbox.index", sebelum=back) + (f"#pesan-{one}" if one else ""))

