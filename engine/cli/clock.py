"""``aksi tick`` and ``aksi worker``: the clock, once or periodically."""

from __future__ import annotations

import datetime as dt
import json

import click

from ..clock.tick import tick
from . import Context, main, pass_context


def _parse_now(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601 (e.g. 2026-01-14T08:00+07:00)",
                                 param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone offset (e.g. +07:00 or Z)", param_hint="--now")
    return moment.astimezone(dt.timezone.utc)


@main.command("tick")
@click.option("--now", "now_text", metavar="ISO8601", help="Act as if it were this moment.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def tick_command(ctx: Context, now_text: str | None, as_json: bool) -> None:
    """Run one tick: open stages whose day came, fire due reminders and escalations."""
    report = tick(ctx.database(), _parse_now(now_text))
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    click.echo(f"{report.now}: {report.opened} tahap dibuka, {report.reminders} pengingat, "
               f"{report.escalations} eskalasi, {report.skipped} dilewati (tahap sudah selesai)")


@main.command("worker")
@click.option("--interval", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds between ticks.")
@pass_context
def worker_command(ctx: Context, interval: int) -> None:
    """Tick periodically (and deliver webhooks) until stopped; run any number of them."""
    from ..clock.scheduler import run_worker

    run_worker(ctx.database(), interval=interval, echo=lambda m: click.echo(m, err=True))
