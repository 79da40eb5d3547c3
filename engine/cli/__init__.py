"""The ``aksi`` command. One module per command group; each registers itself on `main`
when it is imported, and it is imported only when its command runs (`COMMANDS`).

Start-up. A command pays only for what it imports: this module imports click and nothing
of the engine, so `aksi --help` lists the commands from `COMMANDS` without importing them,
and `aksi task show` imports the task commands and what they use, not the web app, the
simulator or the spreadsheets. Keep heavy imports out of this module (benchmarks/cli_start.py
measures it; tests/test_cli_start.py checks what `--help` imports).

Exit codes: 0 ok, 1 findings or refused, 2 usage error (click's own).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from .. import environment

if TYPE_CHECKING:
    from ..definitions import DefinitionSet
    from ..store import Database

# Command -> (the modules of engine/cli that define it, its one-line help for `aksi --help`).
# tests/test_cli_start.py checks each line against the command's own docstring.
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "audit": (("audit",), "Sign-ins, sign-outs, tokens and changes to users, newest first."),
    "calendar": (("calendar",), "Print every stage's opening and due date for YEAR."),
    "check": (("check",), "Validate workflow definitions (default: the workflows directory)."),
    "db": (("db",), "Database schema."),
    "definitions": (("definitions",), "Definition versions stored in the database."),
    "demo": (("demo",), "Build a province whose year is under way, to try the product with."),
    "diff": (("diff",),
             "Say what changed from the definitions in OLD_DIR to those in NEW_DIR."),
    "document": (("documents",),
                 ("Write the document of a stage: the form's sections, the verification trail "
                  "and the signature blocks.")),
    "email": (("email",),
              "E-mail of reminders, escalations, returns and nudges (SMTP: AKSI_SMTP_* variables)."),
    "form": (("forms", "form_files", "form_sheets"),
             "Form data of a stage: show, set, spreadsheets, attachments."),
    "graph": (("graph",), "Print LEVEL's stage dependency graph and stage lifecycle diagram."),
    "inbox": (("inbox",), "Reminders and escalations addressed to a user's roles."),
    "regions": (("regions",), "Kemendagri regions."),
    "serve": (("serve",), "Serve the web application (development server) and tick the clock."),
    "simulate": (("simulate",),
                 "Play YEAR of one provinsi with synthetic actors and report what happened."),
    "task": (("tasks",), "Stages of cases (tasks)."),
    "tick": (("clock",),
             "Run one tick: open stages whose day came, fire due reminders and escalations."),
    "users": (("users",), "Users and role assignments."),
    "webhooks": (("webhooks",),
                 "Webhook deliveries (subscriptions: $AKSI_WEBHOOKS or ./webhooks.yaml)."),
    "worker": (("clock",),
               "Tick periodically (and deliver webhooks) until stopped; run any number of them."),
    "year": (("year",), "Cycle years."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are run, not when it starts."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        for module in COMMANDS.get(name, ((),))[0]:
            importlib.import_module(f"{__name__}.{module}")
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(name, _shorten(COMMANDS[name][1], limit) if name in COMMANDS
                 else self.commands[name].get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(limit - 3, 1)].rstrip() + "..."


class Context:
    """What every command may need, resolved lazily from the global options."""

    def __init__(self, workflows: Path | None, db_url: str | None = None,
                 named_by: str | None = None):
        self._workflows = workflows
        self._named_by = named_by  # the option or variable that named the definitions
        self.db_url = db_url
        self._definitions: DefinitionSet | None = None
        self._db: Database | None = None

    @property
    def workflows(self) -> Path:
        if self._workflows is None:
            from ..definitions import default_directory

            self._workflows = default_directory()
        return self._workflows

    @property
    def origin(self) -> str:
        """Where the definitions come from, in words (`aksi check` says it)."""
        from ..definitions.loader import LOCAL

        if self._named_by:
            return f"dari {self._named_by}"
        if self.workflows == LOCAL:
            return "./workflows di direktori kerja"
        return f"bawaan aksi: tidak ada --workflows, {environment.WORKFLOWS}, maupun ./workflows"

    def database(self, *, migrated: bool = True) -> Database:
        """The store; exit 1 with advice when its schema is missing or old."""
        if self._db is None:
            from ..store import Database

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
            self._definitions = load_or_exit(self.workflows)
        return self._definitions


def load_or_exit(directory: Path) -> DefinitionSet:
    """The definitions in ``directory``, or exit 1 printing the checker's errors."""
    from ..definitions import DefinitionError, load

    try:
        return load(directory)
    except DefinitionError as exc:
        for finding in exc.findings:
            if finding.is_error:
                click.echo(str(finding), err=True)
        raise click.exceptions.Exit(1) from None


pass_context = click.make_pass_decorator(Context)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workflows", type=click.Path(file_okay=False, path_type=Path),
              envvar=environment.WORKFLOWS,
              help=f"Directory of workflow definitions (env {environment.WORKFLOWS}; "
                   "default ./workflows if there is one, else the definitions shipped with aksi).")
@click.option("--db", "db_url", envvar=environment.DATABASE_URL, metavar="URL",
              help=f"Database URL (env {environment.DATABASE_URL}; default sqlite:///aksi.db).")
@click.version_option(package_name="aksi")
@click.pass_context
def main(ctx: click.Context, workflows: Path | None, db_url: str | None) -> None:
    """aksi: the Aksi Konvergensi workflow engine."""
    source = ctx.get_parameter_source("workflows")
    named_by = {ParameterSource.COMMANDLINE: "--workflows",
                ParameterSource.ENVIRONMENT: environment.WORKFLOWS}.get(source)
    ctx.obj = Context(workflows, db_url, named_by if workflows else None)


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


__all__ = ["Context", "fail", "load_or_exit", "main", "pass_context"]
