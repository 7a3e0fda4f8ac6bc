"""The content list: exact figures from known beacons, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import post_batch
from factories import attention, batch, identify, pv, scroll

GUIDE = "https://blog.example.com/guide"
PRICING = "https://blog.example.com/pricing"


@pytest.fixture
def readings(client, site):
    """Four readings of the guide (3 visitors, one a lead) and one of pricing.

    guide active ms 1000/3000/5000/9000 → median 4.0 s; scroll 50/70/80/100 %
    → median 75 %, read-through (≥ 75 %) 2 of 4 = 50 %.
    """
    plan = [
        ("v-reader-1", GUIDE, 1440, 1000, 500),
        ("v-reader-1", GUIDE, 1440, 3000, 700),
        ("v-reader-2", GUIDE, 1440, 5000, 800),
        ("v-reader-3", GUIDE, 1440, 9000, 1000),
        ("v-reader-3", PRICING, 390, 2000, 500),
    ]
    for visitor, url, width, active_ms, depth in plan:
        view = pv(url=url, ti=url.rsplit("/", 1)[1].title(), vw=width, vh=500, dh=1000)
        events = [view, attention(view["p"], active_ms, [])]
        if depth > 500:
            events.append(scroll(view["p"], depth, 1000))
        if visitor == "v-reader-2":
            events.append(identify(view["p"], "lead@corp.example"))
        assert post_batch(client, batch(*events, v=visitor)).status_code == 204


def test_content_list_figures_are_exact(client, readings):
    rows = client.get("/dash/sites/blog/content?format=json").json["content"]

    left_out = ("content_id", "title", "previous_views", "change_pct")
    assert [{k: v for k, v in r.items() if k not in left_out} for r in rows] == [
        {
            "url": GUIDE,
            "views": 4,
            "visitors": 3,
            "median_active_s": 4.0,
            "median_scroll_pct": 75.0,
            "read_through_pct": 50.0,
            "leads": 1,
        },
        {
            "url": PRICING,
            "views": 1,
            "visitors": 1,
            "median_active_s": 2.0,
            "median_scroll_pct": 50.0,
            "read_through_pct": 0.0,
            "leads": 0,
        },
    ]


def test_content_list_filters_by_device_and_search(client, readings):
    desktop = client.get("/dash/sites/blog/content?format=json&device=desktop")
    search = client.get("/dash/sites/blog/content?format=json&q=PRIC")

    assert [r["url"] for r in desktop.json["content"]] == [GUIDE]
    assert [r["url"] for r in search.json["content"]] == [PRICING]


def test_content_list_date_range_excludes_other_days(client, readings):
    response = client.get("/dash/sites/blog/content?format=json&until=2001-01-01")

    assert response.json["content"] == []


@pytest.mark.parametrize(
    "query", ["device=phone", "since=yesterday", "until=2026-13-40"]
)
def test_content_list_bad_filters_are_a_400(client, site, query):
    assert client.get(f"/dash/sites/blog/content?{query}").status_code == 400


def test_content_list_page_escapes_titles(client, site):
    view = pv(ti="<script>window.__xss=1</script>")
    post_batch(client, batch(view))

    html = client.get("/dash/sites/blog/content").get_data(as_text=True)

    assert "<script>window.__xss" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html


def test_unknown_site_content_list_is_a_404(client, site):
    assert client.get("/dash/sites/nope/content").status_code == 404


@pytest.mark.parametrize(
    ("sort", "urls"),
    [
        ("read_through_pct", [PRICING, GUIDE]),
        ("-median_active_s", [GUIDE, PRICING]),
        ("title", [GUIDE, PRICING]),
        ("-title", [PRICING, GUIDE]),
    ],
)
def test_content_list_sorts_by_any_column(client, readings, sort, urls):
    response = client.get(f"/dash/sites/blog/content?format=json&sort={sort}")

    assert [r["url"] for r in response.json["content"]] == urls


def test_content_list_refuses_an_unknown_sort_column(client, site):
    response = client.get("/dash/sites/blog/content?sort=password")

    assert response.status_code == 400


def test_content_list_headers_link_to_the_reverse_order(client, readings):
    html = client.get("/dash/sites/blog/content?sort=-views&device=desktop").text

    assert 'href="?device=desktop&amp;sort=views"' in html
    assert 'aria-sort="descending"' in html
