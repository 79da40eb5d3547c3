"""``aksi form attach``: upload a scan into a file field of a stage's form; ``aksi form
prune-files``: remove stored files no row names (engine/forms/files.py says why they exist)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..clock import utcnow
from ..errors import AksiError, InvalidForm, NotPermitted
from ..forms.entry import entry_triggers, unit_for
from ..forms.files import prune_blobs, short_name, store_upload
from ..forms.parts import WHOLE, parts_of
from ..definitions.forms.spec import FIELDS, PER_REGION, ROWS, spec_of
from ..people import actor
from ..runtime import find_task, save_on
from ..store.library import pinned
from . import Context, fail, pass_context
from .forms import form_group
from .tasks import AS_JSON, YEAR


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bait"


def _part_unit(session, definition, task, username: str, unit: str | None) -> str:
    """The part the upload is saved into: the user's unit in a stage with parts."""
    if not definition.stage(task.stage).parts:
        return WHOLE
    refs = tuple(ref for t in entry_triggers(definition, task.stage) for ref in t.by)
    own = unit_for(actor(session, username), refs, task.level, task.region_code)
    if own is None and unit is None:
        raise NotPermitted(f"{username} belum ditetapkan unitnya; tahap ini diisi per unit",
                           username=username)
    return own or unit


def build_patch(session, definition, task, *, form: str, section_name: str, field_name: str,
                row: str | None, value: dict, part_unit: str) -> tuple[dict, int]:
    """({form: patch} setting one file field, the part's version it was built on)."""
    spec = spec_of(definition, form)
    section = spec.section(section_name)
    part = parts_of(session, task.id).get(part_unit)
    version = part.version if part else 0
    if section.kind == FIELDS:
        if row is not None:
            raise click.BadParameter(f"bagian «{section.title}» bukan tabel: tanpa --row",
                                     param_hint="--row")
        return {form: {section_name: {field_name: value}}}, version
    if row is None:
        what = ("nomor baris (1, 2, …)" if section.kind == ROWS
                else "kode wilayah barisnya (mis. 19.01.03.2001)")
        raise click.BadParameter(f"bagian «{section.title}» berupa tabel: sebutkan {what}",
                                 param_hint="--row")
    if section.kind == PER_REGION:
        return {form: {section_name: {row: {field_name: value}}}}, version
    # A list of rows is saved whole: the part's rows, with the one row changed.
    try:
        number = int(row)
    except ValueError:
        raise click.BadParameter(f"--row untuk tabel «{section.title}» adalah nomor baris, "
                                 f"bukan {row!r}", param_hint="--row") from None
    current = ((part.data.get(form) or {}).get(section_name) if part else None) or []
    rows = [dict(r) for r in current if isinstance(r, dict)]
    if not 1 <= number <= len(rows) + 1:
        raise click.BadParameter(f"tabel «{section.title}» berisi {len(rows)} baris: pilih "
                                 f"1–{len(rows)}, atau {len(rows) + 1} untuk baris baru",
                                 param_hint="--row")
    if number == len(rows) + 1:
        rows.append({})
    rows[number - 1][field_name] = value
    return {form: {section_name: rows}}, version


@form_group.command("attach")
@click.argument("region")
@click.argument("stage")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@YEAR
@click.option("--as", "username", required=True, help="The operator uploading.")
@click.option("--field", "target", required=True, metavar="FORM.SECTION.FIELD",
              help="The file field, e.g. kec_berita_acara_pra_musrenbang.berita_acara."
                   "berkas_berita_acara.")
@click.option("--row", help="Rows section: the row number (from 1); per-region section: the "
              "region code of the row.")
@click.option("--unit", help="The part to save into (default: the user's own unit).")
@AS_JSON
@pass_context
def attach_command(ctx: Context, region: str, stage: str, file: Path, year: int, username: str,
                   target: str, row: str | None, unit: str | None, as_json: bool) -> None:
    """Upload FILE (PDF, JPEG or PNG, judged by its content) into a file field and save it
    in the user's part, as a draft."""
    form, _, rest = target.partition(".")
    section_name, _, field_name = rest.partition(".")
    if not (form and section_name and field_name):
        raise click.BadParameter("tulis FORMULIR.BAGIAN.ISIAN, mis. "
                                 "kec_regulasi.regulasi.dokumen_regulasi", param_hint="--field")
    now = utcnow()
    try:
        with ctx.database().session() as session:
            task = find_task(session, region, stage, year)
            definition = pinned(session, task.definition_hash)
            outputs = definition.stage(stage).outputs
            if form not in outputs:
                raise click.BadParameter(f"formulir {form} bukan keluaran tahap {stage}; "
                                         f"keluarannya: {', '.join(outputs)}", param_hint="--field")
            found = spec_of(definition, form).find(f"{section_name}.{field_name}")
            if found is None:
                raise click.BadParameter(f"{form} tidak punya isian {section_name}.{field_name}",
                                         param_hint="--field")
            field = found[1]
            if field.kind != "file":
                raise InvalidForm(f"«{field.title}» bukan isian berkas", problems=[target])
            with file.open("rb") as f:
                content = f.read(field.max_bytes + 1)  # enough to tell it is too large
            value = store_upload(session, task=task, field=field, content=content,
                                 name=file.name, username=username, now=now)
            part_unit = _part_unit(session, definition, task, username, unit)
            patch, version = build_patch(session, definition, task, form=form,
                                         section_name=section_name, field_name=field_name,
                                         row=row, value=value, part_unit=part_unit)
            result = save_on(session, region, stage, year, username, patch, unit=unit,
                             expected_version=version, now=now)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps({"file": value, **result.as_dict()}, ensure_ascii=False))
        return
    where = f" baris {row}" if row else ""
    click.echo(f"terlampir: «{field.title}»{where} ← {value['nama']} "
               f"({short_name(value['jenis'])}, {_size(value['ukuran'])}, "
               f"sha256 {value['sha256'][:12]}…)")
    click.echo(f"tersimpan: bagian {result.unit or '(seluruh dokumen)'}, versi {result.version}")
    for p in result.problems[:20]:
        click.echo(f"  {'galat' if p.is_error else 'peringatan':<10} : {p.message}")


@form_group.command("prune-files")
@click.option("--older-than", "hours", type=click.FloatRange(min=1), default=1, show_default=True,
              help="Hours since a file was last written or uploaded (at least 1: younger "
                   "ones may belong to an upload in flight).")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@AS_JSON
@pass_context
def prune_files_command(ctx: Context, hours: float, dry_run: bool, as_json: bool) -> None:
    """Remove stored files ($AKSI_FILES) that no upload row names - left by uploads whose
    transaction rolled back - and half-written temporary files. Safe to run from cron."""
    try:
        with ctx.database().session() as session:
            removed = prune_blobs(session, now=utcnow(), older_than=dt.timedelta(hours=hours),
                                  dry_run=dry_run)
    except AksiError as exc:
        fail(exc, as_json)
    size = sum(n for _, n in removed)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "bytes": size,
                               "files": [str(p) for p, _ in removed]}))
        return
    for path, n in removed:
        click.echo(f"  {path} ({_size(n)})")
    verb = "akan dihapus (--dry-run)" if dry_run else "dihapus"
    click.echo(f"{verb}: {len(removed)} berkas tak terpakai, {_size(size)}")
