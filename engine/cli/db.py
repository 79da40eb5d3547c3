"""``aksi db``: the store's schema (Alembic migrations)."""

from __future__ import annotations

import click

from ..store.migrate import current, head
from . import Context, main, pass_context


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
