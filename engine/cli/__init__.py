"""The ``aksi`` command. One module per command group; each registers itself here.

Exit codes: 0 ok, 1 findings or refused, 2 usage error (click's own).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..definitions import DefinitionError, DefinitionSet, default_directory, load
from ..definitions.loader import ENV_VAR
from ..store import Database
from ..store import ENV_VAR as DB_ENV_VAR


class Context:
    """What every command may need, resolved lazily from the global options."""

    def __init__(self, workflows: Path | None, db_url: str | None = None):
        self.workflows = workflows or default_directory()
        self.db_url = db_url
        self._definitions: DefinitionSet | None = None
        self._db: Database | None = None

    def database(self, *, migrated: bool = True) -> Database:
        """The store; exit 1 with advice when its schema is missing or old."""
        if self._db is None:
            self._db = Database(self.db_url)
        if migrated:
            from ..store.migrate import current, head

            if current(self._db) != head():
                raise click.ClickException(
                    f"basis data {self._db.url} belum disiapkan atau versinya lama: "
                    "jalankan `aksi db upgrade`")
        return self._db

    def definitions(self) -> DefinitionSet:
        """The loaded definitions, or exit 1 with the checker's errors."""
        if self._definitions is None:
            try:
                self._definitions = load(self.workflows)
            except DefinitionError as exc:
                for finding in exc.findings:
                    if finding.is_error:
                        click.echo(str(finding), err=True)
                raise click.exceptions.Exit(1) from None
        return self._definitions


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workflows", type=click.Path(file_okay=False, path_type=Path), envvar=ENV_VAR,
              help=f"Directory of workflow definitions (env {ENV_VAR}; default ./workflows).")
@click.option("--db", "db_url", envvar=DB_ENV_VAR, metavar="URL",
              help=f"Database URL (env {DB_ENV_VAR}; default sqlite:///aksi.db).")
@click.version_option(package_name="aksi")
@click.pass_context
def main(ctx: click.Context, workflows: Path | None, db_url: str | None) -> None:
    """aksi: the Aksi Konvergensi workflow engine."""
    ctx.obj = Context(workflows, db_url)


def level_choice(ctx_obj: Context, level: str) -> str:
    known = list(ctx_obj.definitions().definitions)
    if level not in known:
        raise click.BadParameter(f"unknown level {level!r}; known: {', '.join(known)}",
                                 param_hint="LEVEL")
    return level


def fail(exc: Exception, as_json: bool = False) -> None:
    """Report a refused action and exit 1 (the engine's messages are for people)."""
    from ..errors import AksiError

    if as_json and isinstance(exc, AksiError):
        click.echo(json.dumps(exc.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(f"Ditolak: {exc}", err=True)
        for problem in getattr(exc, "problems", []) or []:
            click.echo(f"  - {problem}", err=True)
    raise click.exceptions.Exit(1)


# Commands register themselves on `main`.
from . import (  # noqa: E402
    audit, calendar, check, clock, db, demo, documents, forms, graph, inbox, regions, serve,
    simulate, tasks, users, webhooks, year,
)

__all__ = ["Context", "fail", "main", "pass_context"]
