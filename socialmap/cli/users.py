"""`flask --app app users ...`: the first admin, staff accounts, and the retention purge."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..db import get_db
from ..errors import AppError
from ..models.accounts import ROLES
from ..queries import accounts as accounts_q
from ..services import auth, needs
from ..services.submissions import purge_expired


@click.group("users", cls=AppGroup, help="Staff accounts: admins, editors and area teams.")
def group() -> None:
    """Staff accounts."""


def _password(password_file: Path | None) -> str:
    """From the file (first line) or a hidden prompt, asked twice; never from the command line,
    where it would end up in the shell history and the process list."""
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _create(email: str, role: str, gemeenten: tuple[str, ...], name: str | None,
            password_file: Path | None) -> None:
    password = _password(password_file)
    try:
        with get_db().session() as s, s.begin():
            user = auth.create_user(s, email, password, role, gemeenten, name,
                                    cheap_hash=current_app.testing)
            scope = ", ".join(user.gemeente_codes) or "all gemeenten"
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created {role} {email.strip().lower()} ({scope})")
    if role in auth.SECOND_FACTOR_ROLES:
        click.echo("A second factor (TOTP) is set up at the first sign-in.")


PASSWORD_FILE = click.option("--password-file", type=click.Path(exists=True, dir_okay=False,
                                                                path_type=Path),
                             help="Read the password from the first line of this file.")
NAME = click.option("--name", help="Name shown as 'verified by' (default: Redactie).")


@group.command("create-admin")
@click.argument("email")
@PASSWORD_FILE
@NAME
def create_admin(email: str, password_file: Path | None, name: str | None) -> None:
    """Create an admin account (the first one, or another)."""
    _create(email, "admin", (), name, password_file)


@group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice([r for r in ROLES if r != "admin"]), required=True)
@click.option("--gemeente", "gemeenten", multiple=True, required=True,
              help="CBS code of a gemeente this account works for, e.g. GM0971; repeatable.")
@PASSWORD_FILE
@NAME
def add(email: str, role: str, gemeenten: tuple[str, ...], password_file: Path | None,
        name: str | None) -> None:
    """Create an editor or area-team account for one or more gemeenten."""
    _create(email, role, tuple(g.strip().upper() for g in gemeenten), name, password_file)


@group.command("list")
def list_users() -> None:
    """Every account with its role, gemeenten, second factor and state."""
    with get_db().session() as s:
        users = accounts_q.all_users(s)
        for u in users:
            state = "active" if u.is_active else "disabled"
            totp = "totp" if u.totp_enabled_at else "no totp"
            scope = ",".join(u.gemeente_codes) or "*"
            click.echo(f"{u.email}\t{u.role}\t{scope}\t{totp}\t{state}\t{u.display_name}")
        if not users:
            click.echo("no accounts; create the first with: flask --app app users "
                       "create-admin EMAIL")


def _set_active(email: str, active: bool) -> None:
    try:
        with get_db().session() as s, s.begin():
            auth.set_active(s, email, active)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc


@group.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable an account; its sessions end at once. Nothing is deleted."""
    _set_active(email, False)
    click.echo(f"disabled {email}")


@group.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Enable a disabled account again."""
    _set_active(email, True)
    click.echo(f"enabled {email}")


@group.command("reset-totp")
@click.argument("email")
def reset_totp(email: str) -> None:
    """Forget an account's second factor (a lost phone); it is set up again at sign-in."""
    try:
        with get_db().session() as s, s.begin():
            auth.reset_second_factor(s, email)
    except AppError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"the second factor of {email} will be set up again at the next sign-in")


@group.command("purge-expired")
def purge() -> None:
    """Apply the retention periods of docs/PRIVACY.md (run daily, e.g. from cron)."""
    with get_db().session() as s, s.begin():
        done = {**purge_expired(s), **needs.purge_expired(s)}
    for what, n in done.items():
        click.echo(f"{what.replace('_', ' ')}: {n}")
