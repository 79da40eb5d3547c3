"""``aksi serve``: the web application with the clock ticking in the same process."""

from __future__ import annotations

import os
import secrets

import click

from . import Context, main, pass_context


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--interval", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds between clock ticks.")
@click.option("--no-clock", is_flag=True, help="Serve only (let `aksi worker` processes tick).")
@pass_context
def serve_command(ctx: Context, host: str, port: int, interval: int, no_clock: bool) -> None:
    """Serve the web application (development server) and tick the clock."""
    from ..worker.scheduler import start_background
    from .clock import jobs_or_exit
    from ..web import ConfigurationError, create_app

    db = ctx.database()
    config = {"DATABASE_URL": db.url}
    if not os.environ.get("AKSI_SECRET_KEY"):
        # One development process: a key of its own will do, but sign-ins end with it.
        config["SECRET_KEY"] = secrets.token_hex(32)
        click.echo("AKSI_SECRET_KEY tidak diatur: sesi masuk berakhir saat proses ini berhenti",
                   err=True)
    try:
        app = create_app(config)
    except ConfigurationError as exc:  # a weak AKSI_SECRET_KEY, a bad setting: said, no traceback
        raise click.ClickException(str(exc)) from None
    scheduler = None if no_clock else start_background(
        jobs_or_exit(db, echo=lambda m: click.echo(m, err=True)), interval=interval)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if scheduler:
            scheduler.shutdown(wait=False)
