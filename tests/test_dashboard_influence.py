"""Content influence: exact readers, conversion, lift, median days and
attribution from a known reading history, on SQLite and PostgreSQL.

The fixture ``sales_readings`` is shared with tests/test_dashboard_sales.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go
import pytest
from conftest import post_batch
from factories import attention, batch, click, identify, layout, new_id, pv, scroll
from sqlalchemy import select, update

from dashboard.figures.influence import AttributionBar, influence_figure
from resonance.core.models import Content, ContentGroup, Lead
from tracker import crm

DAY0 = datetime(2025, 3, 1)  # a Saturday; "d3" below is DAY0 + 3 days
HOST = "https://blog.example.com"
GUIDE = HOST + "/blog/guide"
PRICING = HOST + "/pricing"
CASE = HOST + "/blog/case-study"
ROI = HOST + "/blog/roi"
DOCS = HOST + "/docs/setup"
TITLES = {
    GUIDE: "Guide",
    PRICING: "Pricing",
    CASE: "Case study",
    ROI: "ROI",
    DOCS: "Setup",
}
GUIDE_WORDS = 460  # 460 words ÷ 230 per minute = 120 s expected
ADA, BOB, CY = "ada@acme.example", "bob@globex.example", "cy@widgets.example"


def moment(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def ms(at: datetime) -> int:
    """Epoch milliseconds of a naive UTC datetime, as the snippet sends."""
    return int(at.replace(tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class Reading:
    visitor: str
    email: str
    url: str
    at: datetime
    active_ms: int
    scroll_pct: int


# Every page view of the fixture. Pages are 1000 px high in a 400 px viewport,
# so a view starts at 40 % scrolled; a scroll event raises it.
READINGS = [
    # Ada: two browsers (vA1, then vA2). Reaches sales on d5 12:00.
    Reading("visitor-ada-1", ADA, GUIDE, moment(1), 70_000, 40),
    Reading("visitor-ada-1", ADA, PRICING, moment(2), 45_000, 80),
    Reading("visitor-ada-2", ADA, CASE, moment(3, 0), 20_000, 100),
    Reading("visitor-ada-2", ADA, GUIDE, moment(4), 50_000, 100),
    Reading("visitor-ada-2", ADA, PRICING, moment(4, 12, 5), 35_000, 50),
    Reading("visitor-ada-2", ADA, DOCS, moment(6), 40_000, 90),
    # Bob: reaches sales on d10 12:00; reads the guide only afterwards.
    Reading("visitor-bob-1", BOB, PRICING, moment(3), 60_000, 100),
    Reading("visitor-bob-1", BOB, CASE, moment(4), 60_000, 100),
    Reading("visitor-bob-1", BOB, ROI, moment(5), 60_000, 100),
    Reading("visitor-bob-1", BOB, GUIDE, moment(11), 60_000, 100),
    # Cy: never reaches sales.
    Reading("visitor-cy-01", CY, GUIDE, moment(2), 60_000, 100),
    Reading("visitor-cy-01", CY, DOCS, moment(3), 60_000, 100),
    Reading("visitor-cy-01", CY, PRICING, moment(4), 60_000, 100),
]
SALES = {ADA: moment(5), BOB: moment(10)}
PROFILES = {
    ADA: ("Ada Lovelace", "Acme Corp", "Sam Seller"),
    BOB: ("Bob Stone", "Globex", "Sam Seller"),
    CY: ("Cy Young", "100% Widgets", None),
}


def _events(reading: Reading, first_of_visitor: bool) -> list[dict]:
    """The beacon events of one page view, every event dated at the view (plus a
    few ms) so that the visits are cut exactly where the plan says."""
    t = ms(reading.at)
    view = pv(url=reading.url, ts=t, ti=TITLES[reading.url], vw=1440, vh=400, dh=1000)
    pid = view["p"]
    events = [view]
    if first_of_visitor:
        events.append(identify(pid, reading.email, ts=t + 1))
    if reading.scroll_pct > 40:
        depth = reading.scroll_pct * 10
        events.append(scroll(pid, depth, 1000, ts=t + 2))
    sections: list = []
    if reading.visitor == "visitor-ada-1" and reading.url == GUIDE:
        events.append(
            layout(
                pid,
                [
                    [1, "Guide", 0, 300],
                    [2, "Why it matters", 300, 300],
                    [2, "How to start", 600, 200],
                    [2, "FAQ", 800, 200],
                ],
                ts=t + 3,
            )
        )
        sections = [[0, 5_000], [1, 30_000], [2, 20_000], [3, 15_000]]
        events.append(click(pid, ts=t + 4, tx="Book a demo", h=HOST + "/demo"))
        events.append(
            click(
                pid,
                ts=t + 5,
                tg="p",
                tx="Some paragraph",
                h=None,
                s="p",
                **{"in": False},
            )
        )
    events.append(attention(pid, reading.active_ms, sections, ts=t + 6))
    return events


@pytest.fixture
def sales_readings(client, session, site) -> dict[str, int]:
    """The history of :func:`seed_sales_readings`: lead ids by e-mail."""
    return seed_sales_readings(client, session, site)


def seed_sales_readings(client, session, site) -> dict[str, int]:
    """Ada, Bob and Cy read as :data:`READINGS` says, through the collector;
    the CRM names them and moves Ada and Bob to sales. Returns lead ids by e-mail.

    Also catalog data: the guide has 460 words (``Content.words`` is written by
    the crawler, tracker/catalog.py, not by beacons), and a content group
    "Documentation" = ``/docs/**`` (site configuration).
    """
    seen: set[str] = set()
    for reading in READINGS:
        events = _events(reading, reading.visitor not in seen)
        seen.add(reading.visitor)
        response = post_batch(client, batch(*events, v=reading.visitor))
        assert response.status_code == 204, response.get_data(as_text=True)
    now = datetime(2025, 4, 1)
    for email, (name, company, owner) in PROFILES.items():
        crm.upsert_lead(
            session,
            site.id,
            email=email,
            name=name,
            company=company,
            owner=owner,
            now=now,
        )
    leads = {
        email: session.scalar(select(Lead.id).where(Lead.email == email))
        for email in PROFILES
    }
    for email, at in SALES.items():
        crm.record_stage_change(
            session,
            site.id,
            leads[email],
            stage_raw="Sales Qualified Lead",
            entered_at=at,
            crm_event_id=new_id("crm"),
            now=now,
        )
    session.execute(
        update(Content).where(Content.url == GUIDE).values(words=GUIDE_WORDS)
    )
    session.add(ContentGroup(site_id=site.id, name="Documentation", pattern="/docs/**"))
    session.commit()
    return leads


def _influence(client, query: str = "") -> dict:
    response = client.get(f"/dash/sites/blog/influence?format=json{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _table(report: dict) -> list[tuple]:
    return [
        (
            row["title"],
            row["readers"],
            row["readers_before_sales"],
            row["conversion_rate"],
            row["lift"],
            row["median_days"],
            row["first_touch"],
            row["last_touch"],
            row["linear"],
        )
        for row in report["rows"]
    ]


def test_influence_numbers_are_exact(client, sales_readings):
    """Leads: Ada, Bob, Cy (3 identified), Ada and Bob reached sales: baseline 2/3.

    First reads (a lead's touches are the items first viewed before sales):
      Ada (sales d5 12:00): Guide d1 12:00, Pricing d2 12:00, Case study d3 00:00
          (her re-reads of Guide and Pricing on d4 do not move their first view,
          so Case study stays her last touch); Setup d6 is after sales.
      Bob (sales d10 12:00): Pricing d3, Case study d4, ROI d5; Guide d11 is after.
      Cy (no sales): Guide d2, Setup d3, Pricing d4.

    Per item (conversion = before ÷ readers; lift = conversion ÷ 2/3):
      Case study: readers Ada, Bob = 2, both before → 1.0, lift 1.5; days to
          sales 2.5 (d3 00:00 → d5 12:00) and 6.0 → median 4.25; last touch of
          Ada; linear 1/3 (Ada's 3 touches) + 1/3 (Bob's 3) = 0.6667.
      Pricing: readers 3, before 2 (Ada, Bob) → 0.6667, lift 1.0; days 3.0 and
          7.0 → median 5.0; first touch of Bob; linear 1/3 + 1/3.
      ROI: readers 1 (Bob, before) → 1.0, lift 1.5; 5.0 days; last touch of Bob;
          linear 1/3.
      Guide: readers 3, before 1 (Ada; Bob read it after) → 0.3333, lift 0.5;
          4.0 days; first touch of Ada; linear 1/3.
      Setup: readers Ada (after sales) and Cy → 0 before, 0.0, lift 0.0, no
          median, no credit.
    Default order ("influence"): linear, then readers before sales, then lift:
    Case study and Pricing tie on linear and before, lift breaks it; same for
    ROI and Guide. Each credit column adds up to the 2 leads that reached sales.
    """
    report = _influence(client)

    assert (report["leads"], report["reached_sales"], report["baseline"]) == (
        3,
        2,
        0.6667,
    )
    assert _table(report) == [
        ("Case study", 2, 2, 1.0, 1.5, 4.25, 0, 1, 0.6667),
        ("Pricing", 3, 2, 0.6667, 1.0, 5.0, 1, 0, 0.6667),
        ("ROI", 1, 1, 1.0, 1.5, 5.0, 0, 1, 0.3333),
        ("Guide", 3, 1, 0.3333, 0.5, 4.0, 1, 0, 0.3333),
        ("Setup", 2, 0, 0.0, 0.0, None, 0, 0, 0.0),
    ]
    rows = report["rows"]
    assert sum(r["first_touch"] for r in rows) == 2
    assert sum(r["last_touch"] for r in rows) == 2
    assert round(sum(r["linear"] for r in rows), 3) == 2.0


def test_influence_date_range_counts_only_reads_in_it(client, sales_readings):
    """From d4 (2025-03-05) on: Ada's touches are Guide d4 12:00 then Pricing
    d4 12:05 (first Guide, last Pricing, 1/2 each); Bob read the guide after
    sales. Guide: readers Ada and Bob, before 1 (Ada, 1.0 day to d5 12:00)."""
    report = _influence(client, "&since=2025-03-05")

    guide = next(r for r in report["rows"] if r["title"] == "Guide")
    assert (report["leads"], report["reached_sales"]) == (3, 2)
    assert (
        guide["readers"],
        guide["readers_before_sales"],
        guide["median_days"],
        guide["first_touch"],
        guide["last_touch"],
        guide["linear"],
    ) == (2, 1, 1.0, 1, 0, 0.5)


def test_influence_before_any_reading_is_empty(client, sales_readings):
    report = _influence(client, "&until=2025-03-01")

    assert (report["leads"], report["baseline"], report["rows"]) == (0, None, [])


@pytest.mark.parametrize(
    ("sort", "first_titles"),
    [
        ("readers", ["Pricing", "Guide"]),
        ("lift", ["Case study", "ROI"]),
        ("median_days", ["Guide", "Case study"]),
        ("title", ["Case study", "Guide"]),
        ("first_touch", ["Pricing", "Guide"]),
    ],
)
def test_influence_sorts_by_the_chosen_column(
    client, sales_readings, sort, first_titles
):
    report = _influence(client, f"&sort={sort}")

    assert [r["title"] for r in report["rows"]][:2] == first_titles


@pytest.mark.parametrize(
    "query", ["sort=clicks", "since=yesterday", "until=2025-02-30", "sort=%27"]
)
def test_influence_bad_arguments_are_a_400(client, site, query):
    assert client.get(f"/dash/sites/blog/influence?{query}").status_code == 400
    json = client.get(f"/dash/sites/blog/influence?format=json&{query}")
    assert json.status_code == 400


def test_influence_of_unknown_site_is_a_404(client, site):
    assert client.get("/dash/sites/nope/influence").status_code == 404


def test_influence_page_embeds_the_figure_as_json_without_inline_code(
    client, sales_readings
):
    html = client.get("/dash/sites/blog/influence").get_data(as_text=True)

    assert '<script type="application/json" id="influence-figure-data">' in html
    assert "Case study" in html and ">4.25<" in html
    html = re.sub(r'<script nonce="[^"]+"', "<script", html)  # the CSP nonce
    scripts = html.count("<script")
    assert scripts == html.count("<script defer src=") + html.count(
        '<script type="application/json"'
    )


def test_influence_page_escapes_titles(client, site):
    view = pv(url=HOST + "/x", ti="<img src=x onerror=alert(1)>")
    post_batch(
        client, batch(view, identify(view["p"], "x@corp.example"), v="visitor-x")
    )

    html = client.get("/dash/sites/blog/influence").get_data(as_text=True)

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_influence_figure_escapes_plotly_markup_and_keeps_order():
    """Plotly reads <b>, <a href> in labels as markup: a title is escaped."""
    bars = [
        AttributionBar("<a href='javascript:x'>Bad</a>", HOST + "/a", 1, 0, 0.5),
        AttributionBar("Guide", HOST + "/g", 0, 1, 0.25),
    ]

    figure = go.Figure(influence_figure(bars))

    linear, first, last = figure.data
    assert (linear.name, first.name, last.name) == (
        "Linear",
        "First touch",
        "Last touch",
    )
    assert list(figure.layout.yaxis.ticktext) == [
        "&lt;a href='javascript:<br>x'&gt;Bad&lt;/a&gt;",
        "Guide",
    ]
    assert list(linear.y) == list(figure.layout.yaxis.tickvals) == [0, 1]
    assert [row[0] for row in linear.customdata] == [
        "&lt;a href='javascript:x'&gt;Bad&lt;/a&gt;",
        "Guide",
    ]  # the whole title, in the hover
    assert list(linear.x) == [0.5, 0.25]
    assert list(first.x) == [1, 0] and list(last.x) == [0, 1]
    assert figure.layout.yaxis.autorange == "reversed"


def test_influence_labels_are_short_and_two_titles_alike_stay_two_rows():
    """A phone has about 320 px for the whole chart: labels take two lines of
    20 characters at most; titles alike up to there are still two rows."""
    long = "Lead scoring that sales trusts, part "
    bars = [
        AttributionBar(long + "one", HOST + "/1", 1, 0, 1.0),
        AttributionBar(long + "two", HOST + "/2", 0, 1, 0.5),
    ]

    figure = go.Figure(influence_figure(bars))

    labels = list(figure.layout.yaxis.ticktext)
    assert labels == ["Lead scoring that<br>sales trusts, part…"] * 2
    assert all(len(line) <= 20 for label in labels for line in label.split("<br>"))
    assert list(figure.data[0].y) == [0, 1]
    assert figure.layout.yaxis.automargin is True
