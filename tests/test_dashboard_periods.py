"""Date presets (period=7d|30d|90d|all), the period stated on each page, and
"vs the period before", with exact figures on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import post_batch
from factories import batch, pv
from sqlalchemy import select

from dashboard.periods import Period, change_text, period_label, previous
from resonance.core.models import Content

GUIDE = "https://blog.example.com/guide"
PRICING = "https://blog.example.com/pricing"


def view_days_ago(client, days: float, url: str = GUIDE, visitor="v-period-1"):
    """A page view ``days`` days before now."""
    when = datetime.now(UTC) - timedelta(days=days)
    view = pv(url=url, ts=int(when.timestamp() * 1000), ti=url.rsplit("/", 1)[1])
    response = post_batch(client, batch(view, v=visitor))
    assert response.status_code == 204, response.get_data(as_text=True)


def today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def spread(client, site):
    """Guide: 3 views 2 days ago, 2 views 35 days ago, 1 view 80 days ago;
    pricing: 1 view a day ago (nothing before)."""
    for days, count in ((2, 3), (35, 2), (80, 1)):
        for _ in range(count):
            view_days_ago(client, days)
    view_days_ago(client, 1, PRICING)


def views(client, query: str) -> dict[str, int]:
    body = client.get(f"/dash/sites/blog/content?format=json&{query}").json
    return {r["url"]: r["views"] for r in body["content"]}


@pytest.mark.parametrize(
    ("period", "guide"), [("7d", 3), ("30d", 3), ("90d", 6), ("all", 6), ("", 6)]
)
def test_presets_count_the_last_days(client, spread, period, guide):
    assert views(client, f"period={period}") == {GUIDE: guide, PRICING: 1}


def test_preset_states_its_days_in_the_twin(client, spread):
    body = client.get("/dash/sites/blog/content?format=json&period=30d").json

    since, until = today() - timedelta(days=29), today()
    assert body["period"] == {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "label": period_label(Period(since, until, "UTC")),
    }
    assert body["period"]["label"].endswith("(30 days, UTC)")


def test_explicit_dates_win_over_the_preset(client, spread):
    since = (today() - timedelta(days=40)).isoformat()
    until = (today() - timedelta(days=30)).isoformat()

    assert views(client, f"period=7d&since={since}&until={until}") == {GUIDE: 2}


def test_all_time_names_the_first_page_views_day(client, spread):
    body = client.get("/dash/sites/blog/content?format=json").json
    first = today() - timedelta(days=80)

    assert body["period"] == {
        "since": None,
        "until": None,
        "label": f"All time (since the first page view, {first.day} "
        f"{first.strftime('%b')} {first.year})",
    }


def test_a_bad_period_is_an_error_beside_the_field(client, spread):
    page = client.get("/dash/sites/blog/content?period=week&q=guide")
    twin = client.get("/dash/sites/blog/content?period=week&format=json")

    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'id="err-period"' in html and "&#39;week&#39; is not one of" in html
    assert 'value="guide"' in html  # the form is kept
    assert twin.status_code == 400
    assert twin.json == {
        "error": "period: 'week' is not one of 7d, 30d, 90d, all",
        "field": "period",
    }


def test_the_period_is_stated_on_the_content_list_and_page(client, spread, session):
    guide = session.scalar(select(Content.id).where(Content.url == GUIDE))
    label = period_label(Period(today() - timedelta(days=6), today(), "UTC"))

    listing = client.get("/dash/sites/blog/content?period=7d").get_data(as_text=True)
    page = client.get(f"/dash/sites/blog/content/{guide}?period=7d")

    assert f"Period: <strong>{label}</strong>" in listing
    assert f"Period: <strong>{label}</strong>" in page.get_data(as_text=True)
    assert f"content/{guide}?period=7d" in listing  # links carry the period


def test_content_list_vs_previous_gives_both_numbers(client, spread):
    body = client.get("/dash/sites/blog/content?format=json&vs=previous").json

    assert [
        (r["url"], r["views"], r["previous_views"], r["change_pct"])
        for r in body["content"]
    ] == [(GUIDE, 3, 2, 50), (PRICING, 1, 0, None)]
    assert body["period"]["label"].endswith("(30 days, UTC)")
    before = today() - timedelta(days=30)
    assert body["previous_period"]["until"] == before.isoformat()
    assert body["previous_period"]["since"] == (before - timedelta(days=29)).isoformat()


def test_content_list_vs_previous_shows_change_and_new(client, spread):
    html = client.get("/dash/sites/blog/content?vs=previous").get_data(as_text=True)

    assert '<td class="num change">+50 %</td>' in html
    assert '<td class="num change">new</td>' in html
    assert "compared with" in html


def test_content_page_vs_previous_carries_both_numbers(client, spread, session):
    guide = session.scalar(select(Content.id).where(Content.url == GUIDE))
    url = f"/dash/sites/blog/content/{guide}?vs=previous&period=7d"

    body = client.get(url + "&format=json").json
    html = client.get(url).get_data(as_text=True)

    assert (body["stats"]["views"], body["previous"]["views"]) == (3, 0)
    week = client.get(
        f"/dash/sites/blog/content/{guide}?format=json&vs=previous&period=30d"
    ).json
    assert (week["stats"]["views"], week["previous"]["views"]) == (3, 2)
    assert "new vs 0 before" in html


def test_influence_page_offers_the_presets_and_states_the_period(client, spread):
    ok = client.get("/dash/sites/blog/influence?period=7d").get_data(as_text=True)
    bad = client.get("/dash/sites/blog/influence?period=1y")

    label = period_label(Period(today() - timedelta(days=6), today(), "UTC"))
    assert f"Period: <strong>{label}</strong>" in ok
    assert 'name="period"' in ok
    assert bad.status_code == 400
    assert 'id="err-period"' in bad.get_data(as_text=True)


def test_influence_page_all_time_says_since_the_first_page_view(client, spread):
    html = client.get("/dash/sites/blog/influence").get_data(as_text=True)

    first = today() - timedelta(days=80)
    label = period_label(Period(None, None, "UTC"), first)
    assert f"Period: <strong>{label}</strong>" in html
    assert "no page views yet" not in html


def test_period_labels():
    nov = Period(date(2026, 11, 1), date(2026, 11, 30), "Europe/Berlin")
    turn = Period(date(2025, 12, 30), date(2026, 1, 2), "UTC")

    assert period_label(nov) == "1 Nov – 30 Nov 2026 (30 days, Europe/Berlin)"
    assert period_label(turn) == "30 Dec 2025 – 2 Jan 2026 (4 days, UTC)"
    assert period_label(Period(date(2026, 11, 3), date(2026, 11, 3), "UTC")) == (
        "3 Nov 2026 (1 day, UTC)"
    )
    assert period_label(Period(None, None, "UTC"), date(2026, 10, 3)) == (
        "All time (since the first page view, 3 Oct 2026)"
    )
    assert previous(nov) == Period(
        date(2026, 10, 2), date(2026, 10, 31), "Europe/Berlin"
    )


def test_change_text():
    assert [change_text(*p) for p in ((112, 100), (60, 100), (5, 5), (3, 0))] == [
        "+12 %",
        "−40 %",
        "±0 %",
        "new",
    ]
