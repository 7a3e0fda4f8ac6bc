"""``resonance user ...``: add, list, disable and enable users, reset passwords,
grant and revoke sites; and the demo logins ``serve`` and ``demo`` create.

Owns: thin wrappers over :mod:`resonance.auth.users`. Generated passwords are
printed once and never stored in clear.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from resonance.auth import users
from resonance.core.db import get_session
from resonance.core.models import ROLES, User

DEMO_ROLES = ("admin", "marketer", "sales")


@click.group("user", cls=AppGroup)
def user_group() -> None:
    """Dashboard users: who may log in, with which role, to which sites."""


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password read from stdin, or a generated one (True: print it)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return users.new_password(), True


def _run(action) -> None:
    """Run ``action`` in the command's session; a refusal is a clean CLI error."""
    session = get_session()
    try:
        action(session)
        session.commit()
    except users.UserError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--site", "sites", multiple=True, help="site key it may see (repeat)")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@click.option("--email", default=None, help="where the weekly digest and alerts go")
def user_add(
    username: str,
    role: str,
    sites: tuple[str, ...],
    password_stdin: bool,
    email: str | None,
):
    """Add a user; prints a generated password once unless --password-stdin."""
    password, show = _password(password_stdin)

    def add(session) -> None:
        users.create_user(
            session, username, role, password=password, sites=sites, email=email
        )

    _run(add)
    click.echo(f"user {username.strip().lower()!r} added ({role})")
    if show:
        click.echo(f"password (shown once): {password}")


@user_group.command("list")
def user_list() -> None:
    """List users: name, role, enabled, sites, last login, e-mail (with
    "(no digest)" when they unsubscribed)."""
    for u in users.list_users(get_session()):
        sites = "*" if u.role == "admin" else (" ".join(u.sites) or "-")
        state = "enabled" if u.enabled else "disabled"
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-"
        email = (u.email or "-") + (" (no digest)" if u.digest_opt_out else "")
        click.echo(f"{u.username}\t{u.role}\t{state}\t{sites}\t{last}\t{email}")


@user_group.command("email")
@click.argument("username")
@click.argument("address", required=False, default="")
def user_email(username: str, address: str) -> None:
    """Set where a user's digest and alerts go (no ADDRESS: remove it)."""
    _run(lambda s: users.set_email(users.find_user(s, username), address))
    click.echo(
        f"e-mail of {username!r} set to {address.strip()}"
        if address.strip()
        else f"e-mail of {username!r} removed"
    )


@user_group.command("digest")
@click.argument("username")
@click.argument("state", type=click.Choice(["on", "off"]))
def user_digest(username: str, state: str) -> None:
    """Subscribe a user to the weekly digest again (on) or unsubscribe (off)."""
    _run(lambda s: users.set_digest(users.find_user(s, username), state == "on"))
    click.echo(f"weekly digest for {username!r}: {state}")


@user_group.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user: their sessions end at once, login is refused."""
    _run(lambda session: users.set_enabled(users.find_user(session, username), False))
    click.echo(f"user {username!r} disabled")


@user_group.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Enable a disabled user again."""
    _run(lambda session: users.set_enabled(users.find_user(session, username), True))
    click.echo(f"user {username!r} enabled")


@user_group.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
def user_password(username: str, password_stdin: bool) -> None:
    """Reset a password (generated and printed once unless --password-stdin);
    the user's open sessions end."""
    password, show = _password(password_stdin)

    def reset(session) -> None:
        users.set_password(session, users.find_user(session, username), password)

    _run(reset)
    click.echo(f"password of {username!r} reset")
    if show:
        click.echo(f"password (shown once): {password}")


@user_group.command("grant")
@click.argument("username")
@click.option("--site", "sites", multiple=True, required=True, help="site key")
def user_grant(username: str, sites: tuple[str, ...]) -> None:
    """Let a user see more sites."""
    _run(lambda s: users.grant_sites(s, users.find_user(s, username), list(sites)))
    click.echo(f"{username!r} may see {', '.join(sites)}")


@user_group.command("revoke")
@click.argument("username")
@click.option("--site", "sites", multiple=True, required=True, help="site key")
def user_revoke(username: str, sites: tuple[str, ...]) -> None:
    """Take sites away from a user."""
    _run(lambda s: users.revoke_sites(s, users.find_user(s, username), list(sites)))
    click.echo(f"{username!r} may no longer see {', '.join(sites)}")


def create_demo_logins(site_key: str) -> list[tuple[str, str, str]]:
    """On a database without users: one user per role for the demo site, with
    random passwords. Returns (username, role, password) to print once; empty
    when users exist already."""
    if has_users():
        return []
    session = get_session()
    created = []
    for role in DEMO_ROLES:
        password = users.new_password()
        users.create_user(session, role, role, password=password, sites=[site_key])
        created.append((role, role, password))
    session.commit()
    return created


def has_users() -> bool:
    """Whether anybody can log in to the dashboard yet."""
    return bool(get_session().scalar(select(func.count()).select_from(User)))


def echo_demo_logins(logins: list[tuple[str, str, str]]) -> None:
    """Print the demo logins (the only time their passwords are shown)."""
    if not logins:
        return
    click.echo("demo logins (passwords shown once; reset: resonance user password):")
    for username, role, password in logins:
        click.echo(f"  {role:<9} user {username:<9} password {password}")
