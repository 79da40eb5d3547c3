"""Alembic, driven from code: ``aksi db upgrade`` needs no alembic.ini."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from .database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def config(db: "Database") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: "Database", revision: str = "head") -> None:
    command.upgrade(config(db), revision)


def current(db: "Database") -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@functools.cache
def head() -> str | None:
    """The newest revision this code knows. Read once per process: it loads and compiles
    every migration script (~12 ms for ten), and ``/healthz`` asks on every call."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def revisions() -> set[str]:
    """Every schema revision this code knows (a backup of any of them can be restored)."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return {r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()}
