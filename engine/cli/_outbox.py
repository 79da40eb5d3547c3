"""The ``list`` and ``retry`` commands of every outbox channel (``aksi webhooks``,
``aksi email``): one implementation, told by each channel what to list, how to show
a row and how to retry (engine/outbox/queue.py does the work)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import click

from . import Context, pass_context

AS_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


@dataclass(frozen=True)
class ChannelCommands:
    """What a channel's ``list``/``retry`` need."""

    statuses: Sequence[str]
    filter_option: str  # e.g. "subscription" (webhooks), "user" (e-mail)
    filter_help: str
    list_rows: Callable[..., list]  # (session, status=, <filter>=, limit=) -> rows
    retry: Callable[..., list[int]]  # (session, ids or None) -> retried ids
    header: str
    line: Callable[[Any], str]  # one row, for display
    filter_keyword: str | None = None  # list_rows's keyword for the filter (default: its name)


def add_commands(group: click.Group, spec: ChannelCommands) -> None:
    """Add ``list`` and ``retry`` to ``group``."""
    keyword = spec.filter_keyword or spec.filter_option

    @group.command("list")
    @click.option("--status", type=click.Choice(spec.statuses), help="Only rows in this status.")
    @click.option(f"--{spec.filter_option}", "chosen", metavar="NAME", help=spec.filter_help)
    @click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
    @AS_JSON
    @pass_context
    def list_command(ctx: Context, status: str | None, chosen: str | None, limit: int,
                     as_json: bool) -> None:
        """Deliveries, oldest first: attempts, last error, next attempt."""
        with ctx.database().session() as session:
            rows = spec.list_rows(session, status=status, limit=limit, **{keyword: chosen})
        if as_json:
            click.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
            return
        if not rows:
            click.echo("tidak ada pengiriman" + (f" berstatus {status}" if status else ""))
            return
        click.echo(spec.header)
        for r in rows:
            click.echo(spec.line(r))

    @group.command("retry")
    @click.argument("ids", nargs=-1, type=click.IntRange(1), metavar="[ID]...")
    @click.option("--all-dead", is_flag=True, help="Retry every dead delivery.")
    @AS_JSON
    @pass_context
    def retry_command(ctx: Context, ids: tuple[int, ...], all_dead: bool, as_json: bool) -> None:
        """Queue dead deliveries again (attempts start over, due now)."""
        if bool(ids) == all_dead:
            raise click.UsageError("give delivery IDs or --all-dead (not both)")
        with ctx.database().session() as session:
            retried = spec.retry(session, None if all_dead else ids)
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
