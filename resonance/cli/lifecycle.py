"""Data lifecycle commands: erase a person, purge old raw events, roll days up,
rebuild the summaries, store the beacons waiting in the inbox.

Thin wrappers: the work is in ``tracker.lifecycle``, ``tracker.rollups``,
``tracker.summaries`` and ``tracker.inbox``. Each command commits once, so an
erasure or a purge is all or nothing.
"""

from __future__ import annotations

import getpass
import os
import signal
import threading
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from resonance.cli import logs
from resonance.core import db, dialect
from resonance.core.clock import naive_utc
from resonance.core.models import Site
from resonance.core.unavailable import RETRY_AFTER_S, UNAVAILABLE, first_line
from tracker import inbox, lifecycle, rollups, summaries, table_stats


def _maintenance_session() -> Session:
    """The command's session, without the statement timeout that bounds requests
    (a first purge of a long history may take minutes); the lock timeout stays,
    so a command stuck behind a lock fails instead of stalling the collector."""
    session = db.get_session()
    if dialect.name(session) == "postgresql":
        session.execute(text("SET LOCAL statement_timeout = 0"))
    return session


@contextmanager
def _database_errors():
    """A busy or unreachable database is a one-line error, not a traceback; the
    transaction is rolled back, so nothing was changed."""
    try:
        yield
    except OperationalError as exc:
        db.get_session().rollback()
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise click.ClickException(
            f"nothing changed, the database said: {first}"
        ) from None


def _actor() -> str:
    """Who ran the command, for the audit row: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or f"uid {os.getuid()}"


@click.command("erase")
@click.option("--email", default=None, help="the person's e-mail address")
@click.option("--crm-id", default=None, help="the person's id in the CRM")
@click.option("--site", "site_key", default=None, help="only this site's lead")
@click.option("--by", "actor", default=None, help="who asked (default: OS user)")
@with_appcontext
def erase_command(
    email: str | None, crm_id: str | None, site_key: str | None, actor: str | None
) -> None:
    """Erase a lead and everything linked to them, in one transaction.

    Removes the lead (and leads merged with it), the browsers linked to it with
    their page views, clicks, sections and identify calls, stage history and
    notes. Leaves an audit row with the SHA-256 of the key and the counts.
    Beacons waiting in the inbox are stored first, so that they are erased too.
    """
    with _database_errors():
        inbox.drain_all(current_app.extensions["resonance.sessionmaker"])
        session = _maintenance_session()
        site_id = None
        if site_key is not None:
            site_id = session.scalar(select(Site.id).where(Site.key == site_key))
            if site_id is None:
                raise click.BadParameter(
                    f"no site with key {site_key!r}", param_hint="--site"
                )
        try:
            result = lifecycle.erase(
                session,
                email=email,
                crm_id=crm_id,
                site_id=site_id,
                actor=actor or _actor(),
                now=naive_utc(),
            )
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        session.commit()
    if not result.removed["leads"]:
        click.echo("no lead matched; the request is logged", err=True)
    counts = ", ".join(f"{table} {n}" for table, n in result.removed.items() if n)
    click.echo(f"erasure {result.erasure_id}: removed {counts or 'nothing'}")


@click.command("drain")
@click.option("--status", is_flag=True, help="only say what waits, store nothing")
@click.option("--follow", is_flag=True, help="keep storing what arrives, until stopped")
@with_appcontext
def drain_command(status: bool, follow: bool) -> None:
    """Store the beacons waiting in the inbox now.

    The collector stores them itself when it has time; this is for a deployment
    being stopped, or to see what waits (--status): beacons to store, the oldest,
    and beacons set aside because they could not be stored. With --follow it is
    the process that stores the inbox on its own core, for workers run with
    RESONANCE_DRAIN_IN_WORKERS=false (and RESONANCE_INBOX_FROM_GROUP=1).
    """
    sessions = current_app.extensions["resonance.sessionmaker"]
    if follow:
        logs.from_environment("resonance.drain")  # RESONANCE_LOG_FORMAT=json
        _follow(sessions)
        return
    with _database_errors():
        stored = 0 if status else inbox.drain_all(sessions)
        with sessions() as session:
            left = inbox.waiting(session)
    if not status:
        click.echo(f"stored {stored} beacons")
    oldest = (
        f", the oldest from {left.oldest:%Y-%m-%d %H:%M:%S} UTC" if left.oldest else ""
    )
    click.echo(f"waiting: {left.beacons} beacons{oldest}; set aside: {left.refused}")


def _follow(sessions, idle_s: float = 0.05) -> None:
    """Store the inbox as it fills, a chunk at a time, until SIGINT or SIGTERM.

    The signal only asks to stop: the chunk being stored is committed first.
    Raised inside a statement instead (the default for SIGINT), it could land in
    the database driver's own clean-up and end the process with a traceback.
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    while not stop.is_set():
        try:
            taken = inbox.drain(sessions)
        except UNAVAILABLE as exc:
            click.echo(f"the database is away ({first_line(exc)}); retrying", err=True)
            stop.wait(RETRY_AFTER_S)
            continue
        if not taken:  # empty (0), or another process is draining (None)
            stop.wait(idle_s)
    click.echo("stopped")


@click.command("purge")
@click.option(
    "--older-than",
    required=True,
    metavar="AGE",
    help="delete raw events older than this: 400d, 8w, 13m or 2y (m = months)",
)
@with_appcontext
def purge_command(older_than: str) -> None:
    """Delete raw events past the retention window, after rolling their days up.

    Daily per-content figures keep long-term numbers exact; yesterday's and older
    anonymous-hash salts are deleted too. Run it daily (cron, systemd timer).
    """
    try:
        lifecycle.parse_window(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    with _database_errors():
        session = _maintenance_session()
        deleted = lifecycle.purge(session, older_than, naive_utc())
        session.commit()
    written = deleted.pop("content_daily")
    counts = ", ".join(f"{table} {n}" for table, n in deleted.items() if n)
    click.echo(f"rolled up {written} content-days; deleted {counts or 'nothing'}")
    oldest = lifecycle.oldest_event(session)
    click.echo(f"oldest page view kept: {oldest or 'none'}")


@click.command("rollup")
@with_appcontext
def rollup_command() -> None:
    """Refresh the daily per-content figures of every complete day (idempotent)."""
    with _database_errors():
        session = _maintenance_session()
        written = rollups.refresh(session, naive_utc().date())
        session.commit()
    click.echo(f"rolled up {written} content-days")


@click.command("rebuild-summaries")
@with_appcontext
def rebuild_summaries_command() -> None:
    """Recompute the dashboard's summaries from the raw events (idempotent).

    The collector keeps them as it stores events; run this after loading events
    by other means (a restore, a bulk copy). Days already purged keep theirs.
    """
    with _database_errors():
        session = _maintenance_session()
        rows = summaries.rebuild(session)
        session.commit()
        # Fresh statistics (PostgreSQL): planned from a table's empty or
        # much smaller past, the content list ran 5x slower (RESULTS.md).
        table_stats.refresh(session)
    click.echo(f"rebuilt {rows} summary rows")


commands: list[click.Command] = [
    erase_command,
    drain_command,
    purge_command,
    rollup_command,
    rebuild_summaries_command,
]
