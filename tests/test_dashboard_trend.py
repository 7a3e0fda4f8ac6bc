"""The content page's daily trend: page views, visitors and active time per day
of the period, days counted in the site's time zone (Europe/Berlin here, so a
view at 23:30 UTC belongs to the next day), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.graph_objects as go
import pytest
from conftest import post_batch
from factories import attention, batch, pv
from sqlalchemy import select

from dashboard.figures import trend_figure
from dashboard.queries.trend import TrendDay, offset_changes
from resonance.core.models import Content, Site

GUIDE = "https://blog.example.com/guide"


def view_at(client, when: datetime, active_ms: int, visitor: str, url=GUIDE) -> None:
    """One page view at ``when`` (UTC) with ``active_ms`` of attention."""
    ts = int(when.replace(tzinfo=UTC).timestamp() * 1000)
    view = pv(url=url, ts=ts, ti="Guide")
    events = [view, attention(view["p"], active_ms, [])]
    response = post_batch(client, batch(*events, v=visitor))
    assert response.status_code == 204, response.get_data(as_text=True)


def berlin(session, site) -> int:
    """Put the site in Europe/Berlin; the guide's content id."""
    session.get(Site, site.id).timezone = "Europe/Berlin"
    session.commit()
    return session.scalar(select(Content.id).where(Content.url == GUIDE))


@pytest.fixture
def november(client, session, site) -> int:
    """Four views around the night of 2 → 3 Nov 2026 (CET = UTC+1)."""
    view_at(client, datetime(2026, 11, 2, 22, 30), 1000, "v-trend-1")  # 23:30 2 Nov
    view_at(client, datetime(2026, 11, 2, 23, 30), 2000, "v-trend-2")  # 00:30 3 Nov
    view_at(client, datetime(2026, 11, 3, 10, 0), 5000, "v-trend-2")
    view_at(client, datetime(2026, 11, 3, 12, 0), 9000, "v-trend-3")
    view_at(client, datetime(2026, 11, 5, 12, 0), 4000, "v-trend-1")
    return berlin(session, site)


def test_trend_counts_each_day_in_the_sites_zone(client, november):
    url = f"/dash/sites/blog/content/{november}?format=json"
    body = client.get(url + "&since=2026-11-02&until=2026-11-05").json

    assert body["trend"] == [
        {
            "day": "2026-11-02",
            "views": 1,
            "visitors": 1,
            "median_active_s": 1.0,
            "avg_active_s": 1.0,
        },
        {
            "day": "2026-11-03",
            "views": 3,
            "visitors": 2,
            "median_active_s": 5.0,
            "avg_active_s": 5.3,
        },
        {
            "day": "2026-11-04",
            "views": 0,
            "visitors": 0,
            "median_active_s": 0.0,
            "avg_active_s": 0.0,
        },
        {
            "day": "2026-11-05",
            "views": 1,
            "visitors": 1,
            "median_active_s": 4.0,
            "avg_active_s": 4.0,
        },
    ]
    assert body["period"] == {
        "since": "2026-11-02",
        "until": "2026-11-05",
        "label": "2 Nov – 5 Nov 2026 (4 days, Europe/Berlin)",
    }


def test_trend_follows_the_device_filter(client, november):
    url = f"/dash/sites/blog/content/{november}?format=json&device=mobile"
    body = client.get(url + "&since=2026-11-02&until=2026-11-03").json

    assert [d["views"] for d in body["trend"]] == [0, 0]


def test_trend_of_all_time_starts_on_the_first_page_views_day(client, november):
    body = client.get(f"/dash/sites/blog/content/{november}?format=json").json

    assert body["trend"][0]["day"] == "2026-11-02"
    assert [d["views"] for d in body["trend"][:4]] == [1, 3, 0, 1]
    assert body["period"]["label"] == (
        "All time (since the first page view, 2 Nov 2026)"
    )


def test_trend_day_boundaries_move_with_summer_time(client, session, site):
    # Berlin goes to CEST at 01:00 UTC on 29 Mar 2026: 29 Mar lasts 23 hours.
    view_at(client, datetime(2026, 3, 28, 23, 30), 1000, "v-summer-1")  # 00:30 29 Mar
    view_at(client, datetime(2026, 3, 29, 21, 30), 1000, "v-summer-1")  # 23:30 29 Mar
    view_at(client, datetime(2026, 3, 29, 22, 30), 1000, "v-summer-2")  # 00:30 30 Mar
    content_id = berlin(session, site)

    body = client.get(
        f"/dash/sites/blog/content/{content_id}?format=json"
        "&since=2026-03-28&until=2026-03-30"
    ).json

    assert [(d["views"], d["visitors"]) for d in body["trend"]] == [
        (0, 0),
        (2, 1),
        (1, 1),
    ]


def test_a_days_median_is_the_one_the_content_list_shows_for_that_day(
    client, session, site
):
    # Whole seconds 1 and 2: the median is 1.5 s (2.05 s to the millisecond).
    for n, ms in enumerate((1500, 2600)):
        view_at(client, datetime(2026, 11, 3, 10 + n), ms, f"v-median-{n}")
    content_id = berlin(session, site)
    period = "?format=json&since=2026-11-03&until=2026-11-03"

    page = client.get(f"/dash/sites/blog/content/{content_id}{period}").json
    listed = client.get(f"/dash/sites/blog/content{period}").json

    assert page["trend"][0]["median_active_s"] == 1.5
    assert listed["content"][0]["median_active_s"] == 1.5


def test_trend_is_drawn_on_the_content_page(client, november):
    html = client.get(
        f"/dash/sites/blog/content/{november}?since=2026-11-02&until=2026-11-05"
    ).get_data(as_text=True)

    assert 'id="fig-trend"' in html
    assert "2 Nov – 5 Nov 2026 (4 days, Europe/Berlin)" in html


def test_offset_changes_are_found_to_the_second():
    changes = offset_changes(
        datetime(2026, 3, 1), datetime(2026, 11, 1), "Europe/Berlin"
    )

    assert changes == [
        (None, 3600),
        (datetime(2026, 3, 29, 1), 7200),
        (datetime(2026, 10, 25, 1), 3600),
    ]


def test_trend_figure_draws_views_visitors_and_active_time():
    figure = go.Figure(trend_figure([TrendDay("2026-11-03", 3, 2, 5.0, 5.3)]))

    assert [t.name for t in figure.data] == [
        "Page views",
        "Visitors",
        "Median active (s)",
    ]
    assert list(figure.data[0].y) == [3]
    assert list(figure.data[0].x) == ["2026-11-03"]
