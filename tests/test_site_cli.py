"""``resonance site add/list/edit`` on SQLite and PostgreSQL: the same checks as
the sites page (tracker.sites), errors named after the option."""

from __future__ import annotations

from conftest import count
from sqlalchemy import select

from resonance.cli import cli
from resonance.core.models import Site


def _add(runner, *args: str):
    return runner.invoke(cli, ["site", "add", *args])


def test_site_add_takes_every_setting_and_prints_both_tag_lines(runner, session):
    result = _add(
        runner,
        "Docs",
        "--key",
        "docs",
        "--origin",
        "https://docs.example.com",
        "--origin",
        "http://localhost:8080",
        "--privacy",
        "always",
        "--reached-sales-stage",
        "mql",
        "--timezone",
        "Europe/Berlin",
        "--internal-domain",
        "Example.com",
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "site 'Docs' added with key docs"
    assert lines[1].startswith("<script>window.resonance=")
    assert lines[2] == (
        '<script defer src="https://YOUR-HOST/r.js" data-site="docs"></script>'
    )
    site = session.scalars(select(Site)).one()
    assert site.allowed_origins == ["https://docs.example.com", "http://localhost:8080"]
    assert (site.reached_sales_stage, site.timezone) == ("mql", "Europe/Berlin")
    assert site.internal_domains == ["example.com"]


def test_site_edit_changes_only_the_options_given(runner, session):
    _add(runner, "Docs", "--key", "docs", "--origin", "https://docs.example.com")

    edited = runner.invoke(
        cli,
        ["site", "edit", "docs", "--name", "Handbook", "--timezone", "Asia/Tokyo"],
    )
    listed = runner.invoke(cli, ["site", "list", "--long"])

    assert edited.exit_code == 0, edited.output
    assert listed.output.splitlines() == [
        "docs\tanonymous\thttps://docs.example.com\tHandbook\tsql\tAsia/Tokyo\t-"
    ]


def test_site_edit_replaces_origins_and_domains(runner, session):
    _add(runner, "Docs", "--key", "docs", "--origin", "https://old.example.com")

    result = runner.invoke(
        cli,
        [
            "site",
            "edit",
            "docs",
            "--origin",
            "https://new.example.com:8443",
            "--internal-domain",
            "@corp.example",
            "--privacy",
            "consented",
        ],
    )

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "docs\tconsented\thttps://new.example.com:8443\tDocs"
    )
    session.expire_all()
    assert session.scalars(select(Site.internal_domains)).one() == ["corp.example"]


def test_site_edit_refuses_nonsense_and_changes_nothing(runner, session):
    _add(runner, "Docs", "--key", "docs", "--origin", "https://docs.example.com")

    bad_origin = runner.invoke(
        cli, ["site", "edit", "docs", "--name", "X", "--origin", "https://<b>"]
    )
    bad_zone = runner.invoke(cli, ["site", "edit", "docs", "--timezone", "Mars/Base"])
    missing = runner.invoke(cli, ["site", "edit", "nope", "--name", "X"])

    assert bad_origin.exit_code == 2
    assert "Invalid value for --origin: 'https://<b>' is not an origin" in (
        bad_origin.output
    )
    assert bad_zone.exit_code == 2 and "--timezone" in bad_zone.output
    assert missing.exit_code == 2 and "no site has the key 'nope'" in missing.output
    session.expire_all()
    site = session.scalars(select(Site)).one()
    assert (site.name, site.timezone) == ("Docs", "UTC")
    assert site.allowed_origins == ["https://docs.example.com"]


def test_site_add_refuses_a_taken_key_and_a_path_in_an_origin(runner, session):
    _add(runner, "Docs", "--key", "docs")

    taken = _add(runner, "Other", "--key", "docs")
    path = _add(runner, "Blog", "--origin", "https://example.com/blog")

    assert taken.exit_code == 2 and "the key 'docs' is taken" in taken.output
    assert path.exit_code == 2 and "has a path or query" in path.output
    assert count(session, Site) == 1


def test_site_add_stores_a_non_ascii_origin_as_browsers_send_it(runner, session):
    result = _add(
        runner,
        "Bücher",
        "--origin",
        "https://BÜCHER.de",
        "--origin",
        "https://faß.de:8443",
        "--internal-domain",
        "Bücher.de",
    )

    assert result.exit_code == 0, result.output
    site = session.scalars(select(Site)).one()
    assert site.allowed_origins == [
        "https://xn--bcher-kva.de",
        "https://xn--fa-hia.de:8443",
    ]
    assert site.internal_domains == ["xn--bcher-kva.de"]


def test_site_add_refuses_an_impossible_host_by_name(runner, session):
    result = _add(runner, "Shop", "--origin", "https://-bad-.com")

    assert result.exit_code == 2
    assert "Invalid value for --origin: 'https://-bad-.com' is not an origin" in (
        result.output
    )
    assert "'-bad-' starts or ends with -" in result.output
    assert count(session, Site) == 0
