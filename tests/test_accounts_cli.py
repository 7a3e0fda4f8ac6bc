"""``resonance group-accounts``: leads stored before accounts existed are
grouped once, and a second run changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from resonance.cli import cli
from resonance.core.models import Account, Lead

AT = datetime(2026, 11, 1, 9, 0)


def _old_lead(session, site, email: str) -> None:
    """A lead as a database upgraded to accounts holds it: no account yet."""
    session.add(Lead(site_id=site.id, email=email, created_at=AT))
    session.commit()


def test_group_accounts_groups_the_leads_stored_before_accounts(runner, session, site):
    for email in ("ann@redwing.example", "bo@redwing.example", "cy@gmail.com"):
        _old_lead(session, site, email)

    first = runner.invoke(cli, ["group-accounts", "--site", "blog"])
    again = runner.invoke(cli, ["group-accounts", "--site", "blog"])

    assert first.exit_code == 0, first.output
    assert first.output.strip() == "2 leads grouped into accounts"
    assert again.output.strip() == "0 leads grouped into accounts"
    session.expire_all()
    grouped = session.execute(
        select(Lead.email, Account.key)
        .outerjoin(Account, Account.id == Lead.account_id)
        .order_by(Lead.email)
    ).all()
    assert grouped == [
        ("ann@redwing.example", "domain:redwing.example"),
        ("bo@redwing.example", "domain:redwing.example"),
        ("cy@gmail.com", None),
    ]


def test_group_accounts_names_an_unknown_site(runner):
    result = runner.invoke(cli, ["group-accounts", "--site", "nope"])

    assert result.exit_code != 0
    assert "nope" in result.output
