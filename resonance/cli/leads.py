"""Leads and CRM commands: API tokens, CSV import.

Thin wrappers: the work is in ``tracker.tokens`` and ``tracker.leads_import``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from resonance.cli.progress import Progress
from resonance.core import db
from resonance.core.clock import naive_utc
from resonance.core.models import Site
from tracker.accounts import group_site
from tracker.leads_import import MAPPABLE, ImportFileError, import_leads
from tracker.tokens import create_token, list_tokens, revoke_token


def _site_id(key: str) -> int:
    """The id of the site with ``key``, or a usage error naming it."""
    site_id = db.get_session().scalar(select(Site.id).where(Site.key == key))
    if site_id is None:
        raise click.BadParameter(f"no site with key {key!r}", param_hint="--site")
    return site_id


@click.group("token", cls=AppGroup)
def token_group() -> None:
    """Create, list and revoke bearer tokens of the CRM API (/api)."""


@token_group.command("create")
@click.option("--site", "site_key", required=True, help="key of the site")
@click.option("--name", required=True, help="what the token is for, e.g. HubSpot")
def token_create(site_key: str, name: str) -> None:
    """Create a token for one site and print it (only this once)."""
    session = db.get_session()
    try:
        token = create_token(session, _site_id(site_key), name, naive_utc())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from None
    session.commit()
    click.echo(token)
    click.echo(
        "This token is shown once and cannot be recovered: store it now. "
        "Send it as 'Authorization: Bearer <token>'.",
        err=True,
    )


@token_group.command("list")
@click.option("--site", "site_key", default=None, help="only this site's tokens")
def token_list(site_key: str | None) -> None:
    """List tokens: id, site, name, created, last used, revoked (never secrets)."""
    session = db.get_session()
    site_id = _site_id(site_key) if site_key else None
    keys = {row.id: row.key for row in session.execute(select(Site.id, Site.key))}
    for token in list_tokens(session, site_id):
        state = f"revoked {_day(token.revoked_at)}" if token.revoked_at else "active"
        click.echo(
            "\t".join(
                [
                    str(token.id),
                    keys.get(token.site_id, "?"),
                    token.name,
                    f"created {_day(token.created_at)}",
                    f"used {_day(token.last_used_at)}",
                    state,
                ]
            )
        )


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


@token_group.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id (see ``resonance token list``)."""
    session = db.get_session()
    if not revoke_token(session, token_id, naive_utc()):
        raise click.BadParameter(
            f"no active token with id {token_id}", param_hint="TOKEN_ID"
        )
    session.commit()
    click.echo(f"token {token_id} revoked")


def _mapping(values: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for value in values:
        field, sep, column = value.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise click.BadParameter(
                f"{value!r}: use FIELD=COLUMN, e.g. email=E-mail", param_hint="--map"
            )
        mapping[field.strip()] = column.strip()
    return mapping


@click.command("import-leads")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", "site_key", required=True, help="key of the site")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=COLUMN",
    help=f"read FIELD from COLUMN (repeat); fields: {', '.join(MAPPABLE)}",
)
@with_appcontext
def import_leads_command(file: Path, site_key: str, maps: tuple[str, ...]) -> None:
    """Import leads and stages from a CSV export (HubSpot's headers work as-is).

    Bad rows are reported with their line number and skipped; importing the same
    file again changes nothing.
    """
    session = db.get_session()
    site_id = _site_id(site_key)
    try:
        with Progress("import-leads", 0, unit="rows") as bar:
            summary = import_leads(
                session,
                site_id,
                file,
                mapping=_mapping(maps),
                now=naive_utc(),
                report=bar.reporter(),
            )
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    for error in summary.errors:
        click.echo(error, err=True)
    click.echo(summary.totals())


@click.command("group-accounts")
@click.option("--site", "site_key", required=True, help="key of the site")
@with_appcontext
def group_accounts_command(site_key: str) -> None:
    """Group into accounts the site's leads stored before accounts existed.

    Leads are grouped as they are stored or changed; this is for the ones that
    were already there when the database was upgraded. Running it again
    changes nothing.
    """
    session = db.get_session()
    grouped = group_site(session, _site_id(site_key), naive_utc())
    session.commit()
    click.echo(f"{grouped} lead{'' if grouped == 1 else 's'} grouped into accounts")


commands: list[click.Command] = [
    token_group,
    import_leads_command,
    group_accounts_command,
]
