"""``aksi diff``: what changed between two definition sets, in a policy owner's words."""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

import click

from ..definitions.diff import diff
from . import load_or_exit, main

DIRECTORY = click.Path(exists=True, file_okay=False, path_type=Path)


@main.command("diff")
@click.argument("old_dir", type=DIRECTORY)
@click.argument("new_dir", type=DIRECTORY)
@click.option("--json", "as_json", is_flag=True,
              help="Print the changes as a JSON list (level, stage, kind, old, new, text).")
def diff_command(old_dir: Path, new_dir: Path, as_json: bool) -> None:
    """Say what changed from the definitions in OLD_DIR to those in NEW_DIR.

    Stages, dates, roles, reminders, escalations, scoring and forms, named as the YAML
    names them. Both directories must pass `aksi check` (exit 1 with its errors otherwise).
    """
    old, new = load_or_exit(old_dir), load_or_exit(new_dir)
    changes = diff(old, new)
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in changes], ensure_ascii=False, indent=2))
        return
    titles = {d.level: d.title for d in old} | {d.level: d.title for d in new}
    for level, items in groupby(changes, key=lambda c: c.level):
        click.echo(f"{level} ({titles[level]}):")
        for change in items:
            click.echo(f"  - {change.text}")
    click.echo(f"{len(changes)} perubahan" if changes else "tidak ada perubahan")
