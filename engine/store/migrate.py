"""Alembic, driven from code: ``aksi db upgrade`` needs no alembic.ini."""

from __future__ import annotations

import ast
import contextlib
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

    from .database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def config(db: "Database") -> "Config":
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: "Database", revision: str = "head") -> None:
    from alembic import command

    command.upgrade(config(db), revision)


def current(db: "Database") -> str | None:
    """The schema revision the store is at (None: not created). Read with one query, not
    through Alembic: every command asks before it runs (tests/runtime/test_store.py checks
    it against Alembic's own answer)."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@functools.cache
def _graph() -> dict[str, tuple[str, ...]]:
    """Revision -> the revisions it follows, read from the scripts' own ``revision`` and
    ``down_revision`` assignments (parsed, not imported: loading Alembic and every script
    costs a command's start-up more than its work)."""
    graph = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        values = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                with contextlib.suppress(ValueError):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
        down = values.get("down_revision")
        graph[values["revision"]] = (() if down is None else (down,) if isinstance(down, str)
                                     else tuple(down))
    return graph


def head() -> str | None:
    """The newest revision this code knows (the one no other revision follows)."""
    graph = _graph()
    followed = {down for downs in graph.values() for down in downs}
    heads = [r for r in graph if r not in followed]
    if len(heads) > 1:
        raise RuntimeError(f"migrations have {len(heads)} heads: {', '.join(sorted(heads))}")
    return heads[0] if heads else None


def revisions() -> set[str]:
    """Every schema revision this code knows (a backup of any of them can be restored)."""
    return set(_graph())
