"""``aksi users``: people and their roles."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import func, select

from ..people import (EMAIL_PREFERENCES, add_user, get_user, import_users, issue_token,
                      password_problem, revoke_tokens, set_active, set_email)
from ..errors import AksiError
from ..store.models import Assignment, User
from . import Context, fail, main, pass_context


@main.group("users")
def users_group() -> None:
    """Users and role assignments."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", help="Role id of the region's level (e.g. operator).")
@click.option("--region", metavar="CODE", help="Region code the role is held on.")
@click.option("--unit", help="The unit the role is held for (one of the role's units, e.g. Puskesmas).")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--email", help="E-mail address for reminders, escalations, returns, nudges.")
@click.option("--email-pref", type=click.Choice(list(EMAIL_PREFERENCES)),
              help="each message (default), a daily digest, or none.")
@pass_context
def add_command(ctx: Context, username: str, role: str | None, region: str | None,
                unit: str | None, display_name: str, password_stdin: bool, email: str | None,
                email_pref: str | None) -> None:
    """Create USERNAME (or add a role to it)."""
    password = _password_from_stdin(username, region or "") if password_stdin else None
    definitions = ctx.definitions()
    try:
        with ctx.database().session() as session:
            before = _holders(session, region)
            user = add_user(session, definitions, username, role=role, region=region, unit=unit,
                            password=password, display_name=display_name)
            if email is not None or email_pref is not None:
                set_email(session, username, email=email, pref=email_pref)
            roles = [f"{a.role}@{a.region_code}" + (f" ({a.unit})" if a.unit else "")
                     for a in user.assignments]
            warnings = _over_count(definitions, before, _holders(session, region))
    except AksiError as exc:
        fail(exc)
    click.echo(f"{username}: {', '.join(roles) or 'tanpa peran'}")
    _warn(warnings)


def _holders(session, region: str | None = None) -> dict[tuple[str, str, str], int]:
    """(level, role, region) -> how many active people hold it (on ``region`` only, when
    given). A whole import counts every region: one GROUP BY, never on a click's path."""
    query = (select(Assignment.level, Assignment.role, Assignment.region_code,
                    func.count(func.distinct(Assignment.user_id)))
             .join(User, User.id == Assignment.user_id).where(User.active.is_(True))
             .group_by(Assignment.level, Assignment.role, Assignment.region_code))
    if region is not None:
        query = query.where(Assignment.region_code == region)
    return {(lv, r, c): n for lv, r, c, n in session.execute(query)}


def _over_count(definitions, before: dict, after: dict) -> list[str]:
    """Warnings for the roles whose holders on a region grew past the definition's
    ``count`` (informative: more holders are allowed, the policy owner is told)."""
    out = []
    for (level, role, region), held in sorted(after.items()):
        spec = definitions.definitions.get(level)
        spec = spec.roles.get(role) if spec is not None else None
        if spec is None or spec.count is None or held <= spec.count:
            continue
        if held > before.get((level, role, region), 0):
            out.append(f"Peringatan: {region} kini punya {held} pemegang peran {role} "
                       f"({spec.name}); definisi menyebut {spec.count} orang")
    return out


def _warn(warnings: list[str]) -> None:
    for line in warnings:
        click.echo(line, err=True)


def _password_from_stdin(username: str, region: str = "") -> str:
    """A password from standard input, refused (exit 1, never shown) if the policy
    (engine/people/passwords.py) refuses it."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.BadParameter("empty password on standard input",
                                 param_hint="--password-stdin")
    why = password_problem(password, username=username, region=region)
    if why:
        click.echo(f"Ditolak: {why}", err=True)
        raise click.exceptions.Exit(1)
    return password


@users_group.command("passwd")
@click.argument("username")
@pass_context
def passwd_command(ctx: Context, username: str) -> None:
    """Set USERNAME's password, read from standard input; their web sessions end."""
    password = _password_from_stdin(username)
    definitions = ctx.definitions()
    try:
        with ctx.database().session() as session:
            get_user(session, username)  # an unknown user is not created here
            add_user(session, definitions, username, password=password)
    except AksiError as exc:
        fail(exc)
    click.echo(f"{username}: kata sandi diganti; sesi yang masuk sebelumnya berakhir")


@users_group.command("activate")
@click.argument("username")
@pass_context
def activate_command(ctx: Context, username: str) -> None:
    """Activate USERNAME again (after `aksi users deactivate`)."""
    _set_active(ctx, username, True)


@users_group.command("deactivate")
@click.argument("username")
@click.option("--undo", is_flag=True, help="Activate USERNAME again instead.")
@pass_context
def deactivate_command(ctx: Context, username: str, undo: bool) -> None:
    """Deactivate USERNAME: their web sessions end at once, their tokens stop working."""
    _set_active(ctx, username, undo)


def _set_active(ctx: Context, username: str, active: bool) -> None:
    try:
        with ctx.database().session() as session:
            set_active(session, username, active)
    except AksiError as exc:
        fail(exc)
    click.echo(f"{username}: {'aktif' if active else 'dinonaktifkan'}")


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_command(ctx: Context, file: Path) -> None:
    """Import users from CSV: username,role,region[,unit,password,display_name,email,
    email_pref]."""
    definitions = ctx.definitions()
    try:
        with ctx.database().session() as session:
            before = _holders(session)
            report = import_users(session, definitions, file)
            warnings = _over_count(definitions, before, _holders(session))
    except AksiError as exc:
        fail(exc)
    click.echo(f"{report.users} pengguna, {report.assignments} peran diimpor")
    _warn(warnings)


@users_group.command("token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (e.g. the system using it).")
@click.option("--revoke", is_flag=True, help="Revoke USERNAME's tokens of that name instead.")
@pass_context
def token_command(ctx: Context, username: str, name: str, revoke: bool) -> None:
    """Issue (or revoke) a JSON API token acting as USERNAME; it is shown only once."""
    try:
        with ctx.database().session() as session:
            if revoke:
                count = revoke_tokens(session, username, name)
            else:
                secret = issue_token(session, username, name)
    except AksiError as exc:
        fail(exc)
    if revoke:
        click.echo(f"{count} token dicabut")
        return
    click.echo(secret)
    click.echo("Simpan token ini sekarang: token tidak dapat ditampilkan lagi.", err=True)


@users_group.command("email")
@click.argument("username")
@click.option("--address", help="The new e-mail address.")
@click.option("--clear", is_flag=True, help="Remove the address (no e-mail at all).")
@click.option("--pref", type=click.Choice(list(EMAIL_PREFERENCES)),
              help="each message, a daily digest, or none.")
@pass_context
def email_command(ctx: Context, username: str, address: str | None, clear: bool,
                  pref: str | None) -> None:
    """Set (or show) USERNAME's e-mail address and preference."""
    if address is not None and clear:
        raise click.UsageError("give --address or --clear, not both")
    try:
        with ctx.database().session() as session:
            user = set_email(session, username, email=address, clear=clear, pref=pref)
            shown = f"{user.email or '(tanpa alamat)'}, {EMAIL_PREFERENCES[user.email_pref]}"
    except AksiError as exc:
        fail(exc)
    click.echo(f"{username}: surel {shown}")
