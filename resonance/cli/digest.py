"""``resonance digest send``: the weekly digest by e-mail (docs/digests.md).

Owns: the command line over :func:`dashboard.digests.send_all`; one line per
user (sent, would send, skipped and why, failed and why), then a total. Run by
``resonance-digest.timer`` on Mondays at 07:00 (docs/deploy/).
"""

from __future__ import annotations

from datetime import date, datetime

import click
from flask.cli import AppGroup

from dashboard.digests import Outcome, send_all
from resonance.core.clock import naive_utc
from resonance.core.db import get_session


@click.group("digest", cls=AppGroup)
def digest_group() -> None:
    """The weekly digest: what each user should hear about last week."""


def _day(text: str | None) -> date:
    if not text:
        return naive_utc().date()
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from None


def _echo(outcome: Outcome) -> None:
    click.echo(f"{outcome.username}\t{outcome.state}\t{outcome.detail}")


@digest_group.command("send")
@click.option(
    "--date", "day", default=None, help="the run's date (default: today, UTC)"
)
@click.option("--dry-run", is_flag=True, help="say who would get what; send nothing")
@click.option("--user", "username", default=None, help="only this user")
@click.option("--force", is_flag=True, help="send again to users sent this week")
def send_command(day: str | None, dry_run: bool, username: str | None, force: bool):
    """Send each user their digest of the 7 days before --date (each site's
    days in its time zone). Users without an e-mail, unsubscribed, already sent
    that week or with nothing to read are skipped and said so."""
    run_day = _day(day)
    outcomes = send_all(
        get_session(),
        run_day,
        dry_run=dry_run,
        username=username,
        force=force,
        report=_echo,
    )
    if username and not outcomes:
        raise click.ClickException(f"no enabled user {username!r}")
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.state] = counts.get(outcome.state, 0) + 1
    week = date.fromordinal(run_day.toordinal() - 7)
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    click.echo(f"digest for the week of {week.isoformat()}: {summary or 'no users'}")
    if counts.get("failed"):
        raise SystemExit(1)


commands = (digest_group,)
