"""``aksi form``: the data of a stage's documents, per part."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import AksiError
from ..people import actor
from ..runtime import save_on, show_forms
from . import Context, fail, main, pass_context
from .tasks import AS_JSON, YEAR


@main.group("form")
def form_group() -> None:
    """Form data of a stage: show, set, spreadsheets, attachments."""


def read_json(path: Path, hint: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: bukan JSON: {exc}", param_hint=hint) from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: harus objek {{formulir: {{...}}}}", param_hint=hint)
    return data


@form_group.command("show")
@click.argument("region")
@click.argument("stage")
@YEAR
@click.option("--form", "form_id", help="Only this output form.")
@click.option("--as", "username", help="Show as this user (checks that they may see the region).")
@AS_JSON
@pass_context
def show_command(ctx: Context, region: str, stage: str, year: int, form_id: str | None,
                 username: str | None, as_json: bool) -> None:
    """The stage's documents: data per part, completeness, errors and warnings."""
    try:
        with ctx.database().session() as session:
            view = show_forms(session, region, stage, year,
                              user=actor(session, username) if username else None)
    except AksiError as exc:
        fail(exc, as_json)
    if form_id:
        if form_id not in view.documents:
            fail(click.BadParameter(f"tahap ini tidak punya formulir '{form_id}'; ada: "
                                    f"{', '.join(view.documents)}"), as_json)
        view.documents = {form_id: view.documents[form_id]}
        view.problems = [p for p in view.problems if p["form"] == form_id]
        view.previous = {k: v for k, v in view.previous.items() if k == form_id}
    if as_json:
        click.echo(json.dumps(view.as_dict(), ensure_ascii=False, default=str))
        return
    click.echo(f"{region} {stage} {year}: status {view.state}")
    for unit, part in sorted(view.parts.items()):
        note = f" - dikembalikan: {part['note']}" if part.get("note") else ""
        click.echo(f"bagian {unit or '(seluruh dokumen)'}: {part['state'] or '-'}, versi "
                   f"{part['version']}, oleh {part['updated_by']}{note}")
    for unit, tally in sorted(view.completeness.items()):
        click.echo(f"kelengkapan {unit or '(tanpa unit)'}: {tally['filled']}/{tally['required']}")
    errors = [p for p in view.problems if p["severity"] == "error"]
    warnings = [p for p in view.problems if p["severity"] != "error"]
    click.echo(f"{len(errors)} galat, {len(warnings)} peringatan")
    for p in errors[:50]:
        click.echo(f"  galat      : {p['message']}")
    for p in warnings[:50]:
        click.echo(f"  peringatan : {p['message']}")
    if len(errors) > 50 or len(warnings) > 50:
        click.echo("  … (selengkapnya dengan --json)")


@form_group.command("set")
@click.argument("region")
@click.argument("stage")
@YEAR
@click.option("--as", "username", required=True, help="The operator saving.")
@click.option("--data", "data_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file {form_id: {section: ...}}, merged field by field into the part.")
@click.option("--unit", help="The part to save (default: the user's own unit).")
@click.option("--expect-version", type=int, help="Refuse if the part changed since this version.")
@AS_JSON
@pass_context
def set_command(ctx: Context, region: str, stage: str, year: int, username: str,
                data_file: Path, unit: str | None, expect_version: int | None,
                as_json: bool) -> None:
    """Save a draft of the user's part (incomplete is fine; wrong types are refused)."""
    data = read_json(data_file, "--data")
    try:
        with ctx.database().session() as session:
            result = save_on(session, region, stage, year, username, data, unit=unit,
                             expected_version=expect_version)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    click.echo(f"tersimpan: bagian {result.unit or '(seluruh dokumen)'}, versi {result.version}")
    for p in result.problems[:50]:
        label = "galat" if p.is_error else "peringatan"
        click.echo(f"  {label:<10} : {p.message}")


from . import form_sheets  # noqa: E402,F401  (registers `form template` and `form import`)
from . import form_files  # noqa: E402,F401  (aksi form attach)
