"""``resonance alerts …``: deliver the alert outbox from the command line.

A thin wrapper over ``tracker.outbox``. The server delivers alerts itself (a
thread in each worker, ``RESONANCE_ALERTS_IN_WORKERS``); this command is for a
server run with that off, or to flush the outbox by hand. Several deliverers at
once are safe: each row is leased to one of them.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from resonance.core.mail import MailSettings
from tracker import outbox


@click.group("alerts")
def alerts_group() -> None:
    """Alerts to leads' owners: deliver the outbox."""


@alerts_group.command("deliver")
@click.option(
    "--follow", is_flag=True, help="keep delivering, every second, until stopped"
)
@with_appcontext
def deliver_command(follow: bool) -> None:
    """Send the due alert e-mails and webhooks; with --follow, keep going."""
    mail = MailSettings.from_config(current_app.config)
    sessionmaker = current_app.extensions["resonance.sessionmaker"]
    if follow:
        click.echo("delivering alerts every second; Ctrl-C to stop")
        worker = outbox.Worker(sessionmaker, mail)
        try:
            worker.run_forever()
        except KeyboardInterrupt:
            return
    totals = outbox.Round()
    while (done := outbox.deliver_due(sessionmaker, mail)).total:
        totals.sent += done.sent
        totals.retried += done.retried
        totals.failed += done.failed
    click.echo(
        f"{len(totals.sent)} sent, {len(totals.retried)} to retry,"
        f" {len(totals.failed)} failed"
    )
