"""``aksi year``: start a cycle year - one case per region and level."""

from __future__ import annotations

import json
import sys

import click

from ..runtime import start_year
from . import Context, main, pass_context


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
