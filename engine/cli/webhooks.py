"""``aksi webhooks``: look at deliveries, retry dead ones, deliver once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from . import Context, main, pass_context
from .clock import _parse_now

STATUSES = ("pending", "delivered", "dead")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@main.group("webhooks")
def webhooks_group() -> None:
    """Webhook deliveries (subscriptions: $AKSI_WEBHOOKS or ./webhooks.yaml)."""


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


@webhooks_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this status.")
@click.option("--subscription", metavar="NAME", help="Only this subscription's deliveries.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@AS_JSON
@pass_context
def list_command(ctx: Context, status: str | None, subscription: str | None, limit: int,
                 as_json: bool) -> None:
    """Deliveries, oldest first: event, subscription, attempts, last error, next attempt."""
    from webhooks import list_deliveries

    with ctx.database().session() as session:
        rows = list_deliveries(session, status=status, subscription=subscription, limit=limit)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("tidak ada pengiriman" + (f" berstatus {status}" if status else ""))
        return
    click.echo(f"{'ID':>6} {'PERISTIWA':>9} {'JENIS':<18} {'LANGGANAN':<20} {'STATUS':<9} "
               f"{'COBA':>4} {'BERIKUTNYA':<20} GALAT TERAKHIR")
    for r in rows:
        upcoming = _when(r.next_attempt_at) if r.status == "pending" else "-"
        error = (r.last_error or "-").replace("\n", " ")
        click.echo(f"{r.id:>6} {r.event_id:>9} {r.kind:<18} {r.subscription:<20} {r.status:<9} "
                   f"{r.attempts:>4} {upcoming:<20} {error[:80]}")


@webhooks_group.command("retry")
@click.argument("ids", nargs=-1, type=click.IntRange(1), metavar="[ID]...")
@click.option("--all-dead", is_flag=True, help="Retry every dead delivery.")
@AS_JSON
@pass_context
def retry_command(ctx: Context, ids: tuple[int, ...], all_dead: bool, as_json: bool) -> None:
    """Queue dead deliveries again (attempts start over, due now)."""
    from webhooks import retry

    if bool(ids) == all_dead:
        raise click.UsageError("give delivery IDs or --all-dead (not both)")
    with ctx.database().session() as session:
        retried = retry(session, None if all_dead else ids)
    missing = sorted(set(ids) - set(retried))
    if as_json:
        click.echo(json.dumps({"retried": retried, "not_dead": missing}))
    else:
        click.echo(f"{len(retried)} pengiriman diantrekan lagi"
                   + (f": {', '.join(map(str, retried))}" if retried else ""))
        for i in missing:
            click.echo(f"pengiriman {i} tidak ada atau tidak berstatus dead", err=True)
    if missing:
        raise click.exceptions.Exit(1)


@webhooks_group.command("deliver")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              envvar="AKSI_WEBHOOKS", help="Subscriptions file (env AKSI_WEBHOOKS; "
              "default ./webhooks.yaml).")
@click.option("--now", "now_text", metavar="ISO8601", help="Act as if it were this moment.")
@AS_JSON
@pass_context
def deliver_command(ctx: Context, config: Path | None, now_text: str | None,
                    as_json: bool) -> None:
    """Queue new events and deliver what is due, once."""
    from webhooks import ConfigError, load_subscriptions, run_once

    try:
        subscriptions = load_subscriptions(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not subscriptions and not as_json:
        click.echo("tidak ada langganan webhook: tidak ada yang dikirim", err=True)
    report = run_once(ctx.database(), subscriptions, _parse_now(now_text))
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        click.echo(str(report))
