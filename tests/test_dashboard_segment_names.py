"""Segments named for people: "reached sales" names its stage and links to where
it is set; the compare menu offers "everyone else", and comparing a segment
with everyone else counts each page view on exactly one side."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from test_dashboard_influence import GUIDE, seed_sales_readings

from dashboard.segment_names import compare_labels, segment_label
from resonance.core.models import Content, Site


@pytest.mark.parametrize(
    ("segment", "stage", "label"),
    [
        ("all", "sql", "all visitors"),
        ("leads", "sql", "known leads"),
        ("sales", "sql", "reached sales (SQL or later)"),
        ("sales", "opportunity", "reached sales (opportunity or later)"),
        ("sales", None, "reached sales"),
        ("stage:mql", "sql", "stage: MQL"),
        ("not:sales", "mql", "everyone but reached sales (MQL or later)"),
        ("A heading", "sql", "A heading"),
    ],
)
def test_segment_labels_name_the_reached_sales_stage(segment, stage, label):
    assert segment_label(segment, stage) == label


def test_a_segment_against_its_complement_reads_everyone_else():
    assert compare_labels("sales", "not:sales", "sql") == (
        "reached sales (SQL or later)",
        "everyone else",
    )
    assert compare_labels("all", "not:sales", "sql") == (
        "all visitors",
        "everyone but reached sales (SQL or later)",
    )


@pytest.fixture
def guide(client, session, site) -> int:
    seed_sales_readings(client, session, site)
    return session.scalar(select(Content.id).where(Content.url == GUIDE))


def test_compare_with_everyone_else_counts_each_page_view_once(client, guide):
    base = f"/dash/sites/blog/content/{guide}?format=json"
    everyone = client.get(base).json["stats"]["views"]

    both = client.get(base + "&segment=sales&compare=not:sales").json

    # The guide: Ada twice and Bob once (reached sales), Cy once (did not).
    assert (both["stats"]["views"], both["compare"]["views"], everyone) == (3, 1, 4)
    assert both["compare"]["segment"] == "not:sales"


def test_the_compare_menu_offers_everyone_else_first_and_names_the_stage(client, guide):
    html = client.get(
        f"/dash/sites/blog/content/{guide}?segment=sales&compare=not:sales"
    ).get_data(as_text=True)

    compare_menu = html[html.index('name="compare"') :]
    options = re.findall(r"<option value=\"([^\"]*)\"", compare_menu)[:3]
    assert options == ["", "not:sales", "all"]
    assert "everyone else (everyone but reached sales (SQL or later))" in html
    assert "Compare: reached sales (SQL or later) vs everyone else" in html


def test_influence_says_which_stage_and_links_admins_to_the_setting(
    client, login_as, session, site, guide
):
    session.execute(
        update(Site).where(Site.id == site.id).values(reached_sales_stage="mql")
    )
    session.commit()

    admin = client.get("/dash/sites/blog/influence").get_data(as_text=True)
    marketer = (
        login_as("marketer", sites=["blog"])
        .get("/dash/sites/blog/influence")
        .get_data(as_text=True)
    )

    assert "reached sales (MQL or later)" in admin
    assert 'href="/dash/sites/blog/settings#settings"' in admin
    assert "reached sales (MQL or later)" in marketer
    assert "/sites/blog/settings" not in marketer
    assert "as set in the site's settings" in marketer


def test_prospect_pages_name_the_stage(login_as, guide):
    sales = login_as("sales", sites=["blog"])
    listing = sales.get("/dash/sites/blog/prospects").get_data(as_text=True)
    assert "<th>Reached sales (SQL or later)</th>" in listing
    assert "as set in the site's settings" in listing
