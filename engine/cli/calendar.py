"""``aksi calendar``: every stage's opening and due date in a given year."""

from __future__ import annotations

import json

import click

from ..diagrams import calendar_rows, gantt
from . import Context, level_choice, main, pass_context


@main.command("calendar")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--level", "levels", multiple=True, help="Only this level (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "mermaid", "json"]),
              default="table", show_default=True)
@pass_context
def calendar_command(ctx: Context, year: int, levels: tuple[str, ...], fmt: str) -> None:
    """Print every stage's opening and due date for YEAR."""
    for level in levels:
        level_choice(ctx, level)
    rows = calendar_rows(ctx.definitions(), year, levels or None)
    if fmt == "mermaid":
        click.echo(gantt(rows, year), nl=False)
    elif fmt == "json":
        click.echo(json.dumps([
            {"level": r.level, "stage": r.stage, "name": r.name, "group": r.group,
             "kind": r.kind, "opens": r.opens.isoformat(), "starts": r.starts.isoformat(),
             "due": r.due.isoformat(), "waits_for": list(r.waits),
             "contradiction": r.contradiction}
            for r in rows
        ], ensure_ascii=False, indent=2))
    else:
        click.echo(_table(rows))


def _table(rows) -> str:
    head = ("tingkat", "tahap", "dibuka", "mulai", "tenggat", "menunggu")
    body = [(r.level, r.stage, r.opens.isoformat(), r.starts.isoformat(),
             r.due.isoformat() + (" !" if r.contradiction else ""),
             ", ".join(r.waits) or "-") for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any(r.contradiction for r in rows):
        lines.append("! tenggat jatuh sebelum tahap yang ditunggu selesai (lihat `aksi check`)")
    lines.append("mulai = hari paling lambat tahap terbuka bila semua yang ditunggu tepat waktu")
    return "\n".join(lines)
