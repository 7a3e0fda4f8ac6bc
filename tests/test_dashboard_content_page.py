"""The content page: exact figures from known beacons, on SQLite and PostgreSQL.

Events go through the collector (``post_batch``); configuration and data other
modules own (snapshots, crawled sections, content groups, CRM stages, notes) are
inserted or updated directly, since those modules are written alongside.
"""

from __future__ import annotations

import gzip
import re
from datetime import datetime
from pathlib import Path

import pytest
from conftest import csrf_headers, post_batch
from factories import NOW_MS, attention, batch, click, identify, layout, pv, scroll
from sqlalchemy import select, update

from dashboard.queries.clicks import click_grid
from dashboard.queries.groups import group_matches
from dashboard.queries.segments import ContentFilter
from resonance.core.models import (
    Content,
    ContentGroup,
    ContentSection,
    Lead,
    Note,
    Site,
    Snapshot,
    SnapshotElement,
)
from tracker.sites import create_site

POST = "https://blog.example.com/post"
# An hour ago, so that no event is clamped to the collector's "now".
T0 = NOW_MS - 3_600_000
# Every click of the fixture has the factories' fx 0.25, fy 0.5.
NOT_LINK = {"in": False, "h": None}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
    b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _click(pid: str, at: int, x: int, y: int, selector: str = "#cta", **fields):
    return click(pid, ts=T0 + at, x=x, y=y, s=selector, **fields)


def _view(visitor: str, *events_of, internal: bool = False, **pv_fields):
    view = pv(url=POST, ts=T0, ti="A post", **pv_fields)
    events = [view, layout(view["p"], ts=T0 + 50)]
    events += [make(view["p"]) for make in events_of]
    extra = {"i": 1} if internal else {}
    return batch(*events, v=visitor, **extra)


@pytest.fixture
def readings(client, site):
    """Three desktop page views of /post (1440×900, 3,000 px tall, sections
    "A post" 0–800, "Why it matters" 800–2000, "How to start" 2000–3000).

    alpha (identifies as ann@corp.example): scrolls to the end; 10/30/20 s on the
    sections; a rage burst on #cta (3 clicks 300 ms apart within 8 px), then a
    dead click on #hero.
    beta (anonymous): scrolls to 1,500 px; 12/8 s; a pair of close clicks on #cta
    (not rage: only two), then an error click on #nav.
    gamma (marked internal): never scrolls (depth = fold, 900 px); 5 s on the
    first section; a click on #gone (no element in any snapshot).
    """
    alpha = _view(
        "visitor-alpha",
        lambda p: scroll(p, 3000, 3000, ts=T0 + 9000),
        lambda p: attention(p, 60000, [[0, 10000], [1, 30000], [2, 20000]]),
        lambda p: _click(p, 1000, 300, 420),
        lambda p: _click(p, 1300, 304, 424),
        lambda p: _click(p, 1600, 306, 428),
        lambda p: _click(
            p, 5000, 700, 200, "#hero", tg="img", dd=True, **{"in": False}
        ),
        lambda p: identify(p, "ann@corp.example", ts=T0 + 6000),
    )
    beta = _view(
        "visitor-beta",
        lambda p: scroll(p, 1500, 3000, ts=T0 + 9000),
        lambda p: attention(p, 20000, [[0, 12000], [1, 8000]]),
        lambda p: _click(p, 1000, 300, 420),
        lambda p: _click(p, 1500, 310, 430),
        lambda p: _click(p, 3000, 100, 20, "#nav", er=True),
    )
    gamma = _view(
        "visitor-gamma",
        lambda p: attention(p, 5000, [[0, 5000]]),
        lambda p: _click(p, 2000, 720, 1000, "#gone"),
        internal=True,
    )
    for body in (alpha, beta, gamma):
        assert post_batch(client, body).status_code == 204


@pytest.fixture
def content_id(session, readings) -> int:
    return session.scalar(select(Content.id).where(Content.url == POST))


@pytest.fixture
def instance(app, tmp_path) -> Path:
    """Keep snapshots of the test in its own instance folder."""
    app.instance_path = str(tmp_path)
    (tmp_path / "snapshots").mkdir()
    return tmp_path


def _page(client, content_id: int, query: str = "") -> dict:
    response = client.get(f"/dash/sites/blog/content/{content_id}?format=json{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _snapshot(session, content_id: int, width: int = 1440, height: int = 3000):
    """A snapshot with boxes for #cta, #hero and #nav (not #gone)."""
    snap = Snapshot(
        content_id=content_id,
        width_px=width,
        height_px=height,
        taken_at=datetime(2026, 1, 2, 3, 4, 5),
        image=f"snap-{width}.png",
    )
    session.add(snap)
    session.flush()
    boxes = {
        "#cta": (200, 400, 400, 40),
        "#hero": (600, 100, 400, 300),
        "#nav": (0, 0, 100, 40),
    }
    for selector, (left, top, w, h) in boxes.items():
        session.add(
            SnapshotElement(
                snapshot_id=snap.id,
                selector=selector,
                left_px=left,
                top_px=top,
                width_px=w,
                height_px=h,
            )
        )
    session.commit()
    return snap


# --- top elements, frustration signals ------------------------------------------------


def test_top_elements_count_clicks_page_views_rage_dead_and_error(client, content_id):
    elements = _page(client, content_id)["elements"]

    assert elements == [
        {
            "name": "Book a demo",
            "name_source": "text",
            "selector": "#cta",
            "tag": "a",
            "text": "Book a demo",
            "clicks": 5,
            "views": 2,
            "rage_clicks": 1,
            "dead_clicks": 0,
            "error_clicks": 0,
        },
        {
            "name": "Book a demo",
            "name_source": "text",
            "selector": "#gone",
            "tag": "a",
            "text": "Book a demo",
            "clicks": 1,
            "views": 1,
            "rage_clicks": 0,
            "dead_clicks": 0,
            "error_clicks": 0,
        },
        {
            "name": "Book a demo",
            "name_source": "text",
            "selector": "#hero",
            "tag": "img",
            "text": "Book a demo",
            "clicks": 1,
            "views": 1,
            "rage_clicks": 0,
            "dead_clicks": 1,
            "error_clicks": 0,
        },
        {
            "name": "Book a demo",
            "name_source": "text",
            "selector": "#nav",
            "tag": "a",
            "text": "Book a demo",
            "clicks": 1,
            "views": 1,
            "rage_clicks": 0,
            "dead_clicks": 0,
            "error_clicks": 1,
        },
    ]


def test_rage_needs_each_click_close_in_time_and_space(client, site):
    """Four clicks: 2nd is 1,200 ms after the 1st (too late), 3rd 40 px from the
    2nd (too far), 4th close to the 3rd: no run of three, no rage."""
    body = _view(
        "visitor-slow",
        lambda p: _click(p, 1000, 300, 420),
        lambda p: _click(p, 2200, 300, 420),
        lambda p: _click(p, 2400, 340, 420),
        lambda p: _click(p, 2600, 342, 421),
    )
    assert post_batch(client, body).status_code == 204
    cid = client.get("/dash/sites/blog/content?format=json").json["content"][0]

    elements = _page(client, cid["content_id"])["elements"]

    assert [(e["clicks"], e["rage_clicks"]) for e in elements] == [(4, 0)]


def test_a_long_burst_is_one_rage_click(client, site):
    body = _view(
        "visitor-angry",
        *(lambda p, i=i: _click(p, 1000 + 200 * i, 300 + i, 420) for i in range(6)),
    )
    assert post_batch(client, body).status_code == 204
    cid = client.get("/dash/sites/blog/content?format=json").json["content"][0]

    elements = _page(client, cid["content_id"])["elements"]

    assert [(e["clicks"], e["rage_clicks"]) for e in elements] == [(6, 1)]


# --- click placement and the grid -----------------------------------------------------


def test_without_snapshot_clicks_are_placed_by_position(client, content_id):
    page = _page(client, content_id)

    assert page["snapshot"] is None
    assert page["width_px"] == 1440
    assert page["placement"] == {
        "clicks": 8,
        "by_element": 0,
        "by_fallback": 8,
        "by_element_pct": 0.0,
        "by_fallback_pct": 100.0,
    }
    assert page["bins"] == [
        {
            "x_px": 96,
            "y_px": 16,
            "clicks": 1,
            "views": 1,
            "selector": "#nav",
            "name": "Book a demo",
        },
        {
            "x_px": 696,
            "y_px": 200,
            "clicks": 1,
            "views": 1,
            "selector": "#hero",
            "name": "Book a demo",
        },
        {
            "x_px": 296,
            "y_px": 416,
            "clicks": 2,
            "views": 2,
            "selector": "#cta",
            "name": "Book a demo",
        },
        {
            "x_px": 304,
            "y_px": 424,
            "clicks": 3,
            "views": 2,
            "selector": "#cta",
            "name": "Book a demo",
        },
        {
            "x_px": 720,
            "y_px": 1000,
            "clicks": 1,
            "views": 1,
            "selector": "#gone",
            "name": "Book a demo",
        },
    ]


def test_with_snapshot_clicks_are_placed_on_their_element(client, session, content_id):
    snap = _snapshot(session, content_id)

    page = _page(client, content_id)

    assert page["snapshot"]["snapshot_id"] == snap.id
    assert page["placement"] == {
        "clicks": 8,
        "by_element": 7,
        "by_fallback": 1,
        "by_element_pct": 87.5,
        "by_fallback_pct": 12.5,
    }
    # #cta (200,400 400×40) at 0.25/0.5 → (300, 420); #hero → (700, 250);
    # #nav → (25, 20); #gone falls back to (720, 1000).
    assert page["bins"] == [
        {
            "x_px": 24,
            "y_px": 16,
            "clicks": 1,
            "views": 1,
            "selector": "#nav",
            "name": "Book a demo",
        },
        {
            "x_px": 696,
            "y_px": 248,
            "clicks": 1,
            "views": 1,
            "selector": "#hero",
            "name": "Book a demo",
        },
        {
            "x_px": 296,
            "y_px": 416,
            "clicks": 5,
            "views": 2,
            "selector": "#cta",
            "name": "Book a demo",
        },
        {
            "x_px": 720,
            "y_px": 1000,
            "clicks": 1,
            "views": 1,
            "selector": "#gone",
            "name": "Book a demo",
        },
    ]


def test_placement_on_a_box_and_by_fallback_is_exact_to_the_pixel(
    client, session, content_id
):
    snap = _snapshot(session, content_id, width=375)
    session.execute(
        update(SnapshotElement)
        .where(
            SnapshotElement.snapshot_id == snap.id, SnapshotElement.selector == "#hero"
        )
        .values(left_px=100, top_px=200, width_px=200, height_px=50)
    )
    session.commit()
    flt = ContentFilter("blog")

    bins = click_grid(session, flt, content_id, 375, snap.id, bin_px=1)

    cells = {(b.x_px, b.y_px): b.clicks for b in bins}
    assert cells[(150, 225)] == 1  # #hero: 100 + 0.25·200, 200 + 0.5·50
    assert cells[(187, 1000)] == 1  # #gone, no box: 720 / 1440 · 375 = 187.5, y kept
    assert sum(cells.values()) == 8


def test_compare_gives_the_other_segments_clicks_and_views(client, content_id):
    page = _page(client, content_id, "&compare=leads")

    assert page["compare"] == {
        "segment": "leads",
        "views": 1,
        "bins": [
            {
                "x_px": 696,
                "y_px": 200,
                "clicks": 1,
                "views": 1,
                "selector": "#hero",
                "name": "Book a demo",
            },
            {
                "x_px": 296,
                "y_px": 416,
                "clicks": 1,
                "views": 1,
                "selector": "#cta",
                "name": "Book a demo",
            },
            {
                "x_px": 304,
                "y_px": 424,
                "clicks": 2,
                "views": 1,
                "selector": "#cta",
                "name": "Book a demo",
            },
        ],
    }


# --- scroll reach ---------------------------------------------------------------------


def test_scroll_reach_per_100_px_band_is_cumulative_from_the_bottom(client, content_id):
    scroll_ = _page(client, content_id)["scroll"]

    assert scroll_["views"] == 3
    assert scroll_["avg_fold_px"] == 900
    assert scroll_["by_tenth"] is False
    reached = [(b["top_px"], b["views"], b["pct"]) for b in scroll_["bands"]]
    assert len(reached) == 31
    assert reached[0] == (0, 3, 100.0)
    assert reached[9] == (900, 3, 100.0)
    assert reached[10] == (1000, 2, 66.7)
    assert reached[15] == (1500, 2, 66.7)
    assert reached[16] == (1600, 1, 33.3)
    assert reached[30] == (3000, 1, 33.3)
    assert scroll_["marks"] == {"25": 3000, "50": 1500, "75": 900}


def test_scroll_reach_per_tenth_of_the_page(client, content_id):
    tenths = _page(client, content_id)["scroll"]["tenths"]

    assert [(b["top_px"], b["views"], b["pct"]) for b in tenths] == [
        (0, 3, 100.0),
        (300, 3, 100.0),
        (600, 3, 100.0),
        (900, 3, 100.0),
        (1200, 2, 66.7),
        (1500, 2, 66.7),
        (1800, 1, 33.3),
        (2100, 1, 33.3),
        (2400, 1, 33.3),
        (2700, 1, 33.3),
        (3000, 1, 33.3),
    ]


def test_scroll_reach_switches_to_tenths_when_page_heights_differ(client, content_id):
    phone = _view(
        "visitor-phone",
        lambda p: scroll(p, 3000, 6000, ts=T0 + 9000),
        vw=375,
        vh=700,
        dh=6000,
    )
    assert post_batch(client, phone).status_code == 204

    both = _page(client, content_id)["scroll"]
    desktop = _page(client, content_id, "&device=desktop")["scroll"]

    assert both["by_tenth"] is True
    assert both["marks"] == {"25": 6000, "50": 3000, "75": 3000}
    assert desktop["by_tenth"] is False


# --- attention ------------------------------------------------------------------------


def test_attention_per_section_with_reach_and_reading_time(client, session, content_id):
    session.add_all(
        [
            ContentSection(
                content_id=content_id, idx=0, level=1, heading="A post", words=230
            ),
            ContentSection(
                content_id=content_id,
                idx=1,
                level=2,
                heading="Why it matters",
                words=23,
            ),
        ]
    )
    session.commit()

    sections = _page(client, content_id)["sections"]

    assert sections == [
        {
            "heading": "A post",
            "level": 1,
            "top_px": 0,
            "height_px": 800,
            "views": 3,
            "total_active_s": 27.0,
            "avg_active_s": 9.0,
            "reached_pct": 100.0,
            "left_pct": 0.0,
            "expected_s": 60.0,
            "held_longer": False,
            "readers_stop": False,
        },
        {
            "heading": "Why it matters",
            "level": 2,
            "top_px": 800,
            "height_px": 1200,
            "views": 3,
            "total_active_s": 38.0,
            "avg_active_s": 12.7,
            "reached_pct": 100.0,
            # gamma (900 px) and beta (1,500 px) went no deeper.
            "left_pct": 66.7,
            "expected_s": 6.0,
            "held_longer": True,
            "readers_stop": True,
        },
        {
            "heading": "How to start",
            "level": 2,
            "top_px": 2000,
            "height_px": 1000,
            # Only alpha reached it: its 20 s are per view that reached it.
            "views": 1,
            "total_active_s": 20.0,
            "avg_active_s": 20.0,
            "reached_pct": 33.3,
            "left_pct": 33.3,
            "expected_s": None,
            "held_longer": False,
            "readers_stop": False,
        },
    ]


def test_readers_stop_at_the_first_of_equal_drops(client, site):
    """Reach 100 → 50 → 0 %: half leave in One, half in Two; the first counts."""
    sections = [[2, "One", 0, 1000], [2, "Two", 1000, 1000], [2, "Three", 2000, 1000]]
    for visitor, depth in (("visitor-deep", 1500), ("visitor-flat", 900)):
        body = _view(
            visitor,
            lambda p: layout(p, sections, ts=T0 + 60),
            lambda p, d=depth: scroll(p, d, 3000, ts=T0 + 9000),
        )
        assert post_batch(client, body).status_code == 204
    cid = client.get("/dash/sites/blog/content?format=json").json["content"][0]

    rows = _page(client, cid["content_id"])["sections"]

    assert [(r["heading"], r["reached_pct"], r["readers_stop"]) for r in rows] == [
        ("One", 100.0, True),
        ("Two", 50.0, False),
        ("Three", 0.0, False),
    ]


def test_stats_count_the_selected_views(client, content_id):
    assert _page(client, content_id)["stats"] == {
        "views": 3,
        "visitors": 3,
        "avg_active_s": 28.3,
        "avg_fold_px": 900,
        "min_doc_h": 3000,
        "max_doc_h": 3000,
        "max_scroll_px": 3000,
    }


# --- segments -------------------------------------------------------------------------


def _views(client, content_id, query):
    return _page(client, content_id, query)["stats"]["views"]


def test_segment_leads_counts_only_identified_visitors(client, content_id):
    assert _views(client, content_id, "&segment=leads") == 1


def test_segment_sales_counts_every_view_of_leads_that_reached_sales(
    client, session, content_id
):
    # alpha read the post once more, before identifying: that view counts too.
    earlier = _view("visitor-alpha")
    assert post_batch(client, earlier).status_code == 204
    assert _views(client, content_id, "&segment=sales") == 0

    # The CRM module is written alongside: set the lead's sales moment directly.
    session.execute(
        update(Lead)
        .where(Lead.email == "ann@corp.example")
        .values(reached_sales_at=datetime(2026, 1, 1), stage="sql")
    )
    session.commit()

    assert _views(client, content_id, "&segment=sales") == 2
    assert _views(client, content_id, "&segment=stage:sql") == 2
    assert _views(client, content_id, "&segment=stage:mql") == 0


def test_exclude_internal_drops_marked_browsers_and_internal_domains(
    client, session, content_id
):
    assert _views(client, content_id, "&internal=exclude") == 2

    session.execute(
        update(Site).where(Site.key == "blog").values(internal_domains=["Corp.example"])
    )
    session.commit()

    assert _views(client, content_id, "&internal=exclude") == 1
    assert _views(client, content_id, "") == 3


def test_content_list_takes_the_segment_filter(client, content_id):
    rows = client.get("/dash/sites/blog/content?format=json&segment=leads").json

    assert [(r["url"], r["views"]) for r in rows["content"]] == [(POST, 1)]


# --- content groups -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("/blog/*", "https://x.example/blog/a", True),
        ("/blog/*", "https://x.example/blog/a/b", False),
        ("/blog/*", "https://x.example/blog/", False),
        ("/blog/**", "https://x.example/blog/a/b", True),
        ("/docs/*/setup", "https://x.example/docs/v1/setup", True),
        ("/docs/*/setup", "https://x.example/docs/v1/x/setup", False),
        ("/a.b", "https://x.example/aXb", False),
        ("https://x.example/**", "https://x.example/any/thing", True),
    ],
)
def test_group_patterns(pattern, url, matches):
    assert group_matches(pattern, url) is matches


def test_content_list_groups_items_under_their_rule(client, session, site):
    for index, path in enumerate(("/blog/a", "/blog/b", "/blog/b", "/pricing")):
        view = pv(url=f"https://blog.example.com{path}", ts=T0, ti=path)
        body = batch(view, attention(view["p"], 1000 * (index + 1), []))
        assert post_batch(client, body).status_code == 204
    session.add(ContentGroup(site_id=site.id, name="Blog posts", pattern="/blog/*"))
    session.commit()

    grouped = client.get("/dash/sites/blog/content?format=json&group=1").json
    plain = client.get("/dash/sites/blog/content?format=json").json

    assert [
        (
            r["content_id"] is None,
            r["title"],
            r["url"],
            r["views"],
            r["median_active_s"],
        )
        for r in grouped["content"]
    ] == [
        (True, "Blog posts", "/blog/*", 3, 2.0),
        (False, "/pricing", "https://blog.example.com/pricing", 1, 4.0),
    ]
    assert len(plain["content"]) == 3


# --- the page itself ------------------------------------------------------------------


def test_content_page_renders_figures_as_json_without_inline_code(client, content_id):
    html = client.get(f"/dash/sites/blog/content/{content_id}").get_data(as_text=True)

    assert 'id="fig-heatmap-data"' in html
    assert 'id="fig-attention-data"' in html
    assert "/dash/plotly.min.js" in html
    assert "static/js/dashboard.js" in html
    # Every <script> either loads a file or carries JSON: nothing to execute inline.
    # (Scripts that run carry the CSP nonce first: tests/test_security_xss.py.)
    scripts = [re.sub(r'^ nonce="[^"]+"', "", s) for s in html.split("<script")[1:]]
    assert scripts and all(
        s.lstrip().startswith(("defer src=", 'type="application/json"'))
        for s in scripts
    )


def test_content_page_escapes_headings_notes_and_texts(
    client, session, site, content_id
):
    hostile = "<img src=x onerror=alert(1)>"
    body = _view(
        "visitor-evil",
        lambda p: layout(p, [[2, hostile, 0, 500]], ts=T0 + 50),
        lambda p: _click(p, 1000, 10, 10, "#x", tx=hostile),
    )
    assert post_batch(client, body).status_code == 204
    session.add(
        Note(
            site_id=site.id,
            content_id=content_id,
            author="Sam <b>Sales</b>",
            body="<script>window.__x=1</script>",
            created_at=datetime(2026, 1, 1),
        )
    )
    session.commit()

    html = client.get(f"/dash/sites/blog/content/{content_id}").get_data(as_text=True)

    assert "<img src=x" not in html
    assert "<script>window.__x" not in html
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in html
    assert "Sam &lt;b&gt;Sales&lt;/b&gt;" in html


def test_notes_are_listed_newest_first(client, session, site, content_id):
    for day, text in ((1, "older"), (5, "newer")):
        session.add(
            Note(
                site_id=site.id,
                content_id=content_id,
                author="Sam",
                section="Why it matters",
                body=text,
                created_at=datetime(2026, 1, day),
            )
        )
    session.commit()

    notes = _page(client, content_id)["notes"]

    assert [(n["body"], n["section"]) for n in notes] == [
        ("newer", "Why it matters"),
        ("older", "Why it matters"),
    ]


def test_content_of_another_site_is_a_404(client, session, site, content_id):
    create_site(
        session,
        "Other",
        origins=["https://other.example"],
        privacy_mode="always",
        key="other",
    )
    session.commit()

    assert client.get(f"/dash/sites/other/content/{content_id}").status_code == 404
    assert client.get("/dash/sites/blog/content/999999").status_code == 404
    assert client.get("/dash/sites/nope/content/1").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "segment=bogus",
        "segment=stage:",
        "segment=stage:a b",
        "compare=everyone",
        "internal=maybe",
        "device=phone",
        "since=yesterday",
    ],
)
def test_bad_content_page_parameters_are_a_400(client, content_id, query):
    response = client.get(f"/dash/sites/blog/content/{content_id}?{query}")

    assert response.status_code == 400


@pytest.mark.parametrize("query", ["group=2", "segment=x", "internal=no"])
def test_bad_content_list_parameters_are_a_400(client, site, query):
    assert client.get(f"/dash/sites/blog/content?{query}").status_code == 400


def test_content_page_without_views_shows_the_tag_instead_of_empty_charts(
    client, session, site
):
    session.add(
        Content(
            site_id=site.id,
            url="https://blog.example.com/new",
            url_hash="x" * 40,
            title="New",
            first_seen_at=datetime(2026, 1, 1),
        )
    )
    session.commit()
    cid = session.scalar(select(Content.id).where(Content.title == "New"))

    page = _page(client, cid)
    html = client.get(f"/dash/sites/blog/content/{cid}").get_data(as_text=True)

    assert page["stats"]["views"] == 0
    assert page["bins"] == [] and page["elements"] == [] and page["sections"] == []
    assert "No page views of this page yet — embed this tag" in html
    assert "data-site=&#34;blog&#34;" in html
    assert 'id="fig-heatmap-data"' not in html


# --- snapshots ------------------------------------------------------------------------


def test_snapshot_png_is_served_only_for_the_sites_content(
    client, session, instance, content_id
):
    snap = _snapshot(session, content_id)
    (instance / "snapshots" / snap.image).write_bytes(PNG)
    create_site(
        session,
        "Other",
        origins=["https://other.example"],
        privacy_mode="always",
        key="other",
    )
    session.commit()

    ours = client.get(f"/dash/sites/blog/snapshots/{snap.id}.png")
    theirs = client.get(f"/dash/sites/other/snapshots/{snap.id}.png")

    body = ours.data
    ours.close()  # it streams the file
    assert ours.status_code == 200
    assert ours.mimetype == "image/png" and body == PNG
    assert theirs.status_code == 404
    assert client.get("/dash/sites/blog/snapshots/999.png").status_code == 404


def test_heatmap_is_drawn_over_the_newest_snapshot(client, session, content_id):
    _snapshot(session, content_id)
    newest = Snapshot(
        content_id=content_id,
        width_px=1440,
        height_px=3200,
        taken_at=datetime(2026, 2, 1),
        image="newest.png",
    )
    session.add(newest)
    session.commit()

    page = _page(client, content_id)
    html = client.get(f"/dash/sites/blog/content/{content_id}").get_data(as_text=True)

    assert page["snapshot"]["snapshot_id"] == newest.id
    assert f"/dash/sites/blog/snapshots/{newest.id}.png" in html


def test_take_snapshot_button_calls_the_snapshot_module(
    client, session, instance, content_id, monkeypatch
):
    snapshots = pytest.importorskip("tracker.snapshots")
    calls = []

    def fake(session_, site_id, url, *, widths, directory, load_url):
        calls.append((site_id, url, widths, directory, load_url))

    monkeypatch.setattr(snapshots, "take_snapshots", fake)

    response = client.post(
        f"/dash/sites/blog/content/{content_id}/snapshot?device=mobile",
        headers=csrf_headers(client),
    )

    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/content/{content_id}?device=mobile")
    site_id = session.scalar(select(Site.id).where(Site.key == "blog"))
    # Not the demo: the page is loaded from its own URL (load_url None).
    assert calls == [(site_id, POST, (375, 768, 1440), instance / "snapshots", None)]


# --- plotly.js from the app -----------------------------------------------------------


def test_plotly_js_is_served_by_the_app_and_cached_long(client, site):
    plain = client.get("/dash/plotly.min.js")
    packed = client.get("/dash/plotly.min.js", headers={"Accept-Encoding": "gzip"})

    assert plain.status_code == 200
    assert plain.mimetype == "text/javascript"
    assert b"plotly.js" in plain.data[:2000]
    assert plain.cache_control.max_age == 365 * 24 * 3600
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data


def test_a_failed_snapshot_is_a_502_not_a_500(
    client, instance, content_id, monkeypatch
):
    snapshots = pytest.importorskip("tracker.snapshots")

    def broken(*args, **kwargs):
        raise snapshots.SnapshotError("https://blog.example.com/post answered 500")

    monkeypatch.setattr(snapshots, "take_snapshots", broken)

    response = client.post(
        f"/dash/sites/blog/content/{content_id}/snapshot", headers=csrf_headers(client)
    )

    assert response.status_code == 502


def test_content_list_rows_link_to_their_content_page_with_the_filters(
    client, content_id
):
    html = client.get("/dash/sites/blog/content?segment=leads&q=post").get_data(
        as_text=True
    )

    assert f'href="/dash/sites/blog/content/{content_id}?segment=leads"' in html


def test_grouped_rows_are_not_links(client, session, site, content_id):
    session.add(ContentGroup(site_id=site.id, name="Posts", pattern="/*"))
    session.commit()

    html = client.get("/dash/sites/blog/content?group=1").get_data(as_text=True)

    assert f"/dash/sites/blog/content/{content_id}" not in html
    assert '<span class="title">Posts</span> <span class="badge group">' in html
