"""Clicked elements get human names: the label measured on the snapshot, else
the text people clicked most, else "button in section 'Pricing'", else the
tag's word; the selector stays in the tooltip and the heatmap's hover. Names
come from browsers: always escaped."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from urllib.parse import quote

import plotly.graph_objects as go
import pytest
from conftest import post_batch
from factories import batch, click, layout, pv
from sqlalchemy import select

from dashboard.figures import Backdrop, heatmap_figure
from dashboard.queries.clicks import GridBin
from resonance.core.models import Content, Snapshot, SnapshotElement
from tracker.snapshots import LABEL_LEN, capture

POST = "https://blog.example.com/pricing"
HOSTILE = "<img src=x onerror=alert(1)>"
T0 = 1_000_000  # ms after the page view: clicks 2 s apart, never a rage burst


def _click(pid: str, n: int, selector: str, **fields) -> dict:
    view_ts = fields.pop("view_ts")
    return click(pid, ts=view_ts + 2000 * n, s=selector, **fields)


@pytest.fixture
def content_id(client, session, site) -> int:
    """One page view with sections "Plans" (0–800) and "Pricing" (800–2000):
    #buy clicked 3 times ("Buy now" twice, "Buy" once), #icon (a button with no
    text) twice at y 900 and 950, #hero once; a second view without sections
    with one click on a text-less svg, #bare."""
    view = pv(url=POST, ti="Pricing")
    t = view["ts"]
    sections = [[1, "Plans", 0, 800], [2, "Pricing", 800, 1200]]
    events = [view, layout(view["p"], sections)]
    events += [
        _click(view["p"], 1, "#buy", x=100, y=100, tx="Buy now", view_ts=t),
        _click(view["p"], 2, "#buy", x=100, y=100, tx="Buy now", view_ts=t),
        _click(view["p"], 3, "#buy", x=100, y=100, tx="Buy", view_ts=t),
        _click(view["p"], 4, "#icon", x=500, y=900, tx="", tg="button", view_ts=t),
        _click(view["p"], 5, "#icon", x=500, y=950, tx="", tg="button", view_ts=t),
        _click(view["p"], 6, "#hero", x=900, y=300, tx="Hero", tg="img", view_ts=t),
    ]
    other = pv(url=POST, ti="Pricing")
    events += [other, _click(other["p"], 1, "#bare", tx="", tg="svg", view_ts=t)]
    assert post_batch(client, batch(*events)).status_code == 204
    return session.scalar(select(Content.id).where(Content.url == POST))


def _label_hero(session, content_id: int) -> None:
    """A 1,440 px snapshot whose #hero box carries a hostile label."""
    snap = Snapshot(
        content_id=content_id,
        width_px=1440,
        height_px=2000,
        taken_at=datetime(2026, 1, 2, 3, 4, 5),
        image="snap.png",
    )
    session.add(snap)
    session.flush()
    session.add(
        SnapshotElement(
            snapshot_id=snap.id,
            selector="#hero",
            left_px=800,
            top_px=200,
            width_px=400,
            height_px=200,
            label=HOSTILE,
        )
    )
    session.commit()


def test_top_elements_are_named_by_label_text_section_or_tag(
    client, session, content_id
):
    _label_hero(session, content_id)

    page = client.get(f"/dash/sites/blog/content/{content_id}?format=json").json

    named = [
        (e["name"], e["name_source"], e["selector"], e["text"], e["clicks"])
        for e in page["elements"]
    ]
    assert named == [
        ("Buy now", "text", "#buy", "Buy now", 3),
        ("button in section 'Pricing'", "section", "#icon", "", 2),
        ("icon", "tag", "#bare", "", 1),
        (HOSTILE, "label", "#hero", "Hero", 1),
    ]


def test_the_table_shows_names_escaped_with_the_selector_in_the_tooltip(
    client, session, content_id
):
    _label_hero(session, content_id)

    html = client.get(f"/dash/sites/blog/content/{content_id}").get_data(as_text=True)

    assert HOSTILE not in html
    assert (
        '<td title="#hero (named on the snapshot)"><span class="element-name">'
        "&lt;img src=x onerror=alert(1)&gt;</span>"
    ) in html
    assert '<span class="element-name">Buy now</span>' in html
    assert "button in section &#39;Pricing&#39;" in html
    assert "<code>#buy</code>" not in html  # the selector is no longer the name


def test_the_elements_csv_has_every_element_with_its_name_and_selector(
    client, session, content_id
):
    _label_hero(session, content_id)

    response = client.get(f"/dash/sites/blog/content/{content_id}/elements.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"elements-{content_id}.csv" in response.headers["Content-Disposition"]
    header, *rows = csv.reader(io.StringIO(response.get_data(as_text=True)))
    assert header[:3] == ["name", "named_by", "selector"]
    assert header[-5:] == [
        "clicks",
        "page_views",
        "rage_clicks",
        "dead_clicks",
        "error_clicks",
    ]
    assert [(r[0], r[1], r[2], r[header.index("clicks")]) for r in rows] == [
        ("Buy now", "text", "#buy", "3"),
        ("button in section 'Pricing'", "section", "#icon", "2"),
        ("icon", "tag", "#bare", "1"),
        (HOSTILE, "label", "#hero", "1"),
    ]


def test_the_elements_csv_follows_the_pages_filter_and_site(client, content_id):
    other_device = client.get(
        f"/dash/sites/blog/content/{content_id}/elements.csv?device=mobile"
    )
    elsewhere = client.get(f"/dash/sites/nope/content/{content_id}/elements.csv")

    assert list(csv.reader(io.StringIO(other_device.get_data(as_text=True))))[1:] == []
    assert elsewhere.status_code == 404


def test_the_heatmap_hover_names_the_element_with_its_selector_beneath():
    bins = [GridBin(96, 16, 3, 2, "#nav > a:nth-of-type(2)", HOSTILE)]

    fig = go.Figure(heatmap_figure(bins, Backdrop(1440, 2000)))

    [hover] = [t for t in fig.data if t.type == "scatter"]
    assert [list(row) for row in hover.customdata] == [
        [3, 2, "&lt;img src=x onerror=alert(1)&gt;", "#nav &gt; a:nth-of-type(2)"]
    ]
    assert hover.hovertemplate.startswith("<b>%{customdata[2]}</b><br>")
    counts = "Clicks: %{customdata[0]} · page views: %{customdata[1]}"
    assert counts in hover.hovertemplate


PAGE = f"""<!doctype html>
<style>.dot {{ display: inline-block; width: 9px; height: 9px }}</style><body>
<button id="text">  Book
   a    demo </button>
<a id="aria" href="#" aria-label="Open the menu"><svg width="20" height="20"></svg></a>
<a id="alt" href="#"><img alt="Northwind logo" width="40" height="20"></a>
<div id="titled" title="Close" style="width:20px;height:20px"></div>
<span id="data" data-testid="share-button" class="dot"></span>
<input id="submit" type="submit" value="Send the form">
<label for="email">Work e-mail</label><input id="email">
<p id="long">{"word " * 60}</p>
<p id="hostile">{HOSTILE.replace("<", "&lt;")}</p>
</body>"""
SELECTORS = ["#text", "#aria", "#alt", "#titled", "#data", "#submit", "#email"]
SELECTORS += ["#long", "#hostile"]


def test_capture_records_each_elements_human_label_in_chromium(chromium):
    url = "data:text/html," + quote(PAGE)

    shot = capture(chromium, url, 1440, SELECTORS)

    assert shot.labels == {
        "#text": "Book a demo",
        "#aria": "Open the menu",
        "#alt": "Northwind logo",
        "#titled": "Close",
        "#data": "share-button",
        "#submit": "Send the form",
        "#email": "Work e-mail",
        "#long": ("word " * 24).strip(),
        "#hostile": HOSTILE,
    }
    assert LABEL_LEN == 120
