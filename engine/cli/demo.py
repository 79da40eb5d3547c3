"""``aksi demo``: a ready-to-try local setup - schema, one province, a year, users, drafts."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from ..clock import utcnow
from ..errors import AksiError
from ..forms.parts import WHOLE, parts_of
from ..people import add_user
from ..regions import UnknownRegion, load_regions
from ..runtime import find_task, save_on, start_year
from ..store.models import Region, Task
from . import Context, main, pass_context

DEMO_SEED = 1  # the drafts' data: the same on every machine


def demo_username(role: str, code: str, unit: str | None, units: tuple[str, ...]) -> str:
    """ROLE-REGIONCODE, held for the role's first unit when it has units (so
    ``operator-19.01.01`` is the Setcam operator); ROLE-UNIT-REGIONCODE for the others."""
    from ..simulation import username

    return username(role, code, None if unit is None or unit == units[0] else unit)


@main.command("demo")
@click.option("--province", default="19", show_default=True, metavar="CODE",
              help="Provinsi to load (19: Kepulauan Bangka Belitung).")
@click.option("--year", type=int, default=lambda: dt.date.today().year, show_default="this year")
@click.option("--password", default="demo", show_default=True, help="Password of the demo users.")
@pass_context
def demo_command(ctx: Context, province: str, year: int, password: str) -> None:
    """Prepare the database with one province, YEAR's cases, users and draft data.

    Users are named ROLE-REGIONCODE (e.g. operator-19.01.01) for the provinsi, its
    first kab/kota and that kab/kota's kecamatan; a role with units (operator and
    verifikator) has one user per unit: ROLE-REGIONCODE holds the first unit (Setcam at a
    kecamatan), ROLE-UNIT-REGIONCODE the others (operator-puskesmas-19.01.01).
    The kecamatan stages open at the start of the year get plausible draft data, saved
    and not submitted (in a stage split into parts, each unit's share by that unit's
    operator). Running it again changes nothing.
    """
    definitions = ctx.definitions()
    db = ctx.database(migrated=False)
    db.upgrade()
    try:
        with db.session() as session:
            load_regions(session, province, with_desa=True)
    except UnknownRegion as exc:
        raise click.BadParameter(str(exc), param_hint="--province") from None
    with db.session() as session:
        report = start_year(session, definitions, year, province=province)
        kab = session.scalar(select(Region.code).where(Region.parent_code == province)
                             .order_by(Region.code))
        regions = [province, kab, *session.scalars(
            select(Region.code).where(Region.parent_code == kab).order_by(Region.code))]
        users, by_unit = [], {}  # by_unit: (level, code) -> {unit: [user, ...]}
        for code in regions:
            definition = definitions.by_tier(code.count(".") + 1)
            if definition is None:
                continue
            for role, spec in definition.roles.items():
                for unit in spec.units or (None,):
                    name = demo_username(role, code, unit, spec.units)
                    add_user(session, definitions, name, role=role, region=code, unit=unit,
                             password=password)
                    users.append(name)
                    if unit:
                        by_unit.setdefault((definition.level, code), {}).setdefault(
                            unit, []).append(name)
    kecamatan = regions[2:]
    drafts, refused = _drafts(db, definitions, kecamatan, year)

    click.echo(f"basis data : {db.url}")
    click.echo(f"tahun {year}: {sum(report.cases.values())} kasus baru, {report.tasks} tahap")
    click.echo(f"pengguna   : {len(users)} (kata sandi '{password}'), PERAN-WILAYAH, mis. "
               f"{', '.join(users[-3:])}")
    click.echo("unit       : peran dengan unit punya satu pengguna per unit; PERAN-WILAYAH "
               "memegang unit pertama, unit lain PERAN-UNIT-WILAYAH:")
    shown = [key for key in by_unit if key[1] in (kab, kecamatan[0] if kecamatan else None)]
    for level, code in sorted(shown, key=lambda k: -len(k[1])):
        units = by_unit[(level, code)]
        click.echo(f"  {level} {code}:")
        for unit, names in units.items():
            click.echo(f"    {unit}: {', '.join(names)}")
    if len(kecamatan) > 1:
        click.echo(f"  (kecamatan lain sama polanya: operator-puskesmas-{kecamatan[1]}, ...)")
    click.echo(f"draf       : {len(drafts)} tahap kecamatan berisi contoh data, tersimpan dan "
               "belum dikirim" + (f" ({len(refused)} gagal: {'; '.join(refused[:3])})"
                                  if refused else ""))
    kec = kecamatan[0] if kecamatan else regions[-1]
    definition = definitions.by_tier(kec.count(".") + 1)
    whole = next((s for s in definition.stages if not s.parts
                  and (kec, s.id) in drafts), definition.stages[0])
    parted = next((s for s in definition.stages if s.parts and (kec, s.id) in drafts), None)
    click.echo("coba:")
    click.echo(f"  aksi task list --as operator-{kec} --mine --year {year}")
    click.echo(f"  aksi task act {kec} {whole.id} submit --year {year} --as operator-{kec}")
    if parted is not None:
        spec = definition.roles.get("operator")
        other = spec.units[1] if spec and len(spec.units) > 1 else None
        if other:
            name = demo_username("operator", kec, other, spec.units)
            click.echo(f"  aksi task act {kec} {parted.id} submit --year {year} --as {name}"
                       f"   # bagian {other} saja")
    click.echo(f"  aksi task show {kab} {definition.stages[0].id} --year {year}")


def _entry_roles(definition) -> list[str]:
    """The level's own roles that enter data (those of the triggers with ``valid_forms``)."""
    out = []
    for trigger in definition.lifecycle.triggers.values():
        if trigger.needs_valid_forms:
            out += [ref.role for ref in trigger.by
                    if ref.level is None and ref.role in definition.roles
                    and ref.role not in out]
    return out


def _drafts(db, definitions, regions: list[str], year: int) -> tuple[set, list[str]]:
    """Save sample drafts into the stages of ``regions`` where data may be entered now; a
    part (or a whole stage) that already has data is left alone. (region, stage) of every
    stage that holds draft data, and what was refused."""
    from ..simulation import attach_pdf, documents, rng_for, unit_share

    held, refused = set(), []
    now = utcnow()
    for code in regions:
        definition = definitions.by_tier(code.count(".") + 1)
        if definition is None:
            continue
        roles = _entry_roles(definition)
        if not roles:
            continue
        role, spec = roles[0], definition.roles[roles[0]]
        editable = {s for t in definition.lifecycle.triggers.values() if t.needs_valid_forms
                    for s in t.sources}
        with db.session() as session:
            stages = list(session.scalars(select(Task.stage).where(
                Task.region_code == code, Task.year == year, Task.state.in_(editable))
                .order_by(Task.id)))
        for stage_id in stages:
            stage = definition.stage(stage_id)
            if not any(f in definition.forms for f in stage.outputs):
                continue
            units = list(stage.parts) or [None]

            def who(unit: str | None) -> str:
                return demo_username(role, code, unit, spec.units)

            try:
                with db.session() as session:
                    task = find_task(session, code, stage_id, year)
                    have = set(parts_of(session, task.id))
                    missing = [u for u in units if (u or WHOLE) not in have]
                    if missing:
                        attach = attach_pdf(session, task, now=now, uploader=lambda f: who(
                            f.unit if stage.parts else None))
                        docs = documents(session, definition, task, attach=attach,
                                         rng=lambda n: rng_for(DEMO_SEED, year, code, stage_id, n))
                        for unit in missing:
                            data = (unit_share(definition, docs, unit) if unit
                                    else {f: d for f, d in docs.items() if d})
                            if data:
                                save_on(session, code, stage_id, year, who(unit), data, now=now)
                held.add((code, stage_id))
            except AksiError as exc:
                refused.append(f"{code} {stage_id}: {exc.message}")
    return held, refused
