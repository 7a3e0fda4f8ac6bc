"""Content catalog commands: crawl, inject, snapshot.

Thin wrappers: they turn options into calls of ``tracker.catalog``,
``tracker.inject`` and ``tracker.snapshots``, commit, and print what happened.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from resonance.cli.progress import Progress
from resonance.core import config, db
from resonance.core.models import Site
from tracker.catalog import crawl, plan_sources
from tracker.inject import inject_directory
from tracker.snapshots import DEFAULT_WIDTHS, SnapshotError, take_snapshots
from tracker.urls import BadUrl, clean_url, origin


def _site_id(session: Session, key: str) -> int:
    site_id = session.scalar(select(Site.id).where(Site.key == key))
    if site_id is None:
        raise click.BadParameter(f"no site has the key {key!r}", param_hint="--site")
    return site_id


@click.command("crawl")
@click.argument("sources", nargs=-1, required=True)
@click.option("--site", "site_key", required=True, help="key of the site")
@click.option(
    "--base-url",
    help="URL of a directory's root: index.html → /, a/b.html → /a/b",
)
@click.option("--timeout", default=10.0, show_default=True, help="seconds per page")
@with_appcontext
def crawl_command(
    sources: tuple[str, ...], site_key: str, base_url: str | None, timeout: float
) -> None:
    """Record the title, words and h1–h3 sections of a site's pages.

    SOURCES: page URLs, a sitemap (URL or file ending in .xml), a file with one
    URL a line, or a directory of HTML files (with --base-url).
    """
    session = db.get_session()
    site_id = _site_id(session, site_key)
    try:
        pages, failed = plan_sources(sources, base_url=base_url, timeout=timeout)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SOURCES") from None
    for source, reason in failed:
        click.echo(f"{source} skipped: {reason}", err=True)
    with Progress("crawl", len(pages), unit="pages") as bar:
        result = crawl(session, site_id, pages, timeout=timeout, report=bar.reporter())
    skipped = len(result.failed) + len(failed)
    click.echo(f"crawled {len(result.stored)} pages, {skipped} skipped")
    if not result.stored and skipped:
        raise SystemExit(1)


@click.command("inject")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--site", "site_key", required=True, help="key of the site")
@click.option("--host", required=True, help="where Resonance runs: https://…")
def inject_command(directory: Path, site_key: str, host: str) -> None:
    """Add the Resonance tag before </head> of every .html/.htm file in DIRECTORY.

    Idempotent: an existing tag gets the new host and key, never a twin.
    """
    try:
        report = inject_directory(directory, host, site_key)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    for path in report.skipped:
        click.echo(f"{path}: no <head>, skipped", err=True)
    click.echo(
        f"{len(report.changed)} changed, {len(report.up_to_date)} already up to date, "
        f"{len(report.skipped)} skipped (no <head>)"
    )


def _widths(_ctx, _param, value: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter("pixel widths with commas, like 375,1440") from None
    if not widths or any(not 200 <= width <= 3840 for width in widths):
        raise click.BadParameter("each width must be between 200 and 3840 px")
    return tuple(dict.fromkeys(widths))


@click.command("snapshot")
@click.argument("url")
@click.option("--site", "site_key", help="key of the site (default: by URL origin)")
@click.option(
    "--widths",
    default=",".join(map(str, DEFAULT_WIDTHS)),
    show_default=True,
    callback=_widths,
    help="viewport widths in px",
)
@with_appcontext
def snapshot_command(url: str, site_key: str | None, widths: tuple[int, ...]) -> None:
    """Take full-page screenshots of URL for its click heatmaps."""
    session = db.get_session()
    try:
        clean_url(url)
        site_id = (
            _site_id(session, site_key) if site_key else _site_by_origin(session, url)
        )
        directory = config.snapshot_dir(current_app)
        with Progress("snapshot", len(widths), unit="widths") as bar:
            snapshots = take_snapshots(
                session,
                site_id,
                url,
                widths=widths,
                directory=directory,
                report=bar.reporter(),
            )
    except BadUrl as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    for snapshot in snapshots:
        click.echo(
            f"{snapshot.width_px} px: {directory / snapshot.image} "
            f"({snapshot.height_px} px high)"
        )


def _site_by_origin(session: Session, url: str) -> int:
    """The one site that allows the URL's origin; --site is needed otherwise."""
    wanted = origin(url)
    ids = [
        site.id
        for site in session.scalars(select(Site))
        if wanted in (site.allowed_origins or ())
    ]
    if len(ids) != 1:
        raise click.UsageError(f"{len(ids)} sites allow {wanted}: name one with --site")
    return ids[0]


commands: list[click.Command] = [crawl_command, inject_command, snapshot_command]
