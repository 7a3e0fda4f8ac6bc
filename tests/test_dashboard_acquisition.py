"""UTM source, campaign and referrer filters: the values offered (top by views,
"direct" for no referrer, hosts not URLs), exact counts, the host boundary
(example.com is not example.com.evil), validation beside the field, and hostile
values escaped in the select, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import post_batch
from factories import batch, pv
from sqlalchemy import select

from resonance.core.models import Content

GUIDE = "https://blog.example.com/guide"
HOSTILE = '"><script>alert(1)</script>'


@pytest.fixture
def arrivals(client, site):
    """Six views of the guide from known sources, one of pricing."""
    plan = [
        ("?utm_source=news&utm_campaign=launch", "https://example.com/a"),
        ("?utm_source=news&utm_campaign=launch", "http://Example.com:8080/"),
        ("?utm_source=news&utm_campaign=spring", "https://example.com.evil/x"),
        ("?utm_source=mail", None),
        ("", "https://www.google.com/search?q=heatmaps"),
        ("?utm_source=" + HOSTILE.replace("<", "%3C").replace(">", "%3E"), None),
    ]
    for i, (query, referrer) in enumerate(plan):
        view = pv(url=GUIDE + query, ti="Guide", r=referrer)
        response = post_batch(client, batch(view, v=f"v-arrival-{i}"))
        assert response.status_code == 204, response.get_data(as_text=True)
    view = pv(url="https://blog.example.com/pricing", ti="Pricing", r=None)
    assert post_batch(client, batch(view, v="v-arrival-9")).status_code == 204


def guide_views(client, query: str) -> int:
    body = client.get(f"/dash/sites/blog/content?format=json&{query}").json
    return next((r["views"] for r in body["content"] if r["url"] == GUIDE), 0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 6),
        ("source=news", 3),
        ("campaign=launch", 2),
        ("source=news&campaign=spring", 1),
        ("referrer=example.com", 2),
        ("referrer=EXAMPLE.com", 2),
        ("referrer=example.com.evil", 1),
        ("referrer=www.google.com", 1),
        ("referrer=google.com", 0),
        ("referrer=direct", 2),
        ("source=news&referrer=direct", 0),
    ],
)
def test_acquisition_filters_count_exactly(client, arrivals, query, expected):
    assert guide_views(client, query) == expected


def test_selects_offer_the_values_present_most_viewed_first(client, arrivals):
    body = client.get("/dash/sites/blog/content?format=json").json

    assert body["acquisition"] == {
        "sources": [
            {"value": "news", "views": 3},
            {"value": HOSTILE, "views": 1},
            {"value": "mail", "views": 1},
        ],
        "campaigns": [
            {"value": "launch", "views": 2},
            {"value": "spring", "views": 1},
        ],
        "referrers": [
            {"value": "direct", "views": 3},
            {"value": "example.com", "views": 2},
            {"value": "example.com.evil", "views": 1},
            {"value": "www.google.com", "views": 1},
        ],
    }


def test_hostile_values_are_escaped_in_the_select(client, arrivals):
    html = client.get("/dash/sites/blog/content").get_data(as_text=True)

    assert "<script>alert(1)" not in html
    assert (
        '<option value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" >'
        "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt; (1)</option>"
    ) in html


def test_filters_are_carried_to_the_content_page_and_back(client, arrivals, session):
    guide = session.scalar(select(Content.id).where(Content.url == GUIDE))

    listing = client.get("/dash/sites/blog/content?source=news&referrer=example.com")
    page = client.get(f"/dash/sites/blog/content/{guide}?source=news&format=json")
    html = client.get(
        f"/dash/sites/blog/content/{guide}?source=news&campaign=launch"
    ).get_data(as_text=True)

    assert f"content/{guide}?source=news&amp;referrer=example.com" in (
        listing.get_data(as_text=True)
    )
    assert page.json["stats"]["views"] == 3
    assert "/dash/sites/blog/content?source=news&amp;campaign=launch" in html
    assert '<option value="launch" selected>launch (2)</option>' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("referrer=https://example.com/", "referrer"),
        ("referrer=exa%20mple.com", "referrer"),
        ("source=" + "s" * 101, "source"),
        ("campaign=" + "c" * 101, "campaign"),
    ],
)
def test_bad_acquisition_values_are_errors_beside_the_field(
    client, arrivals, query, field
):
    page = client.get(f"/dash/sites/blog/content?{query}")
    twin = client.get(f"/dash/sites/blog/content?{query}&format=json")

    assert page.status_code == 400
    assert f'id="err-{field}"' in page.get_data(as_text=True)
    assert twin.status_code == 400
    assert twin.json["field"] == field
