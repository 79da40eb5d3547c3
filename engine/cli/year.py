"""``aksi year``: start a cycle year - one case per region and level."""

from __future__ import annotations

import json
import sys

import click

from ..runtime import start_year
from . import Context, fail, main, pass_context


@main.group("year")
def year_group() -> None:
    """Cycle years."""


@year_group.command("start")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--province", metavar="CODE", help="Only regions in this provinsi.")
@click.option("--level", "levels", multiple=True, help="Only this level (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def start_command(ctx: Context, year: int, province: str | None, levels: tuple[str, ...],
                  as_json: bool) -> None:
    """Create YEAR's cases and stages (idempotent)."""
    definitions = ctx.definitions()
    for level in levels:
        if level not in definitions.definitions:
            raise click.BadParameter(f"unknown level {level!r}", param_hint="--level")
    db = ctx.database()
    bar = None
    if sys.stderr.isatty() and not as_json:
        from tqdm import tqdm

        bar = tqdm(desc=f"tahun {year}", unit=" kasus", file=sys.stderr)
    try:
        with db.session() as session:
            report = start_year(session, definitions, year, province=province,
                                levels=levels or None, progress=bar.update if bar else None)
    finally:
        if bar:
            bar.close()
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    for level, n in report.cases.items():
        click.echo(f"{level}: {n} kasus baru, {report.skipped.get(level, 0)} sudah ada")
    click.echo(f"{report.tasks} tahap dibuat, {report.opened} langsung dibuka")


@year_group.command("migrate")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--level", help="Only this level.")
@click.option("--region", metavar="CODE", help="Only cases of this region and those below it.")
@click.option("--dry-run", is_flag=True, help="Show the plan, change nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def migrate_command(ctx: Context, year: int, level: str | None, region: str | None,
                    dry_run: bool, as_json: bool) -> None:
    """Move YEAR's running cases to the definitions on disk: the plan, then each case."""
    from ..errors import AksiError
    from ..runtime.migration import migrate

    definitions = ctx.definitions()
    if level is not None and level not in definitions.definitions:
        raise click.BadParameter(f"unknown level {level!r}", param_hint="--level")
    try:
        report = migrate(ctx.database(), definitions, year, level=level, region=region,
                         dry_run=dry_run)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    _print_plan(report)


def _print_plan(report) -> None:
    if not report.plans:
        click.echo(f"tahun {report.year}: semua kasus sudah memakai definisi terbaru; "
                   "tidak ada yang dimigrasi")
        return
    for p in report.plans:
        click.echo(f"{p.region_code} ({p.level}):")
        for change in p.changes or []:
            click.echo(f"  - {change.words()}")
        if not p.changes:
            click.echo("  - hanya teks definisi yang berubah; kasus disematkan ulang")
    if report.dry_run:
        click.echo(f"uji coba: {len(report.plans)} kasus akan dimigrasi; belum ada yang diubah")
    else:
        click.echo(f"{len(report.applied)} kasus dimigrasi ke definisi terbaru")
