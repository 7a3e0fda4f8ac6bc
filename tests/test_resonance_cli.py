"""The ``resonance`` command group, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

from conftest import count
from sqlalchemy import select

from resonance.cli import cli
from resonance.core.models import (
    BotHit,
    Click,
    Identify,
    Lead,
    PageSection,
    PageView,
    Site,
    StageChange,
)


def test_help_lists_every_command():
    result = subprocess.run(
        [sys.executable, "-c", "from resonance.cli import cli; cli()", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )

    for command in ("migrate", "demo", "serve", "site"):
        assert f"\n  {command} " in result.stdout


def test_site_add_prints_the_embed_tag_and_list_shows_it(runner, session):
    added = runner.invoke(
        cli,
        [
            "site",
            "add",
            "Company blog",
            "--origin",
            "https://Blog.Example.com/",
            "--privacy",
            "consented",
            "--key",
            "blog1",
        ],
    )
    listed = runner.invoke(cli, ["site", "list"])

    assert added.exit_code == 0, added.output
    assert 'data-site="blog1"' in added.output
    assert listed.output.strip() == (
        "blog1\tconsented\thttps://blog.example.com\tCompany blog"
    )


def test_site_add_refuses_a_bad_origin(runner, session):
    result = runner.invoke(cli, ["site", "add", "Blog", "--origin", "blog.example"])

    assert result.exit_code == 2
    assert "is not an origin" in result.output
    assert count(session, Site) == 0


def test_demo_seeds_an_empty_database_through_ingest(runner, session):
    # A week of 60 visitors: 4-6 of their 8 leads reach sales whatever the day it
    # runs. Sessions prefer weekdays, and with 25 visitors over 5 days no lead
    # reached sales on five weekdays out of seven.
    result = runner.invoke(cli, ["demo", "--visitors", "60", "--days", "7"])

    assert result.exit_code == 0, result.output
    site = session.scalars(select(Site)).one()
    assert (site.key, site.privacy_mode) == ("demo", "always")
    assert count(session, PageView) > 25
    assert count(session, Click) > 0
    assert count(session, PageSection) > 0
    assert count(session, Identify) > 0
    assert count(session, BotHit) == 0
    leads = session.scalars(select(Lead)).all()
    assert leads and all(lead.name and lead.company and lead.owner for lead in leads)
    assert count(session, StageChange) >= 2 * len(leads)
    assert any(lead.reached_sales_at for lead in leads)


def test_demo_leaves_a_database_with_sites_alone(runner, session, site):
    result = runner.invoke(cli, ["demo", "--visitors", "5"])

    assert "already has sites" in result.output
    assert count(session, PageView) == 0
