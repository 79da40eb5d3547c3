"""``aksi webhooks``: look at deliveries, retry dead ones, deliver once."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import Context, main, pass_context
from .clock import _parse_now
from ._outbox import ChannelCommands, add_commands, when

STATUSES = ("pending", "delivered", "dead")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@main.group("webhooks")
def webhooks_group() -> None:
    """Webhook deliveries (subscriptions: $AKSI_WEBHOOKS or ./webhooks.yaml)."""


def _line(r) -> str:
    upcoming = when(r.next_attempt_at) if r.status == "pending" else "-"
    error = (r.last_error or "-").replace("\n", " ")
    return (f"{r.id:>6} {r.event_id:>9} {r.kind:<18} {r.subscription:<20} {r.status:<9} "
            f"{r.attempts:>4} {upcoming:<20} {error[:80]}")


def _list(session, **kw):
    from webhooks import list_deliveries

    return list_deliveries(session, **kw)


def _retry(session, ids):
    from webhooks import retry

    return retry(session, ids)


add_commands(webhooks_group, ChannelCommands(
    statuses=STATUSES, filter_option="subscription",
    filter_help="Only this subscription's deliveries.", list_rows=_list, retry=_retry,
    header=(f"{'ID':>6} {'PERISTIWA':>9} {'JENIS':<18} {'LANGGANAN':<20} {'STATUS':<9} "
            f"{'COBA':>4} {'BERIKUTNYA':<20} GALAT TERAKHIR"),
    line=_line))


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
