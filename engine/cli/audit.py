"""``aksi audit``: the audit trail of people (engine/people/audit.py), newest first.

Times are shown in WIB (Asia/Jakarta, or ``--zone``); ``--since`` is a date, the start
of that day in the same zone. ``--json`` gives the rows as stored (times in UTC, ISO
8601) for machines. Whoever can run ``aksi`` on the server reads the database anyway;
the command shows nothing the rows do not hold, and they hold no secret.
The table's headings, kinds, detail keys and refusal reasons are in Bahasa Indonesia, an
``anonymous`` actor shown as ``anonim``; ``--kind`` takes the stored kind ids (English).
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from ..errors import AksiError
from ..people.audit import ANONYMOUS, KINDS, Entry, entries
from . import Context, fail, main, pass_context

ZONE = "Asia/Jakarta"
HEADINGS = ("WAKTU", "KEJADIAN", "PELAKU", "PENGGUNA", "ALAMAT", "KETERANGAN")


def _zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"zona waktu '{value}' tidak dikenal (contoh: Asia/Jakarta, "
                                 "Asia/Makassar, Asia/Jayapura)", param_hint="--zone") from None


def _since(value: str | None, zone: ZoneInfo) -> dt.datetime | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"tanggal '{value}' tidak dikenali; tulis TTTT-BB-HH, "
                                 "misalnya 2026-01-31", param_hint="--since") from None
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.timezone.utc)


# What the details' keys and the refusals' reasons are called in the table.
DETAILS = {"reason": "alasan", "retry_after": "coba lagi (detik)", "name": "nama",
           "count": "jumlah", "sessions_ended": "sesi diakhiri", "level": "tingkat",
           "role": "peran", "region": "wilayah", "unit": "unit",
           "previous_unit": "unit sebelumnya"}
REASONS = {"no_such_user": "pengguna tidak ada", "inactive": "akun tidak aktif",
           "no_password": "belum ada kata sandi", "wrong_password": "kata sandi salah"}


def _detail(entry: Entry) -> str:
    return ", ".join(f"{DETAILS.get(k, k)}={REASONS.get(v, v) if k == 'reason' else v}"
                     for k, v in entry.detail.items() if v is not None) or "-"


def _actor(entry: Entry) -> str:
    return "anonim" if entry.actor == ANONYMOUS else entry.actor


def _rows(found: list[Entry], zone: ZoneInfo) -> list[tuple[str, ...]]:
    return [(e.at.astimezone(zone).strftime("%d-%m-%Y %H:%M:%S %Z"), e.label, _actor(e),
             e.subject, e.address or "-", _detail(e)) for e in found]


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [HEADINGS, *rows]) for i in range(len(HEADINGS) - 1)]
    for row in [HEADINGS, *rows]:
        click.echo("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip())


@main.command("audit")
@click.option("--user", "subject", metavar="USERNAME", help="Only rows about this user.")
@click.option("--kind", type=click.Choice(list(KINDS)), help="Only rows of this kind.")
@click.option("--since", metavar="DATE", help="Only rows from this day on (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="How many rows, newest first.")
@click.option("--zone", default=ZONE, show_default=True, help="Time zone times are shown in.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def audit_command(ctx: Context, subject: str | None, kind: str | None, since: str | None,
                  limit: int, zone: str, as_json: bool) -> None:
    """Sign-ins, sign-outs, tokens and changes to users, newest first."""
    where = _zone(zone)
    start = _since(since, where)
    try:
        with ctx.database().session() as session:
            found = entries(session, subject=subject, kind=kind, since=start, limit=limit)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps([e.as_dict() for e in found], ensure_ascii=False, indent=2))
        return
    if found:
        _print_table(_rows(found, where))
    click.echo(f"{len(found)} catatan", err=True)
