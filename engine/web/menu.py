"""The navigation's per-person parts: the inbox's unread count and whether the overdue
list ("Siapa dikejar") is offered.

Both are read in one short transaction before a page's view runs: a page renders inside
the view's own transaction, and on SQLite a second one opened from the template would
wait for that one's lock. Answers without a menu (the API, the health check, static
files) read nothing, and do not load the user either.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_login import current_user

from ..runtime.overdue import may_chase
from ..runtime.reads import UNREAD_CAP, unread_count
from .store import database

SKIP = {"api", "health"}  # blueprints whose answers have no menu


def _read_menu() -> None:
    if (request.endpoint in (None, "static") or request.blueprint in SKIP
            or not current_user.is_authenticated):
        return
    actor = current_user.actor
    with database().read() as session:
        count = unread_count(session, actor)
        g.aksi_may_chase = may_chase(session, actor)
    g.inbox_unread = "" if not count else (f"{UNREAD_CAP - 1}+" if count >= UNREAD_CAP
                                           else str(count))


def inbox_unread() -> str:
    """The unread count as the menu shows it: "" when none, "99+" beyond the cap."""
    return g.get("inbox_unread", "")


def may_chase_here() -> bool:
    """May the signed-in user open the overdue list?"""
    return bool(g.get("aksi_may_chase")) and current_user.is_authenticated


def init_app(app: Flask) -> None:
    app.before_request(_read_menu)
    app.add_template_global(inbox_unread, "inbox_unread")
    app.add_template_global(may_chase_here, "boleh_kejar")
