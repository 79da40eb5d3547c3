"""``aksi simulate``: play a whole year in virtual time with synthetic people."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..regions import UnknownRegion
from . import Context, load_or_exit, main, pass_context

SHARE = click.FloatRange(0, 1)


def _db_url(value: str | None) -> str | None:
    """A database URL as given, or a file path made into a SQLite URL."""
    if value is None or "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def _global_db(ctx: Context) -> str | None:
    """The global ``--db``, but only when typed on the command line: an AKSI_DATABASE_URL in
    the environment points at real data, which the virtual clock must never touch."""
    parent = click.get_current_context().parent
    if parent is not None and parent.get_parameter_source("db_url") == \
            click.core.ParameterSource.COMMANDLINE:
        return ctx.db_url
    return None


@main.command("simulate")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--province", default="19", show_default=True, metavar="CODE",
              help="Provinsi to play (19: Kepulauan Bangka Belitung, small).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed and definitions give the same year.")
@click.option("--lateness", type=SHARE, default=0.2, show_default=True,
              help="Share of stages finished after their deadline (1-60 days late).")
@click.option("--missed", type=SHARE, default=0.02, show_default=True,
              help="Share of stages never finished.")
@click.option("--return-rate", type=SHARE, default=0.1, show_default=True,
              help="Chance a reviewer sends a stage back (with a reason), at each review.")
@click.option("--db", "db", metavar="URL|PATH",
              help="Database to simulate in (must hold no cases yet; kept afterwards; the "
                   "files uploaded go to $AKSI_FILES, default ./aksi-files). "
                   "Default: a temporary SQLite file, deleted afterwards with its files.")
@click.option("--compare", "proposed",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              metavar="DIR", help="Also play the same seeded year on the definitions in DIR "
                                  "and print both side by side (each in its own temporary "
                                  "database).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def simulate_command(ctx: Context, year: int, province: str, seed: int, lateness: float,
                     missed: float, return_rate: float, db: str | None, proposed: Path | None,
                     as_json: bool) -> None:
    """Play YEAR of one provinsi with synthetic actors and report what happened.

    Synthetic people fill every stage's forms with plausible data (each unit its own
    part where a stage is split into parts), walk it to its done state along the
    lifecycle's triggers, sometimes send it back (a trigger that needs a reason), and
    some are late or never finish, as the options say; the clock fires reminders and
    escalations. A submission the forms refuse is listed with its problems.
    Prints on-time / late / missed per level and stage, the notices fired and the
    resulting classification per level. Preview a change to the definitions with
    `aksi --workflows DIR simulate YEAR`, or set it beside the current ones with
    `aksi simulate YEAR --compare DIR`.
    """
    from ..simulation import Settings

    settings = Settings(year, province=province, seed=seed, lateness=lateness, missed=missed,
                        return_rate=return_rate)
    if proposed is not None:
        _compare(ctx, settings, proposed, db, as_json)
        return
    url = _db_url(db) or _global_db(ctx)
    report = _play(ctx.definitions(), settings, url, as_json)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        click.echo(f"waktu: {report.elapsed:.1f} s", err=True)
        return
    if url:
        click.echo(f"basis data: {url}")
    click.echo(report.text())


def _compare(ctx: Context, settings, proposed: Path, db: str | None, as_json: bool) -> None:
    """The same seeded year on the current definitions and on those in ``proposed``."""
    from ..simulation.report import compare

    if db is not None:
        raise click.UsageError("--compare plays two years, each in its own temporary "
                               "database: it cannot be given --db")
    current = ctx.definitions()
    candidate = load_or_exit(proposed)
    left = _play(current, settings, None, as_json)
    right = _play(candidate, settings, None, as_json)
    if as_json:
        click.echo(json.dumps({"current": {"workflows": str(ctx.workflows), **left.as_dict()},
                               "proposed": {"workflows": str(proposed), **right.as_dict()}},
                              ensure_ascii=False, indent=2))
        return
    click.echo(compare(left, right, (f"sekarang ({ctx.workflows})",
                                     f"usulan ({proposed})")))


def _play(definitions, settings, url: str | None, quiet: bool):
    """One simulated year, with a progress bar on a terminal."""
    from ..simulation import SimulationError, simulate

    bar = None
    if sys.stderr.isatty() and not quiet:
        from tqdm import tqdm

        bar = tqdm(desc=f"simulasi {settings.year}", unit=" hari", file=sys.stderr,
                   total=settings.timeline().count)
    try:
        return simulate(definitions, settings, db_url=url, progress=bar.update if bar else None)
    except UnknownRegion as exc:
        raise click.BadParameter(str(exc), param_hint="--province") from None
    except SimulationError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar:
            bar.close()
