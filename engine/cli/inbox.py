"""``aksi inbox``: the reminders and escalations addressed to a user's roles."""

from __future__ import annotations

import json

import click

from ..errors import AksiError
from ..people import actor
from ..runtime.inbox import inbox_for
from . import Context, fail, main, pass_context


@main.command("inbox")
@click.option("--as", "username", required=True, help="Whose inbox.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def inbox_command(ctx: Context, username: str, limit: int, as_json: bool) -> None:
    """Reminders and escalations addressed to a user's roles."""
    try:
        with ctx.database().session() as session:
            items = inbox_for(session, actor(session, username), limit=limit)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    for item in items:
        role = item["role"] + (f"/{','.join(item['units'])}" if item["units"] else "")
        click.echo(f"{item['at'][:16]} [{role}@{item['region']}] {item['message']}")
    click.echo(f"{len(items)} pesan", err=True)
