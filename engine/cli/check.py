"""``aksi check``: tell policy owners what is wrong with their YAML, all of it at once."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..definitions import Finding, definition_files, source
from ..definitions import check as run_check
from ..store.library import StoredVersion, stored_versions
from ..store import DEFAULT_URL
from . import Context, main, pass_context


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@pass_context
def check_command(ctx: Context, paths: tuple[Path, ...], as_json: bool, strict: bool) -> None:
    """Validate workflow definitions (default: the workflows directory)."""
    if not paths:  # on stderr: stdout holds only the findings (and --json only JSON)
        click.echo(f"Definisi: {ctx.workflows.resolve()} ({ctx.origin})", err=True)
    findings = run_check(list(paths) or [ctx.workflows])
    if not any(f.is_error for f in findings) and not paths:
        findings = sorted(findings + _drift(ctx))
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


def _drift(ctx: Context) -> list[Finding]:
    """Warn where the files differ from what running cases were started with.

    Only when a database is named (--db, AKSI_DATABASE_URL) or the default one exists.
    """
    if ctx.db_url is None and not Path(DEFAULT_URL.split("///", 1)[1]).exists():
        return []
    try:
        db = ctx.database()
    except click.ClickException:
        return []  # no schema yet: nothing is running
    with db.session() as session:
        stored = [v for v in stored_versions(session) if v.cases]
    found = []
    for definition in ctx.definitions():
        other = [v for v in stored
                 if v.level == definition.level and v.content_hash != definition.content_hash]
        if not other:
            continue
        path = next(p for p in definition_files([ctx.workflows]) if _level_of(p) == definition.level)
        doc, _ = source.read(path)
        years = sorted({y for v in other for y in v.cases})
        found.append(doc.warning(("level",), "definition-changed",
                                 f"berkas ini berbeda dari definisi yang dipakai kasus berjalan "
                                 f"{_running(other)}; perubahan hanya berlaku untuk tahun yang "
                                 "dimulai sesudah ini, atau untuk kasus berjalan sesudah "
                                 f"'aksi year migrate {years[-1]}' (lihat `aksi definitions list`)"))
    return found


def _running(versions: list[StoredVersion]) -> str:
    """"tahun 2026 (47 kasus, versi 2025.1, 1a2b3c4d5e6f), tahun 2027 (...)", by year."""
    per_year = sorted(((year, n, v) for v in versions for year, n in v.cases.items()),
                      key=lambda item: (item[0], item[2].content_hash))
    return ", ".join(f"tahun {year} ({n} kasus, versi {v.version}, {v.content_hash[:12]})"
                     for year, n, v in per_year)


def _level_of(path: Path) -> str | None:
    doc, _ = source.read(path)
    return doc.data.get("level") if doc is not None and isinstance(doc.data, dict) else None
