"""The ``resonance`` command: a Flask CLI group over the app factory.

Owns: thin command wrappers over tested functions. ``resonance --help`` lists every
command; each feature adds its own here.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy import func, make_url, select

from resonance.app import create_app
from resonance.cli import alerts, content, digest, leads, lifecycle, logs, serving
from resonance.cli.progress import Progress
from resonance.cli.users import (
    create_demo_logins,
    echo_demo_logins,
    has_users,
    user_group,
)
from resonance.core import config, db, metrics
from resonance.core.engine import upgrade
from resonance.core.models import PRIVACY_MODES, Site
from tracker.crm import FUNNEL
from tracker.sites import SiteInvalid, create_site, embed_tag, update_site

# Set, it decides whether a command's app delivers alerts (create_command_app).
ALERTS_ENV = "RESONANCE_ALERTS_IN_WORKERS"


def create_command_app() -> Flask:
    """The app a command runs in, without the alert-delivery thread: a command
    serves no beacons, and on SQLite that thread's writes would contend with
    the command's own (``rebuild-summaries``, ``import``). ``serve`` starts
    gunicorn workers that build their own app with it; ``resonance alerts
    deliver`` delivers on demand. Setting ``RESONANCE_ALERTS_IN_WORKERS`` still
    decides (``resonance run`` as a development server with alerts)."""
    if ALERTS_ENV in os.environ:
        return create_app()
    return create_app({"ALERTS_IN_WORKERS": False})


@click.group(cls=FlaskGroup, create_app=create_command_app, add_version_option=False)
def cli() -> None:
    """Resonance: content heatmaps and engagement that join marketing and sales."""


@cli.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema to the newest migration."""
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("schema is up to date")


@cli.command("demo")
@click.option("--visitors", default=400, show_default=True, help="synthetic visitors")
@click.option("--days", default=30, show_default=True, help="days of history")
@click.option("--force", is_flag=True, help="seed even if the database has sites")
@click.option(
    "--snapshots/--no-snapshots",
    default=None,
    help="snapshot the most viewed demo pages for their heatmaps (Chromium, or "
    "the pre-rendered ones without it); default: on, off in an app under test",
)
def demo_command(visitors: int, days: int, force: bool, snapshots: bool | None) -> None:
    """Create the demo site and synthetic traffic (through the real ingest path)."""
    upgrade(current_app.config["DATABASE_URL"])
    if snapshots is None:
        snapshots = not current_app.testing
    events = seed_demo_if_empty(
        visitors=visitors, days=days, force=force, snapshots=snapshots
    )
    if events is None:
        click.echo("the database already has sites; use --force to add the demo")
    else:
        click.echo(f"demo site ready: {events} events ingested")
    echo_demo_logins(create_demo_logins(current_app.config["DEMO_SITE_KEY"]))


def seed_demo_if_empty(
    *,
    visitors: int = 400,
    days: int = 30,
    force: bool = False,
    origin: str | None = None,
    snapshots: bool = False,
) -> int | None:
    """Seed the demo into a database without sites; the number of events, or None.
    ``origin`` is where the demo pages are served (their URLs in the traffic).
    ``snapshots`` also snapshots the most viewed demo pages (off by default:
    tests seed often; the ``demo`` and ``serve`` commands turn it on) and says
    how it did: taken with Chromium, or pre-rendered ones installed."""
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

    with Progress("demo traffic", 0, unit="batches") as bar:
        where = {"origin": origin} if origin else {}
        events = seed_demo(
            session,
            key,
            visitors=visitors,
            days=days,
            progress=bar.reporter(),
            **where,
        )
    site_id = session.scalar(select(Site.id).where(Site.key == key))
    seed_stages(session, site_id, now=datetime.now(UTC))
    session.commit()
    if snapshots:
        from resonance.demo.snapshots import snapshot_demo

        done = snapshot_demo(
            session,
            current_app._get_current_object(),
            site_id,
            config.snapshot_dir(current_app),
            report=lambda note: click.echo(f"  {note}"),
        )
        click.echo(done.describe())
    return events


@cli.command("serve")
@click.option(
    "--bind", default="127.0.0.1:8000", show_default=True, help="address:port"
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="worker processes: 1 on SQLite (one writer), one per core on PostgreSQL",
)
@click.option("--threads", default=16, show_default=True, help="per process")
@click.option("--no-demo", is_flag=True, help="do not seed the demo on an empty db")
@click.option(
    "--drain",
    type=click.Choice(serving.DRAIN_MODES),
    default="auto",
    show_default=True,
    help="who stores the inbox: the workers, or a drain process beside them "
    "(auto: a process on PostgreSQL, the workers on SQLite)",
)
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS, case_sensitive=False),
    default="text",
    show_default=True,
    envvar=logs.ENV,
    show_envvar=True,
    help="json: every line printed is one JSON object (docs/operations.md)",
)
def serve_command(
    bind: str, workers: int, threads: int, no_demo: bool, drain: str, log_format: str
) -> None:
    """Serve Resonance with gunicorn: upgrade the database schema, seed the demo
    site on an empty database, then answer beacons, the snippet and the
    dashboard until stopped (Ctrl-C or SIGTERM).

    Each worker answers many requests at once (--threads) and commits the
    beacons that arrive together in one transaction, so busy sites pay for
    fewer commits. On PostgreSQL a second process stores the beacons the
    workers queue, on a core of its own. With RESONANCE_METRICS_TOKEN set,
    Prometheus metrics are served at /metrics (docs/operations.md).
    """
    if log_format == "json":
        logs.log_output_as_json("resonance.serve")
    url = current_app.config["DATABASE_URL"]
    upgrade(url)
    if not no_demo:
        events = seed_demo_if_empty(snapshots=True)
        if events is not None:
            click.echo(f"empty database: created the demo site ({events} events)")
            logins = create_demo_logins(current_app.config["DEMO_SITE_KEY"])
            echo_demo_logins(logins)
    if not has_users():
        click.echo("no dashboard user yet: resonance user add NAME --role admin")
    mode = serving.drain_mode(drain, url)
    base = f"http://{bind}"
    shown_url = make_url(url).render_as_string(hide_password=True)
    click.echo(
        "\nResonance is starting on " + base + "\n"
        f"  demo site (scroll and click, then reload the dashboard): {base}/demo/\n"
        f"  dashboard (log in first):                                 {base}/dash/\n"
        f"  snippet:                                                  {base}/r.js\n"
        f"  database: {shown_url}\n"
        f"  beacons stored by: {serving.STORED_BY[mode]}\n"
    )
    argv = [*serving.GUNICORN_ARGV, "--bind", bind, "--workers", str(workers)]
    argv += ["--worker-class", "gthread", "--threads", str(threads)]
    argv += ["--access-logfile", "-"]  # its format: resonance.cli.gunicorn_conf
    sys.stdout.flush()
    env = os.environ | serving.worker_environment(mode)
    env |= metrics.serve_environment() | {logs.ENV: log_format}
    sys.exit(serving.run(argv, env, drain_process=mode == "process"))


@cli.group("site")
def site_group() -> None:
    """Add, list and edit the sites whose pages send beacons."""


def _settings_options(command):
    """The options ``site add`` and ``site edit`` share (one per setting)."""
    options = [
        click.option(
            "--origin",
            "origins",
            multiple=True,
            help="allowed origin scheme://host[:port] (repeat; edit replaces the list)",
        ),
        click.option("--privacy", type=click.Choice(PRIVACY_MODES), default=None),
        click.option(
            "--reached-sales-stage",
            type=click.Choice(FUNNEL),
            default=None,
            help="a lead reached sales at this stage or a later one",
        ),
        click.option("--timezone", default=None, help="IANA zone, e.g. Europe/Paris"),
        click.option(
            "--internal-domain",
            "internal_domains",
            multiple=True,
            help="e-mail domain of colleagues (repeat; edit replaces the list)",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings_error(exc: SiteInvalid) -> click.BadParameter:
    field, message = next(iter(exc.errors.items()))
    hint = "--" + {"origins": "origin", "internal_domains": "internal-domain"}.get(
        field, field.replace("_", "-")
    )
    return click.BadParameter(message, param_hint=hint)


@site_group.command("add")
@click.argument("name")
@_settings_options
@click.option("--key", default=None, help="site key (random when omitted)")
def site_add(
    name: str,
    origins: tuple[str, ...],
    privacy: str | None,
    reached_sales_stage: str | None,
    timezone: str | None,
    internal_domains: tuple[str, ...],
    key: str | None,
) -> None:
    """Add a site and print its embed tag."""
    session = db.get_session()
    try:
        site = create_site(
            session,
            name,
            key=key,
            origins=list(origins),
            privacy_mode=privacy or "anonymous",
            reached_sales_stage=reached_sales_stage,
            timezone=timezone,
            internal_domains=list(internal_domains),
        )
    except SiteInvalid as exc:
        raise _settings_error(exc) from None
    session.commit()
    click.echo(f"site {site.name!r} added with key {site.key}")
    click.echo(embed_tag("https://YOUR-HOST", site.key))


@site_group.command("edit")
@click.argument("key")
@click.option("--name", default=None, help="new name")
@_settings_options
def site_edit(
    key: str,
    name: str | None,
    origins: tuple[str, ...],
    privacy: str | None,
    reached_sales_stage: str | None,
    timezone: str | None,
    internal_domains: tuple[str, ...],
) -> None:
    """Change the settings of the site KEY; options left out stay as they are."""
    session = db.get_session()
    site = session.scalar(select(Site).where(Site.key == key))
    if site is None:
        raise click.BadParameter(f"no site has the key {key!r}", param_hint="KEY")
    try:
        update_site(
            session,
            site,
            name=name,
            origins=list(origins) or None,
            privacy_mode=privacy,
            reached_sales_stage=reached_sales_stage,
            timezone=timezone,
            internal_domains=list(internal_domains) or None,
        )
    except SiteInvalid as exc:
        raise _settings_error(exc) from None
    session.commit()
    click.echo(_site_line(site))


@site_group.command("list")
@click.option("--long", "long_", is_flag=True, help="also stage, time zone, domains")
def site_list(long_: bool) -> None:
    """List sites: key, privacy mode, allowed origins, name (tab-separated)."""
    for site in db.get_session().scalars(select(Site).order_by(Site.id)):
        click.echo(_site_line(site, long_))


def _site_line(site: Site, long_: bool = False) -> str:
    origins = " ".join(site.allowed_origins) or "-"
    fields = [site.key, site.privacy_mode, origins, site.name]
    if long_:
        domains = " ".join(site.internal_domains or ()) or "-"
        fields += [site.reached_sales_stage, site.timezone, domains]
    return "\t".join(fields)


for _command in (*content.commands, *leads.commands, *lifecycle.commands, user_group):
    cli.add_command(_command)
cli.add_command(digest.digest_group)
cli.add_command(alerts.alerts_group)
