"""The demo site and its synthetic traffic: the batches checked on their own,
then stored through the real ingest on both stores.

The beacon checker (``tests/beacon_rules.py``) restates docs/beacon.md on its
own instead of reusing ``tracker.beacon``, so a generator bug and a collector bug
cannot cancel out. Layout facts are read straight from ``layout.json`` for the
same reason.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, Response
from sqlalchemy import func, select

from resonance.core.models import (
    AttentionBand,
    Click,
    Identify,
    IdentityConflict,
    Lead,
    PageView,
    Visitor,
)
from resonance.demo.pages import ARTICLES, PAGE_PATHS, bp
from resonance.demo.site import DEMO_ORIGIN
from resonance.demo.traffic import demo_batches, seed_demo
from tests.beacon_rules import beacon_problems
from tests.conftest import count

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
LAYOUT = json.loads(
    (Path(__file__).parents[1] / "resonance/demo/layout.json").read_text("utf-8")
)
SNIPPET_STUB = (
    "<script>window.resonance=window.resonance||function(){"
    "(resonance.q=resonance.q||[]).push(arguments)}</script>"
)
SNIPPET_TAG = '<script defer src="/r.js" data-site="{key}"></script>'

Batch = dict[str, Any]
Meta = dict[str, str]


@pytest.fixture(scope="module")
def sent() -> list[tuple[Batch, Meta]]:
    """The default demo (400 visitors, 30 days, seed 7), made once per module."""
    return list(demo_batches("demo", now=NOW))


@pytest.fixture(scope="module")
def events(sent) -> list[tuple[Batch, dict]]:
    return [(batch, event) for batch, _ in sent for event in batch["e"]]


@pytest.fixture(scope="module")
def pageviews(events) -> dict[str, dict]:
    return {e["id"]: e for _, e in events if e["t"] == "pv"}


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------


def test_same_seed_gives_the_same_batches_and_another_seed_does_not():
    def run(seed: int) -> str:
        # A digest, so that a failure does not make pytest diff megabytes.
        batches = list(demo_batches("demo", visitors=40, seed=seed, now=NOW))
        return hashlib.sha256(json.dumps(batches).encode()).hexdigest()

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_every_batch_follows_the_documented_beacon_rules(sent):
    problems = {
        index: found
        for index, (batch, _) in enumerate(sent)
        if (found := beacon_problems(batch, NOW))
    }
    assert not problems, list(problems.items())[:5]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("e", 0, "ts"), 4_102_444_800_000),  # far in the future
        (("e", 0, "id"), "short"),
        (("e", 0, "t"), "zz"),
        (("e", 0, "extra"), 1),
        (("i",), 2),
        (("s",), ""),
    ],
)
def test_the_beacon_checker_itself_catches_broken_batches(sent, path, value):
    batch = json.loads(json.dumps(sent[0][0]))
    target = batch
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert beacon_problems(batch, NOW)


def test_batches_are_small_and_every_event_refers_to_a_page_view_sent_before(sent):
    known: set[str] = set()
    for batch, _ in sent:
        assert len(batch["e"]) <= 50
        known |= {e["id"] for e in batch["e"] if e["t"] == "pv"}
        assert all(e["p"] in known for e in batch["e"])


def test_ids_are_16_url_safe_characters_and_event_ids_unique(sent, events):
    sixteen = re.compile(r"^[A-Za-z0-9_-]{16}$")
    assert all(sixteen.match(batch["v"]) for batch, _ in sent)
    ids = [event["id"] for _, event in events]
    assert all(sixteen.match(i) for i in ids)
    assert len(ids) == len(set(ids))


def test_no_timestamp_is_in_the_future_and_all_fall_in_the_window(events):
    stamps = [event["ts"] for _, event in events]
    assert max(stamps) <= NOW.timestamp() * 1000
    assert min(stamps) >= (NOW - timedelta(days=30)).timestamp() * 1000
    # Spread over the month, not bunched at one end.
    days = {datetime.fromtimestamp(ts / 1000, UTC).date() for ts in stamps}
    assert len(days) >= 25


def test_each_batch_is_oldest_first_and_sent_in_time_order(sent):
    sent_at = [max(e["ts"] for e in batch["e"]) for batch, _ in sent]
    assert sent_at == sorted(sent_at)
    for batch, _ in sent:
        stamps = [e["ts"] for e in batch["e"]]
        assert stamps == sorted(stamps)


def test_first_batch_has_pv_and_layout_and_the_last_has_scroll_and_attention(sent):
    batches_of: dict[str, list[list[str]]] = defaultdict(list)
    for batch, _ in sent:
        for pv_id in {e["p"] for e in batch["e"]}:
            batches_of[pv_id].append([e["t"] for e in batch["e"] if e["p"] == pv_id])
    for kinds in batches_of.values():
        assert kinds[0][:2] == ["pv", "l"]
        assert {"s", "a"} <= set(kinds[-1])


def _element(path: str, selector: str) -> tuple[int, dict] | None:
    for index, element in enumerate(LAYOUT["pages"][path]["elements"]):
        if element["s"] == selector:
            return index, element
    return None


def test_clicks_use_recorded_selectors_and_land_inside_the_element_box(
    events, pageviews
):
    for _, click in (item for item in events if item[1]["t"] == "c"):
        path = urlsplit(pageviews[click["p"]]["u"]).path
        found = _element(path, click["s"])
        assert found, (path, click["s"])
        index, element = found
        box = LAYOUT["pages"][path]["layouts"][str(click["vw"])]["box"][index]
        assert box is not None, (path, click["vw"], click["s"])
        left, top, width, height = box
        assert left <= click["x"] <= left + width
        assert top <= click["y"] <= top + height
        assert abs(left + click["fx"] * width - click["x"]) <= 1
        assert abs(top + click["fy"] * height - click["y"]) <= 1
        assert click["tg"] == element["tg"]
        assert click["in"] == element["in"]
        assert click.get("tx", "") == element["tx"]
        if element["h"]:
            assert urlsplit(click["h"]).path == urlsplit(element["h"]).path


def test_dead_and_error_clicks_carry_the_verdict_of_the_snippets_extension(
    events, pageviews
):
    flagged: Counter[str] = Counter()
    for _, click in (item for item in events if item[1]["t"] == "c"):
        flags = {flag for flag in ("dd", "er") if flag in click}
        if not flags:
            continue
        # The extension arrives a second after the page starts to load.
        assert click["ts"] - pageviews[click["p"]]["ts"] >= 1000
        assert len(flags) == 1
        if "dd" in flags:
            assert not click["in"]
        else:  # the tour button's script fails now and then
            assert click["tg"] == "button" and "h" not in click
        flagged.update(flags)
    assert flagged["dd"] > 100
    assert flagged["er"] > 5


def test_layout_events_report_the_sections_of_layout_json(events, pageviews):
    for _, event in (item for item in events if item[1]["t"] == "l"):
        pv = pageviews[event["p"]]
        layout = LAYOUT["pages"][urlsplit(pv["u"]).path]["layouts"][str(pv["vw"])]
        expected = [sec[:4] for sec in layout["sec"]]
        expected[-1][3] = pv["dh"] - expected[-1][2]  # last one to the end
        assert event["sec"] == expected


def test_scroll_and_attention_never_decrease_within_a_page_view(events):
    by_pageview: dict[str, list[dict]] = defaultdict(list)
    for _, event in events:
        if event["t"] in ("s", "a"):
            by_pageview[event["p"]].append(event)
    repeated = 0
    for series in by_pageview.values():
        series.sort(key=lambda e: e["ts"])
        scrolls = [e["d"] for e in series if e["t"] == "s"]
        attention = [e for e in series if e["t"] == "a"]
        assert scrolls == sorted(scrolls)
        assert [e["ms"] for e in attention] == sorted(e["ms"] for e in attention)
        for before, after in zip(attention, attention[1:], strict=False):
            later = dict(map(tuple, after["a"]))
            assert all(later.get(i, 0) >= ms for i, ms in before["a"])
        repeated += len(scrolls) > 1
    assert repeated > 0  # some page views do flush more than once


def _last_attention(events) -> dict[str, dict]:
    """Each page view's last (so cumulative) attention event."""
    last: dict[str, dict] = {}
    for _, event in events:
        if event["t"] == "a" and event["ts"] >= last.get(event["p"], event)["ts"]:
            last[event["p"]] = event
    return last


def test_each_active_second_is_shared_among_the_sections_on_screen(events):
    """The sections of a page view add up to its active time (the snippet divides
    each active second by the share of the viewport each section covers), where
    they once summed to far more (a sliver on screen counted a whole second)."""
    checked = 0
    for event in _last_attention(events).values():
        if event["a"]:
            total = sum(ms for _, ms in event["a"])
            assert abs(total - event["ms"]) <= len(event["a"]), event
            checked += 1
    assert checked > 1000


def test_the_band_map_agrees_with_section_attention(events, pageviews):
    """A section's time is that of the bands it spans times 100 px over the
    viewport height, summed over the demo. Where the sections do not fill the
    screen (the site's header above a page's first heading) the snippet gives
    the sections the whole second all the same, so a first section reads up to
    a sixth above its bands; every other section agrees within a few percent."""
    layouts = {e["p"]: e["sec"] for _, e in events if e["t"] == "l"}
    section_ms: Counter[str] = Counter()
    from_bands: Counter[str] = Counter()
    for pv_id, event in _last_attention(events).items():
        vh, bands = pageviews[pv_id]["vh"], dict(map(tuple, event["b"]))
        for index, ms in event["a"]:
            _, heading, top, height = layouts[pv_id][index]
            section_ms[heading] += ms
            spanned = sum(
                band_ms * max(0, min(top + height, b * 100 + 100) - max(top, b * 100))
                for b, band_ms in bands.items()
            )
            from_bands[heading] += spanned / vh
    ratios = sorted(
        from_bands[heading] / ms
        for heading, ms in section_ms.items()
        if ms > 600_000  # ten minutes or more: enough readers to average
    )
    assert len(ratios) > 20
    assert 0.8 <= ratios[0] and ratios[-1] <= 1.05
    assert 0.98 <= ratios[len(ratios) // 2] <= 1.02


def test_bands_cover_what_was_on_screen_and_never_run_past_the_page(events, pageviews):
    for pv_id, event in _last_attention(events).items():
        view = pageviews[pv_id]
        bands = [band for band, _ in event["b"]]
        # A reader moves down the page (from an anchor, maybe): no band skipped.
        assert bands == list(range(bands[0], bands[-1] + 1)), event
        assert bands[-1] * 100 < view["dh"]
        # Every active millisecond a whole screen of bands was on screen.
        screens = sum(ms for _, ms in event["b"]) * 100 / min(view["vh"], view["dh"])
        assert abs(screens - event["ms"]) <= len(bands), event


def test_marked_form_identifies_carry_the_name_and_company_typed(events):
    forms = [e for _, e in events if e["t"] == "id" and "nm" in e]
    assert len(forms) > 10
    for event in forms:
        first, _, rest = event["em"].partition(".")
        assert event["nm"].split()[0].lower() == first
        assert "co" not in event or event["co"].lower().replace(" ", "-") in rest
    assert any("co" in e for e in forms) and any("co" not in e for e in forms)


def test_about_one_visitor_in_eight_identifies(sent):
    visitors = {batch["v"] for batch, _ in sent}
    identified = {
        batch["v"] for batch, _ in sent if any(e["t"] == "id" for e in batch["e"])
    }
    assert 0.08 <= len(identified) / len(visitors) <= 0.16


def test_second_devices_and_a_shared_browser_are_in_the_data(sent):
    emails_of: dict[str, set[str]] = defaultdict(set)
    visitors_of: dict[str, set[str]] = defaultdict(set)
    for batch, _ in sent:
        for event in batch["e"]:
            if event["t"] == "id":
                emails_of[batch["v"]].add(event["em"])
                visitors_of[event["em"]].add(batch["v"])
    assert any(len(v) >= 2 for v in visitors_of.values())  # second device
    assert all(len(e) == 1 for e in emails_of.values())  # one person per id
    # The shared browser: a colleague identifies later, and the snippet gives
    # the browser a fresh id, naming the previous one once, in that batch.
    rotated = [batch for batch, _ in sent if "o" in batch]
    assert rotated
    for batch in rotated:
        assert batch["e"][0]["t"] == "id"
        assert emails_of[batch["o"]] and emails_of[batch["o"]] != emails_of[batch["v"]]
    companies = {email.split("@")[1] for email in visitors_of}
    assert len(companies) < len(visitors_of)  # some accounts have several people
    assert all(
        re.match(r"^[a-z]+\.[a-z]+@[a-z0-9-]+\.example$", e) for e in visitors_of
    )


def test_a_few_internal_visitors_and_they_never_identify(sent):
    internal = {batch["v"] for batch, _ in sent if batch.get("i") == 1}
    assert 1 <= len(internal) <= 12
    for batch, _ in sent:
        if batch["v"] in internal:
            assert batch.get("i") == 1
            assert all(e["t"] != "id" for e in batch["e"])


def test_device_mix_sources_and_user_agents_look_like_real_traffic(sent, pageviews):
    widths = {}
    for batch, _ in sent:
        for event in batch["e"]:
            if event["t"] == "pv":
                widths[batch["v"]] = event["vw"]
    share = Counter(
        "mobile" if w < 768 else "tablet" if w < 1024 else "desktop"
        for w in widths.values()
    )
    assert 0.45 <= share["desktop"] / len(widths) <= 0.65
    assert 0.08 <= share["tablet"] / len(widths) <= 0.22
    assert 0.2 <= share["mobile"] / len(widths) <= 0.4
    referrers = {urlsplit(pv.get("r", "")).hostname for pv in pageviews.values()}
    assert {"www.google.com", "www.linkedin.com"} <= referrers
    sources = {
        query.split("&")[0]
        for pv in pageviews.values()
        if (query := urlsplit(pv["u"]).query)
    }
    assert {"utm_source=newsletter", "utm_source=linkedin"} <= sources
    for _, meta in sent:
        address = ipaddress.ip_address(meta["ip"])
        assert any(
            address in ipaddress.ip_network(net)
            for net in ("203.0.113.0/24", "198.51.100.0/24")
        )
        agent = meta["user_agent"]
        assert agent.startswith("Mozilla/5.0 (")
        assert not re.search(r"bot|headless|crawl|python", agent, re.I)


def test_later_page_views_of_a_session_are_referred_by_the_previous_one(sent):
    last_pv: dict[str, dict] = {}
    chained = 0
    for batch, _ in sent:
        for event in batch["e"]:
            if event["t"] != "pv":
                continue
            previous = last_pv.get(batch["v"])
            if previous and event["ts"] - previous["ts"] < 30 * 60_000:
                assert event["r"] == previous["u"]
                chained += 1
            last_pv[batch["v"]] = event
    assert chained > 100


def test_rage_click_bursts_exist(events):
    clicks: dict[str, list[dict]] = defaultdict(list)
    for _, event in events:
        if event["t"] == "c":
            clicks[event["p"]].append(event)
    bursts = 0
    for series in clicks.values():
        for a, _, c in zip(series, series[1:], series[2:], strict=False):
            near = abs(a["x"] - c["x"]) + abs(a["y"] - c["y"]) < 30
            bursts += a["s"] == c["s"] and c["ts"] - a["ts"] < 1000 and near
    assert bursts >= 10


# --------------------------------------------------------------------------
# seed_demo stores it through the real ingest
# --------------------------------------------------------------------------


def test_seed_demo_stores_every_generated_event_through_ingest(session, demo_site):
    expected = list(demo_batches("demo", visitors=30, now=NOW))
    kinds = Counter(e["t"] for batch, _ in expected for e in batch["e"])
    progress: list[tuple[int, int]] = []

    stored = seed_demo(
        session, "demo", visitors=30, now=NOW, progress=lambda *a: progress.append(a)
    )

    assert stored == sum(kinds.values())
    assert count(session, PageView) == kinds["pv"]
    assert count(session, Click) == kinds["c"]
    dead = [e for batch, _ in expected for e in batch["e"] if e.get("dd")]
    assert session.scalar(select(func.count()).where(Click.dead.is_(True))) == len(dead)
    assert count(session, Identify) == kinds["id"] > 0
    assert count(session, Visitor) == len({batch["v"] for batch, _ in expected})
    rotated = [batch for batch, _ in expected if "o" in batch]
    assert count(session, IdentityConflict) == len(rotated) > 0
    assert progress[-1] == (len(expected), len(expected))
    bands = {(e["p"], b) for batch, _ in expected for e in batch["e"] if e["t"] == "a"
             for b, _ in e["b"]}  # fmt: skip
    assert count(session, AttentionBand) == len(bands) > 0
    named = {e["em"]: e["nm"] for b, _ in expected for e in b["e"] if "nm" in e}
    leads = dict(session.execute(select(Lead.email, Lead.name)).all())
    assert named and all(leads[email] == name for email, name in named.items())


# --------------------------------------------------------------------------
# The demo pages
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_client():
    app = Flask(__name__)
    app.config["DEMO_SITE_KEY"] = "northwind-key"
    app.register_blueprint(bp)

    @app.get("/r.js")
    def stub_snippet() -> Response:
        return Response("", mimetype="text/javascript")

    return app.test_client()


class PageOutline(HTMLParser):
    """Headings, links and forms of a page, enough to check its structure."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.links: list[str] = []
        self.inputs: list[dict[str, str | None]] = []
        self.forms: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "h3"):
            self.headings.append(tag)
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        elif tag == "input":
            self.inputs.append(dict(attrs))
        elif tag == "form":
            self.forms.append(dict(attrs))


def outline(html: str) -> PageOutline:
    parser = PageOutline()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_demo_page_renders_with_the_snippet_and_its_layout(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    head = html.split("</head>")[0]
    assert head.count(SNIPPET_STUB) == 1
    assert head.count(SNIPPET_TAG.format(key="northwind-key")) == 1
    assert demo_client.get("/r.js").status_code == 200
    page = outline(html)
    assert page.headings.count("h1") == 1
    for width, layout in LAYOUT["pages"][path]["layouts"].items():
        levels = [f"h{sec[0]}" for sec in layout["sec"]]
        assert levels == page.headings, width


def test_layout_json_covers_every_page_at_the_heatmap_widths():
    assert set(LAYOUT["pages"]) == set(PAGE_PATHS)
    assert {375, 768, 1440} <= set(LAYOUT["widths"])
    for page in LAYOUT["pages"].values():
        assert {str(w) for w in LAYOUT["widths"]} == set(page["layouts"])
    size = (Path(__file__).parents[1] / "resonance/demo/layout.json").stat().st_size
    assert size < 300_000


class ArticleText(HTMLParser):
    """Words of the article body, outside the call-to-action box."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # inside .post-body
        self.skip = 0  # inside the CTA box
        self.words = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += tag not in ("br", "img", "input")
            self.skip += bool(self.skip) or "cta-box" in classes
        elif "post-body" in classes:
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data: str) -> None:
        if self.depth and not self.skip:
            self.words += len(data.split())


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_articles_have_reading_length_structure_and_a_call_to_action(
    demo_client, article
):
    html = demo_client.get(f"/demo/blog/{article.slug}").get_data(as_text=True)
    text = ArticleText()
    text.feed(html)
    assert 900 <= text.words <= 1500
    page = outline(html)
    assert page.headings.count("h1") == 1
    assert 4 <= page.headings.count("h2") <= 7
    assert page.headings.count("h3") >= 1
    assert sum(link.startswith("/demo/blog/") for link in page.links) >= 2
    assert 'id="article-cta"' in html


def test_contact_form_identifies_by_email_and_goes_to_thanks(demo_client):
    page = outline(demo_client.get("/demo/contact").get_data(as_text=True))
    (form,) = page.forms
    assert "data-resonance-identify" in form
    assert form["method"] == "get"
    assert form["action"] == "/demo/thanks"
    types_by_name = {i["name"]: i["type"] for i in page.inputs}
    assert types_by_name == {"name": "text", "email": "email", "company": "text"}
    assert demo_client.get("/demo/thanks?email=a%40b.example").status_code == 200


def test_unknown_article_is_not_found(demo_client):
    assert demo_client.get("/demo/blog/no-such-post").status_code == 404


def test_page_urls_point_at_the_demo_origin(pageviews):
    assert all(pv["u"].startswith(f"{DEMO_ORIGIN}/demo/") for pv in pageviews.values())
