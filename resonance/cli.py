"""The ``resonance`` command: a Flask CLI group over the app factory.

Owns: thin command wrappers over tested functions. ``resonance --help`` lists every
command; each feature adds its own here.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import FlaskGroup
from sqlalchemy import func, select

from resonance import ROOT, create_app, db
from resonance.commands import content, leads
from tracker.models import PRIVACY_MODES, Site
from tracker.sites import create_site


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def cli() -> None:
    """Resonance: content heatmaps and engagement that join marketing and sales."""


@cli.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema to the newest migration."""
    db.upgrade(current_app.config["DATABASE_URL"])
    click.echo("schema is up to date")


@cli.command("demo")
@click.option("--visitors", default=400, show_default=True, help="synthetic visitors")
@click.option("--days", default=30, show_default=True, help="days of history")
@click.option("--force", is_flag=True, help="seed even if the database has sites")
def demo_command(visitors: int, days: int, force: bool) -> None:
    """Create the demo site and synthetic traffic (through the real ingest path)."""
    db.upgrade(current_app.config["DATABASE_URL"])
    events = seed_demo_if_empty(visitors=visitors, days=days, force=force)
    if events is None:
        click.echo("the database already has sites; use --force to add the demo")
    else:
        click.echo(f"demo site ready: {events} events ingested")


def seed_demo_if_empty(
    *, visitors: int = 400, days: int = 30, force: bool = False
) -> int | None:
    """Seed the demo into a database without sites; the number of events, or None."""
    from resonance.demo.crm import seed_stages
    from resonance.demo.traffic import seed_demo

    session = db.get_session()
    if not force and session.scalar(select(func.count()).select_from(Site)):
        return None
    key = current_app.config["DEMO_SITE_KEY"]
    if session.scalar(select(Site.id).where(Site.key == key)) is None:
        create_site(
            session,
            "Northwind Pipeline (demo)",
            origins=["http://127.0.0.1:8000", "http://localhost:8000"],
            privacy_mode="always",
            key=key,
        )
        session.commit()

    def progress(done: int, total: int) -> None:
        if done == total or done % max(total // 10, 1) == 0:
            click.echo(f"  demo traffic: {done}/{total} batches", err=True)

    events = seed_demo(session, key, visitors=visitors, days=days, progress=progress)
    site_id = session.scalar(select(Site.id).where(Site.key == key))
    seed_stages(session, site_id, now=datetime.now(UTC))
    session.commit()
    return events


@cli.command("serve")
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="processes; one writes SQLite best (bench/README.md)",
)
@click.option("--threads", default=16, show_default=True, help="per process")
@click.option("--no-demo", is_flag=True, help="do not seed the demo on an empty db")
def serve_command(bind: str, workers: int, threads: int, no_demo: bool) -> None:
    """Upgrade the schema, seed the demo on an empty database, run gunicorn.

    gthread workers with many threads: each process commits the beacons that
    arrive together in one transaction (``tracker/writer.py``), so the more
    requests a process holds at once, the fewer commits; bench/README.md has the
    measurements behind the defaults.
    """
    url = current_app.config["DATABASE_URL"]
    db.upgrade(url)
    if not no_demo:
        events = seed_demo_if_empty()
        if events is not None:
            click.echo(f"empty database: created the demo site ({events} events)")
    base = f"http://{bind}"
    click.echo(
        "\nResonance is starting on " + base + "\n"
        f"  demo site (scroll and click, then reload the dashboard): {base}/demo/\n"
        f"  dashboard:                                                {base}/dash/\n"
        f"  snippet:                                                  {base}/r.js\n"
        f"  database: {url}\n"
    )
    gunicorn = shutil.which("gunicorn") or "gunicorn"
    argv = [gunicorn, "wsgi:app", "--bind", bind, "--workers", str(workers)]
    argv += ["--worker-class", "gthread", "--threads", str(threads)]
    argv += ["--access-logfile", "-"]
    sys.stdout.flush()
    os.chdir(ROOT)  # where wsgi.py is
    os.execvp(argv[0], argv)


@cli.group("site")
def site_group() -> None:
    """Add and list the sites whose pages send beacons."""


@site_group.command("add")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, help="allowed origin (repeat)")
@click.option(
    "--privacy",
    type=click.Choice(PRIVACY_MODES),
    default="anonymous",
    show_default=True,
)
@click.option("--key", default=None, help="site key (random when omitted)")
def site_add(name: str, origins: tuple[str, ...], privacy: str, key: str | None):
    """Add a site and print its embed tag."""
    session = db.get_session()
    try:
        site = create_site(
            session, name, origins=list(origins), privacy_mode=privacy, key=key
        )
        session.commit()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"site {site.name!r} added with key {site.key}")
    click.echo(
        f'<script defer src="https://YOUR-HOST/r.js" data-site="{site.key}"></script>'
    )


@site_group.command("list")
def site_list() -> None:
    """List sites: key, privacy mode, allowed origins, name."""
    for site in db.get_session().scalars(select(Site).order_by(Site.id)):
        origins = " ".join(site.allowed_origins) or "-"
        click.echo(f"{site.key}\t{site.privacy_mode}\t{origins}\t{site.name}")


for _command in (*content.commands, *leads.commands):
    cli.add_command(_command)
