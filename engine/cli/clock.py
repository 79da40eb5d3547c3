"""``aksi tick`` and ``aksi worker``: the clock, once or periodically."""

from __future__ import annotations

import datetime as dt
import json
from typing import Callable

import click

from ..store import Database
from ..worker.tick import tick
from . import Context, main, pass_context

Echo = Callable[[str], None]


def worker_jobs(db: Database, echo: Echo | None = None) -> list[tuple[str, Callable[[], object]]]:
    """The periodic work of ``aksi worker`` and ``aksi serve``: the tick, then webhook
    delivery when subscriptions are configured, and e-mail when AKSI_SMTP_HOST is set."""

    def run_tick() -> None:
        report = tick(db)
        if echo and (report.opened or report.reminders or report.escalations):
            echo(f"tick {report.now}: {report.opened} dibuka, {report.reminders} pengingat, "
                 f"{report.escalations} eskalasi")

    jobs: list[tuple[str, Callable[[], object]]] = [("tick", run_tick)]
    deliver = _webhook_job(db, echo)
    if deliver is not None:
        jobs.append(("webhooks", deliver))
    mail = _mail_job(db, echo)
    if mail is not None:
        jobs.append(("email", mail))
    return jobs


def jobs_or_exit(db: Database, echo: Echo | None = None) -> list[tuple[str, Callable[[], object]]]:
    """`worker_jobs`, or exit 1 saying what is wrong with the webhook subscriptions or the
    SMTP settings."""
    from ..mail.config import MailConfigError

    try:
        return worker_jobs(db, echo)
    except MailConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - only the subscriptions' ConfigError is said
        from webhooks import ConfigError

        if isinstance(exc, ConfigError):
            raise click.ClickException(str(exc)) from None
        raise


def _mail_job(db: Database, echo: Echo | None) -> Callable[[], object] | None:
    """E-mail delivery when AKSI_SMTP_HOST is set (`MailConfigError` when the settings are
    incomplete)."""
    from ..mail import load_settings, run_once

    settings = load_settings()
    if settings is None:
        return None

    def send() -> None:
        result = run_once(db, settings)
        if echo and (result.delivered or result.failed or result.dead or result.digests):
            echo(f"surel: {result}")

    return send


def _webhook_job(db: Database, echo: Echo | None) -> Callable[[], object] | None:
    try:
        from webhooks import load_subscriptions, run_once
    except ImportError:  # delivery not installed in this build
        return None
    subscriptions = load_subscriptions()
    if not subscriptions:
        return None

    def deliver() -> None:
        result = run_once(db, subscriptions)
        if echo and any(getattr(result, k, 0) for k in ("delivered", "failed", "dead")):
            echo(f"webhooks: {result}")

    return deliver


def _parse_now(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not ISO 8601 (e.g. 2026-01-14T08:00+07:00)",
                                 param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone offset (e.g. +07:00 or Z)", param_hint="--now")
    return moment.astimezone(dt.timezone.utc)


@main.command("tick")
@click.option("--now", "now_text", metavar="ISO8601", help="Act as if it were this moment.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def tick_command(ctx: Context, now_text: str | None, as_json: bool) -> None:
    """Run one tick: open stages whose day came, fire due reminders and escalations."""
    report = tick(ctx.database(), _parse_now(now_text))
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    click.echo(f"{report.now}: {report.opened} tahap dibuka, {report.reminders} pengingat, "
               f"{report.escalations} eskalasi, {report.skipped} dilewati (tahap sudah selesai)")


@main.command("worker")
@click.option("--interval", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds between ticks.")
@pass_context
def worker_command(ctx: Context, interval: int) -> None:
    """Tick periodically (and deliver webhooks) until stopped; run any number of them."""
    import logging

    from .. import logs
    from ..worker.scheduler import run_worker

    logs.configure()  # AKSI_LOG_FORMAT=json: one JSON object per line
    log = logging.getLogger("aksi.worker")
    db = ctx.database()
    jobs = jobs_or_exit(db, echo=log.info)
    log.info("worker: %s setiap %d detik pada %s (Ctrl-C untuk berhenti)",
             ", ".join(name for name, _ in jobs), interval, db.engine.url)
    run_worker(jobs, interval=interval)
