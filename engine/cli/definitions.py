"""``aksi definitions list``: every definition version stored and the years running it."""

from __future__ import annotations

import json

import click

from ..definitions import inspect
from ..store.library import StoredVersion, stored_versions
from . import Context, main, pass_context


@main.group("definitions")
def definitions_group() -> None:
    """Definition versions stored in the database."""


@definitions_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def list_command(ctx: Context, as_json: bool) -> None:
    """Every definition version cases were started with: its level, version, content hash,
    when it was stored, the years and number of cases running it, and whether it is what
    the workflows directory holds now."""
    with ctx.database().session() as session:
        versions = stored_versions(session)
    on_disk = _on_disk(ctx)
    if as_json:
        click.echo(json.dumps([v.as_dict() | {"on_disk": v.content_hash in on_disk}
                               for v in versions], ensure_ascii=False, indent=2))
        return
    if not versions:
        click.echo("belum ada definisi tersimpan (belum ada tahun yang dimulai)")
        return
    rows = [(v.level, v.version, v.content_hash[:12], v.stored_at.date().isoformat(),
             _years(v), "= berkas" if v.content_hash in on_disk else "")
            for v in versions]
    head = ("tingkat", "versi", "hash", "disimpan", "tahun (kasus)", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _years(version: StoredVersion) -> str:
    return ", ".join(f"{year} ({n})" for year, n in version.cases.items()) or "-"


def _on_disk(ctx: Context) -> set[str]:
    """Content hashes of the definitions in the workflows directory (none if it has errors)."""
    _, definitions = inspect(ctx.workflows)
    return {d.content_hash for d in definitions} if definitions is not None else set()
