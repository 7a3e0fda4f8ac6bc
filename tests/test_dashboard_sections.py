"""Attention by section on the content page: what "Views", "Reached" and
"Left here" count, where the drop-off marker sits, and what the page says about
expected reading time, with exact figures on SQLite and PostgreSQL.

Events go through the collector; crawled words are inserted as the catalog
would store them.
"""

from __future__ import annotations

from conftest import post_batch
from factories import NOW_MS, attention, batch, layout, pv, scroll
from sqlalchemy import select

from resonance.core.models import Content, ContentSection

POST = "https://blog.example.com/post"
T0 = NOW_MS - 3_600_000
# level, heading, top, height: three sections of 1,000 px on a 3,000 px page.
THREE = [[2, "One", 0, 1000], [2, "Two", 1000, 1000], [2, "Three", 2000, 1000]]


def _reader(client, visitor: str, deepest: int, ms: list[list[int]] | None = None):
    view = pv(url=POST, ts=T0, ti="A post")
    events = [
        view,
        layout(view["p"], THREE, ts=T0 + 50),
        scroll(view["p"], deepest, 3000, ts=T0 + 9000),
    ]
    if ms:
        events.append(attention(view["p"], sum(m for _, m in ms), ms, ts=T0 + 9500))
    assert post_batch(client, batch(*events, v=visitor)).status_code == 204


def _content_id(session) -> int:
    return session.scalar(select(Content.id).where(Content.url == POST))


def _sections(client, content_id: int) -> list[dict]:
    response = client.get(f"/dash/sites/blog/content/{content_id}?format=json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["sections"]


def _columns(rows: list[dict], *names: str) -> list[tuple]:
    return [tuple(row[name] for name in names) for row in rows]


def test_section_views_count_only_the_views_that_reached_it(client, site, session):
    # Deepest visible points 900 (fold), 1,500 and 3,000 px.
    _reader(client, "visitor-fold", 900, [[0, 6000]])
    _reader(client, "visitor-half", 1500, [[0, 9000], [1, 4000]])
    _reader(client, "visitor-end", 3000, [[0, 3000], [1, 8000], [2, 12000]])

    rows = _sections(client, _content_id(session))

    assert _columns(rows, "heading", "views", "reached_pct", "total_active_s") == [
        ("One", 3, 100.0, 18.0),
        ("Two", 2, 66.7, 12.0),
        ("Three", 1, 33.3, 12.0),
    ]
    # Active time per view that reached the section, not per view of the page:
    # "Three" held its one reader 12 s.
    assert _columns(rows, "avg_active_s") == [(6.0,), (6.0,), (12.0,)]


def test_most_readers_leave_where_the_most_deepest_points_fall(client, site, session):
    for visitor in ("a", "b", "c"):
        _reader(client, f"visitor-end-{visitor}", 3000)
    _reader(client, "visitor-two", 1500)
    _reader(client, "visitor-one", 700)
    _reader(client, "visitor-one-b", 1000)

    rows = _sections(client, _content_id(session))

    # 3 of 6 end in the last section: they finished, so the marker is not there.
    assert _columns(rows, "heading", "left_pct", "readers_stop") == [
        ("One", 33.3, True),
        ("Two", 16.7, False),
        ("Three", 50.0, False),
    ]


def test_a_section_everyone_reached_carries_the_marker_when_most_leave_in_it(
    client, site, session
):
    """The marker on a hero that 100 % reached is right when that is where they
    leave; the row says both numbers, so they do not contradict each other."""
    _reader(client, "visitor-a", 900)
    _reader(client, "visitor-b", 950)
    _reader(client, "visitor-c", 2500)

    rows = _sections(client, _content_id(session))

    assert _columns(rows, "heading", "reached_pct", "left_pct", "readers_stop") == [
        ("One", 100.0, 66.7, True),
        ("Two", 33.3, 0.0, False),
        ("Three", 33.3, 33.3, False),
    ]
    page = client.get(f"/dash/sites/blog/content/{_content_id(session)}").text
    assert page.count("most readers leave here") == 1
    assert "end of page" in page
    assert "readers stop here" not in page


def test_no_marker_when_nobody_leaves_before_the_end(client, site, session):
    _reader(client, "visitor-a", 3000)
    _reader(client, "visitor-b", 2600)

    rows = _sections(client, _content_id(session))

    assert [row["readers_stop"] for row in rows] == [False, False, False]


def test_uncrawled_page_says_how_to_crawl_it(client, site, session):
    _reader(client, "visitor-a", 3000, [[0, 5000]])
    cid = _content_id(session)

    page = client.get(f"/dash/sites/blog/content/{cid}").text

    assert f"resonance crawl --site blog {POST}" in page
    assert [row["expected_s"] for row in _sections(client, cid)] == [None] * 3


def test_crawled_page_shows_expected_reading_per_section(client, site, session):
    words = 230
    _reader(client, "visitor-a", 3000, [[0, 90000]])
    cid = _content_id(session)
    session.add_all(
        ContentSection(content_id=cid, idx=i, level=2, heading=h, words=words)
        for i, h in enumerate(("One", "Two", "Three"))
    )
    content = session.get(Content, cid)
    content.words = 3 * words
    session.commit()

    rows = _sections(client, cid)
    page = client.get(f"/dash/sites/blog/content/{cid}").text

    # 230 words at 230 words per minute: 60 s; "One" held its reader 90 s.
    assert _columns(rows, "expected_s", "held_longer") == [
        (60.0, True),
        (60.0, False),
        (60.0, False),
    ]
    assert "resonance crawl" not in page
    assert "Expected reading at 230 words per minute" in page
