"""``aksi db``: the store's schema (Alembic migrations)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..store.migrate import current, head
from . import Context, fail, main, pass_context


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_context
def upgrade_command(ctx: Context, revision: str) -> None:
    """Create or migrate the schema (default: to the newest revision)."""
    db = ctx.database(migrated=False)
    db.upgrade(revision)
    click.echo(f"{db.url}: skema versi {current(db)}")


@db_group.command("status")
@pass_context
def status_command(ctx: Context) -> None:
    """Show the schema revision in use and the newest one."""
    db = ctx.database(migrated=False)
    click.echo(f"{db.url}: versi {current(db) or '-'} (terbaru {head()})")


@db_group.command("recount")
@pass_context
def recount_command(ctx: Context) -> None:
    """Rebuild the dashboards' progress counters from the tasks (a repair: run it if a
    counter was ever changed by hand or a restore mixed tables of different moments)."""
    from ..runtime.counters import recount

    with ctx.database().session() as session:
        rows = recount(session)
    click.echo(f"penghitung kemajuan dihitung ulang: {rows:,} baris".replace(",", "."))


def _blob_path(files: Path | None):
    from ..forms.files import blob_path, files_directory

    root = files_directory(files)
    return lambda sha: blob_path(root, sha)


FILES_OPTION = click.option(
    "--files", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Attachments directory (default $AKSI_FILES, else ./aksi-files).")


def _print(report, as_json: bool, verb: str) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    rows = sum(report.tables.values())
    click.echo(f"{verb}: basis data {report.backend} skema {report.schema or '-'} "
               f"({len(report.tables)} tabel, {rows:,} baris), {report.blobs:,} berkas "
               f"lampiran ({report.blob_bytes:,} bita); dibuat {report.created_at}"
               .replace(",", "."))
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)


@db_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@FILES_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def backup_command(ctx: Context, file: Path, files: Path | None, as_json: bool) -> None:
    """Back up the database and every attachment it names into FILE (a .tar.gz), while
    the service runs (SQLite: the online backup API; PostgreSQL: pg_dump)."""
    from ..errors import AksiError
    from ..store.backup import backup

    try:
        report = backup(ctx.database(migrated=False), file, blob_path=_blob_path(files))
    except AksiError as exc:
        fail(exc, as_json)
    _print(report, as_json, f"cadangan ditulis ke {file}")


@db_group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@FILES_OPTION
@click.option("--replace", is_flag=True,
              help="Overwrite a database that already holds tables (default: refuse).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def restore_command(ctx: Context, file: Path, files: Path | None, replace: bool,
                    as_json: bool) -> None:
    """Restore a backup made by `aksi db backup` into the database and the attachments
    directory, then check every table's rows and every attachment's bytes against it.
    Stop the web processes and workers first."""
    from ..errors import AksiError
    from ..store.backup import restore
    from ..store.migrate import revisions

    try:
        report = restore(ctx.database(migrated=False), file, blob_path=_blob_path(files),
                         known_revisions=revisions(), replace=replace)
    except AksiError as exc:
        fail(exc, as_json)
    _print(report, as_json, f"dipulihkan dari {file}")
    if report.problems:
        click.echo("Pemeriksaan setelah pemulihan menemukan masalah di atas.", err=True)
        raise click.exceptions.Exit(1)
