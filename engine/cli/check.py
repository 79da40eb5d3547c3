"""``aksi check``: tell policy owners what is wrong with their YAML, all of it at once."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..definitions import check as run_check
from . import Context, main, pass_context


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@pass_context
def check_command(ctx: Context, paths: tuple[Path, ...], as_json: bool, strict: bool) -> None:
    """Validate workflow definitions (default: the workflows directory)."""
    findings = run_check(list(paths) or [ctx.workflows])
    errors = sum(f.is_error for f in findings)
    warnings = len(findings) - errors
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            click.echo(str(finding))
        click.echo(f"{errors} galat, {warnings} peringatan", err=bool(findings))
    if errors or (strict and warnings):
        raise click.exceptions.Exit(1)
