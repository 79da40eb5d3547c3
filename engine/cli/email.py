"""``aksi email``: look at e-mail deliveries, retry dead ones, deliver once."""

from __future__ import annotations

import json

import click

from . import Context, main, pass_context
from .clock import _parse_now
from ._outbox import ChannelCommands, add_commands, when

STATUSES = ("pending", "delivered", "dead", "held", "digested")


@main.group("email")
def email_group() -> None:
    """E-mail of reminders, escalations, returns and nudges (SMTP: AKSI_SMTP_* variables)."""


def _line(r) -> str:
    upcoming = when(r.next_attempt_at) if r.status == "pending" else "-"
    error = (r.last_error or "-").replace("\n", " ")
    what = str(r.event_id) if r.event_id else (r.day.isoformat() if r.day else "-")
    return (f"{r.id:>6} {r.kind:<8} {what:>10} {r.username:<24} {r.status:<9} "
            f"{r.attempts:>4} {upcoming:<20} {error[:80]}")


def _list(session, **kw):
    from ..mail import list_deliveries

    return list_deliveries(session, **kw)


def _retry(session, ids):
    from ..mail import retry

    return retry(session, ids)


add_commands(email_group, ChannelCommands(
    statuses=STATUSES, filter_option="user", filter_keyword="username",
    filter_help="Only this user's e-mail.", list_rows=_list, retry=_retry,
    header=(f"{'ID':>6} {'JENIS':<8} {'PERISTIWA':>10} {'PENGGUNA':<24} {'STATUS':<9} "
            f"{'COBA':>4} {'BERIKUTNYA':<20} GALAT TERAKHIR"),
    line=_line))


@email_group.command("deliver")
@click.option("--now", "now_text", metavar="ISO8601", help="Act as if it were this moment.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def deliver_command(ctx: Context, now_text: str | None, as_json: bool) -> None:
    """Queue new e-mail, make due digests and send what is due, once."""
    from ..mail import MailConfigError, load_settings, run_once

    try:
        settings = load_settings()
    except MailConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if settings is None:
        raise click.ClickException("AKSI_SMTP_HOST tidak diatur: surel tidak dikirim")
    report = run_once(ctx.database(), settings, _parse_now(now_text))
    click.echo(json.dumps(report.as_dict()) if as_json else str(report))
