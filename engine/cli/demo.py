"""``aksi demo``: a ready-to-try local setup - schema, one province, a year, users."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from ..people import add_user
from ..regions import UnknownRegion, load_regions
from ..runtime import start_year
from ..store.models import Region
from . import Context, main, pass_context


@main.command("demo")
@click.option("--province", default="19", show_default=True, metavar="CODE",
              help="Provinsi to load (19: Kepulauan Bangka Belitung).")
@click.option("--year", type=int, default=lambda: dt.date.today().year, show_default="this year")
@click.option("--password", default="demo", show_default=True, help="Password of the demo users.")
@pass_context
def demo_command(ctx: Context, province: str, year: int, password: str) -> None:
    """Prepare the database with one province, YEAR's cases and a user per role.

    Users are named ROLE-REGIONCODE (e.g. operator-19.01.01) for the provinsi, its
    first kab/kota and that kab/kota's kecamatan. Running it again changes nothing.
    """
    definitions = ctx.definitions()
    db = ctx.database(migrated=False)
    db.upgrade()
    try:
        with db.session() as session:
            load_regions(session, province, with_desa=True)
    except UnknownRegion as exc:
        raise click.BadParameter(str(exc), param_hint="--province") from None
    with db.session() as session:
        report = start_year(session, definitions, year, province=province)
        kab = session.scalar(select(Region.code).where(Region.parent_code == province)
                             .order_by(Region.code))
        regions = [province, kab, *session.scalars(
            select(Region.code).where(Region.parent_code == kab).order_by(Region.code))]
        users = []
        for code in regions:
            definition = definitions.by_tier(code.count(".") + 1)
            if definition is None:
                continue
            for role in definition.roles:
                name = f"{role}-{code}"
                add_user(session, definitions, name, role=role, region=code, password=password)
                users.append(name)
    click.echo(f"basis data : {db.url}")
    click.echo(f"tahun {year}: {sum(report.cases.values())} kasus baru, {report.tasks} tahap")
    click.echo(f"pengguna   : {len(users)} (kata sandi '{password}'), mis. {', '.join(users[-3:])}")
    kec = regions[2] if len(regions) > 2 else regions[-1]
    first = definitions.by_tier(kec.count(".") + 1).stages[0].id
    click.echo("coba:")
    click.echo(f"  aksi task list --as operator-{kec} --mine --year {year}")
    click.echo(f"  aksi task act {kec} {first} submit --year {year} --as operator-{kec}")
    click.echo(f"  aksi task show {kab} {first} --year {year}")
