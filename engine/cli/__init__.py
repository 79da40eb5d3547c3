"""The ``aksi`` command. One module per command group; each registers itself here.

Exit codes: 0 ok, 1 findings or refused, 2 usage error (click's own).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..definitions import DefinitionError, DefinitionSet, default_directory, load
from ..definitions.loader import ENV_VAR


class Context:
    """What every command may need, resolved lazily from the global options."""

    def __init__(self, workflows: Path | None):
        self.workflows = workflows or default_directory()
        self._definitions: DefinitionSet | None = None

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
@click.version_option(package_name="aksi")
@click.pass_context
def main(ctx: click.Context, workflows: Path | None) -> None:
    """aksi: the Aksi Konvergensi workflow engine."""
    ctx.obj = Context(workflows)


def level_choice(ctx_obj: Context, level: str) -> str:
    known = list(ctx_obj.definitions().definitions)
    if level not in known:
        raise click.BadParameter(f"unknown level {level!r}; known: {', '.join(known)}",
                                 param_hint="LEVEL")
    return level


from . import calendar, check, graph  # noqa: E402  (commands register on `main`)

__all__ = ["main", "Context", "pass_context", "calendar", "check", "graph"]
