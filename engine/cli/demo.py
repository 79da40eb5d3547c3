"""``aksi demo``: a living province to try - its year played by the simulator up to a date."""

from __future__ import annotations

import datetime as dt
import sys
import time

import click
from sqlalchemy import func, select

from ..clock import utcnow
from ..errors import AksiError
from ..forms.parts import WHOLE, parts_of
from ..regions import UnknownRegion
from ..runtime import find_task, save_on
from ..store.models import Case, Region, Task
from . import Context, main, pass_context

DEMO_SEED = 1  # the played year and the drafts: the same on every machine
UTC = dt.timezone.utc


def _as_of(value: str | None) -> dt.datetime:
    """00:00 UTC of the day given (the simulator's step of that day), or now."""
    if value is None:
        return utcnow()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD",
                                 param_hint="--as-of") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


@main.command("demo")
@click.option("--province", default="19", show_default=True, metavar="CODE",
              help="Provinsi to build (19: Kepulauan Bangka Belitung).")
@click.option("--year", type=click.IntRange(2000, 2100),
              help="Cycle year to play. Default: the year running at --as-of.")
@click.option("--as-of", "as_of_text", metavar="YYYY-MM-DD",
              help="Play the year up to this day. Default: now.")
@click.option("--password", default="demo", show_default=True, help="Password of the demo users.")
@pass_context
def demo_command(ctx: Context, province: str, year: int | None, as_of_text: str | None,
                 password: str) -> None:
    """Build a province whose year is under way, to try the product with.

    Loads the provinsi with its kab/kota, kecamatan and desa, gives every role of every
    region (every unit of a role with units) a user with the same password, starts the
    year and plays it with the simulator (`aksi simulate`, seed 1) up to --as-of:
    synthetic people fill the forms with plausible data, submit, verify, send back with
    a reason, approve on time or late, leave some stages overdue; the clock fires the
    reminders and escalations into the inboxes and the penilaian is scored where its
    stage was approved. Stages open at --as-of and still empty get a saved draft.
    Prints every account, what the year looks like, and which accounts to try.

    Needs a database with no cases: run again on the same one, it keeps what it played.
    """
    from werkzeug.security import generate_password_hash

    from ..simulation import Settings, Simulation, SimulationError
    from ..simulation.snapshot import accounts, standing, suggested, table

    as_of = _as_of(as_of_text)
    year = year or as_of.year
    if as_of < dt.datetime(year, 1, 1, tzinfo=UTC):
        raise click.BadParameter(f"{as_of.date()} is before the year {year} begins",
                                 param_hint="--as-of")
    definitions = ctx.definitions()
    db = ctx.database(migrated=False)
    db.upgrade()
    with db.session() as session:
        here = session.scalar(select(func.count()).select_from(Case).where(
            Case.year == year, Case.region_code == province))
        anywhere = session.scalar(select(func.count()).select_from(Case))
    started = time.perf_counter()
    if here:
        click.echo(f"Basis data {db.url} sudah berisi demo tahun {year} provinsi {province}: "
                   "dipakai apa adanya, tidak dimainkan ulang. Untuk memulai dari awal, hapus "
                   "berkasnya atau pakai --db lain.")
    elif anywhere:
        raise click.ClickException(
            f"basis data {db.url} sudah berisi kasus lain ({anywhere}); demo memerlukan "
            "basis data tanpa kasus, karena jam virtualnya menggerakkan semua kasus. "
            "Pakai --db lain, mis. aksi --db sqlite:///demo.db demo")
    else:
        settings = Settings(year, province=province, seed=DEMO_SEED)
        sim = Simulation(db, definitions, settings,
                         password_hash=generate_password_hash(password))
        bar = _bar(settings, as_of)
        try:
            sim.play(as_of, progress=bar.update if bar else None)
        except UnknownRegion as exc:
            raise click.BadParameter(str(exc), param_hint="--province") from None
        except SimulationError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            if bar:
                bar.close()
        drafts, refused = _drafts(db, definitions, province, year, as_of)
        if refused:
            click.echo(f"draf gagal: {len(refused)} ({'; '.join(refused[:3])})", err=True)
    with db.session() as session:
        region = session.get(Region, province)
        rows = accounts(session, definitions, province)
        state = standing(session, definitions, province, year, as_of)
        tips = suggested(session, definitions, province, year)
    click.echo(f"Akun (semua dengan kata sandi '{password}'):")
    for line in table(rows):
        click.echo("  " + line)
    click.echo("")
    click.echo(f"basis data : {db.url}")
    click.echo(f"demo       : provinsi {province} {region.name if region else ''}, tahun {year}, "
               f"dimainkan sampai {as_of:%Y-%m-%d %H.%M} UTC; {len(rows)} akun")
    _standing(definitions, state)
    click.echo(f"waktu      : {time.perf_counter() - started:.1f} s")
    click.echo("")
    click.echo("Coba: aksi serve, lalu masuk di http://127.0.0.1:8000/masuk sebagai")
    roles = {a.username: a for a in rows}
    for name, why in tips:
        held = roles.get(name)
        click.echo(f"  {name:<28} {held.role if held else '':<36} {why}")


def _bar(settings, as_of: dt.datetime):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    timeline = settings.timeline()
    total = min(timeline.count, timeline.steps_before(as_of))
    return tqdm(desc=f"demo {settings.year}", unit=" hari", file=sys.stderr, total=total)


def _standing(definitions, state) -> None:
    for d in sorted(definitions, key=lambda d: d.tier):
        c = state.levels.get(d.level)
        if not c:
            continue
        click.echo(f"{d.level:<11}: {c['tasks']} tahap - {c['on_time']} selesai tepat waktu, "
                   f"{c['late']} terlambat, {c['open']} terbuka ({c['overdue']} lewat tenggat), "
                   f"{c['waiting']} belum dibuka; {c['returns']} kali dikembalikan")
        bands = state.bands.get(d.level)
        if d.scoring is not None:
            click.echo(f"{'':<11}  penilaian: " + (", ".join(
                f"{band} {n}" for band, n in sorted(bands.items())) if bands
                else "belum ada yang disetujui"))
    click.echo(f"kotak masuk: {state.inbox} pesan ({state.reminders} pengingat, "
               f"{state.escalations} eskalasi)")


def _entry(definition, stage: str) -> tuple[str | None, set[str]]:
    """The level's first own role that enters data in ``stage`` (of a trigger with
    ``valid_forms``, as the stage has it), and the states in which data is entered."""
    role, states = None, set()
    for trigger in definition.triggers(stage).values():
        if trigger.needs_valid_forms:
            states |= set(trigger.sources)
            role = role or next((ref.role for ref in trigger.by if ref.level is None
                                 and ref.role in definition.roles), None)
    return role, states


def _drafts(db, definitions, province: str, year: int,
            now: dt.datetime) -> tuple[set, list[str]]:
    """Save sample drafts into the stages where data may be entered at ``now`` and where a
    part (or the whole stage) has no data yet, as that unit's operator: what the played
    people would have typed so far. (region, stage) of every stage drafted, and what was
    refused."""
    from ..simulation import attach_pdf, documents, rng_for, unit_share, username
    from ..simulation.snapshot import in_province

    held, refused = set(), []
    for definition in definitions:
        editable = set().union(*(_entry(definition, s.id)[1] for s in definition))
        with db.session() as session:
            stages = session.execute(select(Task.region_code, Task.stage).where(
                Task.year == year, Task.level == definition.level, Task.state.in_(editable),
                in_province(Task.region_code, province)).order_by(Task.id)).all()
        for code, stage_id in stages:
            stage = definition.stage(stage_id)
            role = _entry(definition, stage_id)[0]
            if role is None or not any(f in definition.forms for f in stage.outputs):
                continue
            units = definition.roles[role].units

            def who(unit: str | None, code=code, role=role, units=units) -> str:
                return username(role, code, unit or (units[0] if units else None), units)

            try:
                with db.session() as session:
                    task = find_task(session, code, stage_id, year)
                    have = set(parts_of(session, task.id))
                    missing = [u for u in (stage.parts or (None,)) if (u or WHOLE) not in have]
                    if not missing:
                        continue
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
