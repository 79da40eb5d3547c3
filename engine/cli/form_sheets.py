"""``aksi form template`` and ``aksi form import``: a stage's form as a spreadsheet and back.

A template is for one region, stage, year, form and unit (engine/forms/spreadsheet.py); the
import reads it (or a CSV of one section) whole, then saves it as the user's draft with
`save_on`, which checks who may write what. Any problem refuses the whole file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import AksiError, InvalidForm, NotPermitted
from ..forms import entry, spreadsheet
from ..definitions.forms.spec import spec_of
from ..people import actor, can_see
from ..runtime import find_task, save_on
from ..store.library import pinned
from ..store.models import Region
from . import Context, fail, pass_context
from .forms import form_group
from .tasks import AS_JSON, YEAR

MAX_BYTES = 20 * 1024 * 1024


class _DryRun(Exception):
    """Rolls the import back after it was checked and saved."""

    def __init__(self, result: Any):
        super().__init__("dry run")
        self.result = result


def _form_of(definition: Any, stage_id: str, form_id: str | None) -> str:
    outputs = definition.stage(stage_id).outputs
    if form_id is None:
        if len(outputs) == 1:
            return outputs[0]
        raise click.BadParameter(f"tahap {stage_id} punya {len(outputs)} formulir: pilih dengan "
                                 f"--form ({', '.join(outputs) or '-'})", param_hint="--form")
    if form_id not in outputs:
        raise click.BadParameter(f"tahap ini tidak punya formulir '{form_id}'; ada: "
                                 f"{', '.join(outputs) or '-'}", param_hint="--form")
    return form_id


def _unit_of(definition: Any, task: Any, user: Any, unit: str | None) -> str | None:
    """The part a template or import is for: --unit, else the user's own unit; None in a
    stage without parts (and, for a template without --as, every unit)."""
    stage = definition.stage(task.stage)
    if not stage.parts:
        if unit:
            raise click.BadParameter(f"tahap {task.stage} tidak diisi per unit", param_hint="--unit")
        return None
    if unit:
        if unit not in stage.parts:
            raise click.BadParameter(f"unit {unit} tidak mengisi tahap ini (unit: "
                                     f"{', '.join(stage.parts)})", param_hint="--unit")
        return unit
    if user is None:
        return None
    refs = tuple(ref for t in entry.entry_triggers(definition, task.stage) for ref in t.by)
    return entry.unit_for(user, refs, task.level, task.region_code)


def _setting(session: Any, region: str, stage: str, year: int, form_id: str | None,
             username: str | None, unit: str | None) -> tuple:
    task = find_task(session, region, stage, year)
    user = actor(session, username) if username else None
    if user is not None and not can_see(user, region):
        raise NotPermitted(f"{username} tidak berhak melihat wilayah {region}", region=region)
    definition = pinned(session, task.definition_hash)
    form = _form_of(definition, stage, form_id)
    part = _unit_of(definition, task, user, unit)
    rows = entry.context_for(session, definition, task).rows
    place = session.get(Region, region)
    return task, definition, form, part, dict(rows), place.name if place else region


def _count(patch: dict) -> tuple[int, int]:
    """(rows, values) of a patch."""
    rows = values = 0
    for value in patch.values():
        if isinstance(value, list):
            rows += len(value)
            values += sum(len(r) for r in value)
        elif isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()) and value:
            rows += len(value)
            values += sum(len(r) for r in value.values())
        elif isinstance(value, dict):
            values += len(value)
    return rows, values


@form_group.command("template")
@click.argument("region")
@click.argument("stage")
@YEAR
@click.option("--form", "form_id", help="The output form (needed when the stage has several).")
@click.option("--unit", help="The unit whose fields the template holds (default: the --as "
              "user's unit; without either, every unit).")
@click.option("--as", "username", help="The user who will fill it (checks that they may see "
              "the region; gives the default unit).")
@click.option("-o", "--output", "output", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Where to write the .xlsx.")
@pass_context
def template_command(ctx: Context, region: str, stage: str, year: int, form_id: str | None,
                     unit: str | None, username: str | None, output: Path) -> None:
    """Write an Excel template of a stage's form, pre-filled with the current document."""
    try:
        with ctx.database().session() as session:
            task, definition, form, part, rows, name = _setting(session, region, stage, year,
                                                                form_id, username, unit)
            document = entry.stage_documents(session, definition, task).get(form, {})
            content = spreadsheet.template(
                definition, form, region_code=region, region_name=name, year=year, stage=stage,
                rows=rows, unit=part, data=document)
    except AksiError as exc:
        fail(exc)
    output.write_bytes(content)
    sheets = spreadsheet.layout(spec_of(definition, form), part)
    click.echo(f"templat tersimpan: {output} ({form}, {'unit ' + part if part else 'semua unit'}; "
               f"{len(sheets)} lembar isian, {len(rows)} baris wilayah)")


@form_group.command("import")
@click.argument("region")
@click.argument("stage")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@YEAR
@click.option("--as", "username", required=True, help="The operator saving.")
@click.option("--form", "form_id", help="The output form (needed when the stage has several).")
@click.option("--unit", help="The part to save (default: the user's own unit).")
@click.option("--section", help="CSV only: the section the file holds (default: the one its "
              "headers match).")
@click.option("--dry-run", is_flag=True, help="Check and report what would be saved; save nothing.")
@AS_JSON
@pass_context
def import_command(ctx: Context, region: str, stage: str, file: Path, year: int, username: str,
                   form_id: str | None, unit: str | None, section: str | None, dry_run: bool,
                   as_json: bool) -> None:
    """Import a filled template (.xlsx) or a CSV as a draft of the user's part.

    All or nothing: every problem of the file is listed and nothing is saved."""
    if file.stat().st_size > MAX_BYTES:
        fail(InvalidForm(f"berkas {file.name} terlalu besar (lebih dari "
                         f"{MAX_BYTES // (1024 * 1024)} MB)", problems=[]), as_json)
    content = file.read_bytes()
    patch: dict = {}
    form = part = None
    try:
        with ctx.database().session() as session:
            task, definition, form, part, rows, name = _setting(session, region, stage, year,
                                                                form_id, username, unit)
            stage_def = definition.stage(stage)
            if stage_def.parts and part is None:
                raise NotPermitted(f"{username} belum ditetapkan unitnya; tahap ini diisi per unit "
                                   f"({', '.join(stage_def.parts)})", username=username,
                                   region=region, stage=stage, year=year)
            expect = {"region": region, "region_name": name, "year": year, "stage": stage,
                      "form": form, "unit": part, "content_hash": task.definition_hash,
                      "rows": rows}
            if section:
                expect["section"] = section
            patch = spreadsheet.read(definition, form, content, filename=file.name, expect=expect)
            if not patch:
                raise InvalidForm(f"berkas '{file.name}' tidak berisi isian apa pun; tidak ada "
                                  "yang disimpan", problems=[])
            result = save_on(session, region, stage, year, username, {form: patch}, unit=part)
            if dry_run:
                raise _DryRun(result)
    except _DryRun as done:
        result = done.result
    except AksiError as exc:
        fail(exc, as_json)
    rows_count, values = _count(patch)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "form": form, "unit": result.unit,
                               "version": result.version, "rows": rows_count, "values": values,
                               "patch": patch, "problems": [p.as_dict() for p in result.problems]},
                              ensure_ascii=False, default=str))
        return
    what = (f"bagian {result.unit or '(seluruh dokumen)'}, versi {result.version}: "
            f"{values} isian dari {rows_count} baris")
    if dry_run:
        click.echo(f"uji coba (--dry-run): akan tersimpan ke {what}; tidak ada yang disimpan")
    else:
        click.echo(f"diimpor: {what}")
    for p in result.problems[:50]:
        label = "galat" if p.is_error else "peringatan"
        click.echo(f"  {label:<10} : {p.message}")
    if len(result.problems) > 50:
        click.echo("  … (selengkapnya dengan --json)")
