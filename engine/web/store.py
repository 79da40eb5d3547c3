"""The app's store: one `Database` per app, a session per unit of work."""

from __future__ import annotations

from flask import current_app

from ..store import Database


def database() -> Database:
    return current_app.extensions["aksi.db"]
