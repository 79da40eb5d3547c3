"""``aksi document``: a stage's document as HTML or PDF (approved ones are kept unchanged)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import AksiError
from ..forms.documents import document
from ..people import actor
from . import Context, fail, main, pass_context
from .tasks import YEAR


@main.command("document")
@click.argument("region")
@click.argument("stage")
@YEAR
@click.option("--form", "form_id", help="The output form (default: the stage's document, e.g. "
              "its Berita Acara with the lists it attaches).")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="pdf",
              show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write ('-' for standard output).")
@click.option("--as", "username", help="As this user (checks that they may see the region).")
@pass_context
def document_command(ctx: Context, region: str, stage: str, year: int, form_id: str | None,
                     fmt: str, output: Path, username: str | None) -> None:
    """Write the document of a stage: the form's sections, the verification trail and the
    signature blocks. An approved stage's document is rendered once and kept; others are
    marked DRAF."""
    try:
        with ctx.database().session() as session:
            user = actor(session, username) if username else None
            content, _, name = document(session, region=region, stage=stage, year=year,
                                        form=form_id, fmt=fmt, user=user)
    except AksiError as exc:
        fail(exc)
    if str(output) == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(content)
    size = f"{len(content):,}".replace(",", ".")
    click.echo(f"tertulis: {output} ({fmt.upper()}, {size} bait)")
