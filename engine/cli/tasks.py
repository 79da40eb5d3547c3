"""``aksi task``: show, act on and list stages of cases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..clock import local, utcnow
from ..people import actor
from ..runtime import AksiError, find_task, list_tasks, view
from . import Context, fail, main, pass_context

YEAR = click.option("--year", type=int, default=lambda: dt.date.today().year,
                    show_default="this year", help="Cycle year.")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@main.group("task")
def task_group() -> None:
    """Stages of cases (tasks)."""


def _when(moment: dt.datetime, zone: str) -> str:
    return local(moment, zone).strftime("%d-%m-%Y %H:%M %Z")


@task_group.command("show")
@click.argument("region")
@click.argument("stage")
@YEAR
@click.option("--as", "username", help="Show the triggers this user may fire.")
@AS_JSON
@pass_context
def show_command(ctx: Context, region: str, stage: str, year: int, username: str | None,
                 as_json: bool) -> None:
    """State, deadline, allowed triggers and blockers of one stage."""
    try:
        with ctx.database().session() as session:
            user = actor(session, username) if username else None
            v = view(session, find_task(session, region, stage, year), user=user)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(v.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{v.region} {v.region_name} - {v.stage_name} ({v.stage}) {v.year}")
    click.echo(f"status   : {v.state_name} ({v.state}), versi {v.version}"
               + ("  TERLAMBAT" if v.overdue else ""))
    click.echo(f"dibuka   : {_when(v.opens_at, v.timezone)}")
    click.echo(f"tenggat  : {_when(v.due_at, v.timezone)}")
    if v.triggers:
        click.echo("tindakan : " + ", ".join(f"{t['trigger']} ({t['name']}; {'/'.join(t['by'])})"
                                             for t in v.triggers))
    for b in v.blockers:
        click.echo(f"terhambat: {b.message}")
        for c in b.children:
            due = _when(c.due_at, v.timezone) if c.due_at else "-"
            click.echo(f"           {c.code} {c.name}: {c.state or 'belum dimulai'}, tenggat {due}")
    for e in v.history[-10:]:
        click.echo(f"riwayat  : {e['at']} {e['actor']} {e['kind']} {e['from'] or ''}->{e['to'] or ''}")


@task_group.command("act")
@click.argument("region")
@click.argument("stage")
@click.argument("trigger")
@YEAR
@click.option("--as", "username", required=True, help="Acting user.")
@click.option("--reason", help="Written reason (required by some triggers).")
@click.option("--unit", help="The part a role held without a unit acts on (e.g. the Camat "
              "returning one unit's part).")
@click.option("--data", "data_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file {form_id: {...}} with the stage's form data.")
@click.option("--expect-version", type=int, help="Refuse if the stage changed since this version.")
@click.option("--mark", "marks", multiple=True, metavar="FORM.SECTION.FIELD[@ROW]",
              help="With a return: a cell the operator must look at (ROW: the desa or region "
              "code, or the row number; repeatable), marked as the stage page marks it.")
@AS_JSON
@pass_context
def act_command(ctx: Context, region: str, stage: str, trigger: str, year: int, username: str,
                reason: str | None, unit: str | None, data_file: Path | None,
                expect_version: int | None, marks: tuple[str, ...], as_json: bool) -> None:
    """Fire TRIGGER on a stage as a user."""
    if marks and data_file:
        raise click.UsageError("--mark is for a return; --data is not")
    data = None
    if data_file:
        try:
            data = json.loads(data_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.BadParameter(f"{data_file}: not JSON: {exc}", param_hint="--data") from None
        if not isinstance(data, dict):
            raise click.BadParameter(f"{data_file}: expected an object {{form_id: {{...}}}}",
                                     param_hint="--data")
    from ..runtime import act_on
    from ..runtime.send_back import send_back_on

    try:
        with ctx.database().session() as session:
            if marks:
                result = send_back_on(session, region, stage, year, trigger, username,
                                      reason=reason, marks=marks, unit=unit,
                                      expected_version=expect_version, now=utcnow())
            else:
                result = act_on(session, region, stage, year, trigger, username, reason=reason,
                                unit=unit, data=data, expected_version=expect_version)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    click.echo(f"{region} {stage}: {result.from_state} -> {result.to_state} (versi {result.version})")
    for t in result.opened:
        click.echo(f"dibuka: {t['region']} {t['stage']} ({t['level']})")


@task_group.command("list")
@click.option("--as", "username", help="Only what this user can see (and act on with --mine).")
@click.option("--year", type=int, help="Cycle year.")
@click.option("--overdue", is_flag=True, help="Only stages past their deadline and not done.")
@click.option("--mine", is_flag=True, help="With --as: only stages the user can act on now.")
@click.option("--region", metavar="CODE", help="Only this region and below.")
@click.option("--level", help="Only this level.")
@click.option("--limit", type=int, default=500, show_default=True)
@AS_JSON
@pass_context
def list_command(ctx: Context, username: str | None, year: int | None, overdue: bool, mine: bool,
                 region: str | None, level: str | None, limit: int, as_json: bool) -> None:
    """List stages, earliest deadline first."""
    if mine and not username:
        raise click.UsageError("--mine needs --as USERNAME")
    try:
        with ctx.database().session() as session:
            user = actor(session, username) if username else None
            views = list_tasks(session, user=user, year=year, overdue=overdue, actionable=mine,
                               region=region, level=level, limit=limit)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps([v.as_dict() for v in views], ensure_ascii=False, indent=2))
        return
    for v in views:
        late = " TERLAMBAT" if v.overdue else ""
        click.echo(f"{v.region:<14} {v.stage:<36} {v.state:<10} {_when(v.due_at, v.timezone)}{late}")
    click.echo(f"{len(views)} tahap", err=True)


@task_group.command("extend")
@click.argument("region")
@click.argument("stage")
@YEAR
@click.option("--until", "until", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="New due day (YYYY-MM-DD); the deadline is the end of that day, local time.")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@click.option("--as", "username", required=True, help="Acting supervisor.")
@click.option("--level", help="Extend this level's STAGE in every region within REGION.")
@AS_JSON
@pass_context
def extend_command(ctx: Context, region: str, stage: str, year: int, until: dt.datetime,
                   reason: str, username: str, level: str | None, as_json: bool) -> None:
    """Extend a stage's deadline (one region, or with --level every region below)."""
    from ..runtime.extensions import extend

    try:
        with ctx.database().session() as session:
            report = extend(session, area=region, stage=stage, year=year, until=until.date(),
                            reason=reason, username=username, level=level)
    except AksiError as exc:
        fail(exc, as_json)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    click.echo(f"tenggat diperpanjang sampai {until.date().isoformat()}: "
               f"{len(report.extended)} wilayah; {len(report.skipped_done)} sudah selesai")

