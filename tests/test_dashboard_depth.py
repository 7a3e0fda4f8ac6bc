"""The attention map by depth on the content page: the average seconds each 100 px
band of the page was on screen per page view, for the page's filter (dates,
segment), aggregated in SQL; drawn over the page with the seconds beside it,
hot where screens rested long."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from sqlalchemy import select

from dashboard.figures.backdrop import Backdrop
from dashboard.figures.depth import depth_figure
from dashboard.figures.theme import DEPTH_SCALE
from dashboard.queries.depth import DepthBand
from resonance.core.models import Content
from tests.conftest import post_batch
from tests.factories import NOW_MS, attention, batch, identify, pv

POST = "https://blog.example.com/post"
T0 = NOW_MS - 3_600_000


def _reading(visitor: str, bands: list | None, *more) -> dict:
    view = pv(url=POST, ts=T0)
    fields = {} if bands is None else {"b": bands}
    events = [view, attention(view["id"], 9000, [], ts=T0 + 9000, **fields)]
    events += [make(view["id"]) for make in more]
    return batch(*events, v=visitor)


@pytest.fixture
def content_id(client, session, site) -> int:
    """ann (a lead): 10 s on band 0, 6 s on band 1; bo: 4 s on band 0, 3 s on
    band 2; cy's snippet sent no bands (an older snippet), so cy is not counted."""
    readings = [
        _reading(
            "visitor-ann",
            [[0, 10000], [1, 6000]],
            lambda p: identify(p, "ann@corp.example", ts=T0 + 100),
        ),
        _reading("visitor-bo", [[0, 4000], [2, 3000]]),
        _reading("visitor-cy", None),
    ]
    for body in readings:
        assert post_batch(client, body).status_code == 204
    return session.scalar(select(Content.id).where(Content.url == POST))


def _depth(client, content_id: int, query: str = "") -> dict:
    url = f"/dash/sites/blog/content/{content_id}?format=json{query}"
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["depth"]


def test_each_band_is_the_average_seconds_per_view_that_reported_bands(
    client, content_id
):
    depth = _depth(client, content_id)

    assert depth["views"] == 2
    assert depth["bands"] == [
        {"top_px": 0, "height_px": 100, "avg_s": 7.0},
        {"top_px": 100, "height_px": 100, "avg_s": 3.0},
        {"top_px": 200, "height_px": 100, "avg_s": 1.5},
    ]


def test_the_depth_map_follows_the_segment_and_the_dates(client, content_id):
    leads = _depth(client, content_id, "&segment=leads")
    assert leads["views"] == 1
    assert [b["avg_s"] for b in leads["bands"]] == [10.0, 6.0]

    assert _depth(client, content_id, "&since=2001-01-01&until=2001-01-02") == {
        "views": 0,
        "bands": [],
    }


def test_the_content_page_draws_the_depth_map_beside_the_page(client, content_id):
    html = client.get(f"/dash/sites/blog/content/{content_id}").get_data(as_text=True)

    assert 'id="fig-depth"' in html and 'id="fig-depth-data"' in html
    assert "Attention by depth" in html and "(2 views)" in html


def test_without_bands_the_page_says_so_and_draws_no_map(client, session, site):
    assert post_batch(client, _reading("visitor-dee", None)).status_code == 204
    content_id = session.scalar(select(Content.id).where(Content.url == POST))

    html = client.get(f"/dash/sites/blog/content/{content_id}").get_data(as_text=True)

    assert "No attention by depth received yet" in html
    assert 'id="fig-depth"' not in html


# --- the figure, from literal rows ----------------------------------------------------


def test_the_longest_band_is_the_hottest_and_nothing_is_drawn_where_nobody_looked():
    bands = [
        DepthBand(0, 100, 8.0),
        DepthBand(100, 100, 2.0),
        DepthBand(200, 100, 0.0),
    ]
    fig = go.Figure(depth_figure(bands, Backdrop(1440, 3000), views=4))

    heat, bars = fig.data
    assert [row[0] for row in heat.z] == [8.0, 2.0, 0.0]
    assert (heat.zmin, heat.zmax) == (0, 8.0)
    assert list(heat.y) == [0, 100, 200, 300]  # cell edges, 100 px each
    assert heat.zsmooth == "best"  # blended, and no inline style (the CSP)
    assert DEPTH_SCALE[0][1].endswith(",0.0)")  # 0 s: the page shows through
    assert DEPTH_SCALE[-1][1].startswith("rgba(252,255,164")  # the hottest: the
    # longest band is inferno's pale yellow
    assert list(bars.x) == [8.0, 2.0, 0.0]
    assert "4 views" in fig.layout.xaxis2.title.text
    assert fig.layout.yaxis.range == (3000, 0)  # the page's own axis, top on top


def test_bands_below_the_drawn_page_are_left_out():
    bands = [DepthBand(top, 100, 1.0) for top in range(0, 1000, 100)]

    fig = go.Figure(depth_figure(bands, Backdrop(800, 600), views=1))

    assert len(fig.data[0].z) == 6
