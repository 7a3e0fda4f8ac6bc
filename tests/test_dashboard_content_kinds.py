"""Conversion pages (contact, demo request, thank-you): decided from the URL and
the crawl, set by hand by editors, and left out of influence credit and
suggested reads unless ``?conversion=1``, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import csrf_token, form_csrf_token, post_batch
from factories import attention, batch, identify, pv
from sqlalchemy import select, update
from test_dashboard_influence import HOST, moment, ms, seed_sales_readings

from resonance.core.models import Content
from tracker.catalog import parse_page, store_outline
from tracker.content_kinds import kind_of_url

THANKS = HOST + "/thank-you"
NOW = datetime(2025, 4, 1)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://x.example/thank-you", "conversion"),
        ("https://x.example/en/Contact_Us.html", "conversion"),
        ("https://x.example/book-a-demo", "conversion"),
        ("https://x.example/signup/team", "conversion"),
        ("https://x.example/demo/thanks", "conversion"),
        ("https://x.example/demo", "content"),  # a tour as often as a form
        ("https://x.example/blog/thanks-giving-recipes", "content"),
        ("https://x.example/blog/post?next=contact", "content"),
    ],
)
def test_url_rules_name_conversion_pages_by_whole_path_segments(url, kind):
    assert kind_of_url(url) == kind


FORM_PAGE = """<html><head><title>Book a demo</title></head><body><main>
<h1>Book a demo</h1><p>Thirty minutes with our team.</p>
<form><label>Work e-mail <input type="email" name="email"></label>
<label>Company <input name="company"></label><button>Book</button></form>
</main></body></html>"""
ARTICLE_WITH_NEWSLETTER = (
    "<html><body><main><h1>Guide</h1><p>"
    + "word " * 400
    + '</p><form><input type="email"><button>Subscribe</button></form>'
    + "</main></body></html>"
)


def test_crawl_calls_a_page_that_is_mostly_a_contact_form_a_form_page():
    assert parse_page(FORM_PAGE, "https://x.example/meet").form_page is True
    article = parse_page(ARTICLE_WITH_NEWSLETTER, "https://x.example/guide")
    assert (article.form_page, article.words) == (False, 402)


def _kind(session, url: str) -> tuple[str, str]:
    session.expire_all()
    row = session.execute(
        select(Content.kind, Content.kind_source).where(Content.url == url)
    ).one()
    return tuple(row)


def test_page_views_store_a_thank_you_page_as_a_conversion_page(client, session, site):
    view = pv(url=THANKS, ts=ms(moment(1)))
    other = pv(url=HOST + "/blog/guide", ts=ms(moment(1)) + 10)
    assert (
        post_batch(client, batch(view, other, v="visitor-kinds-1")).status_code == 204
    )

    assert _kind(session, THANKS) == ("conversion", "auto")
    assert _kind(session, HOST + "/blog/guide") == ("content", "auto")


def test_crawl_redecides_automatic_kinds_and_never_hand_set_ones(session, site):
    meet, hand = "https://x.example/meet", "https://x.example/meet-hand"
    store_outline(session, site.id, parse_page("<p>An article</p>", meet), NOW)
    session.commit()
    assert _kind(session, meet) == ("content", "auto")

    store_outline(session, site.id, parse_page(FORM_PAGE, meet), NOW)
    store_outline(session, site.id, parse_page("<p>An article</p>", hand), NOW)
    session.execute(
        update(Content).where(Content.url == hand).values(kind_source="hand")
    )
    session.commit()
    store_outline(session, site.id, parse_page(FORM_PAGE, hand), NOW)
    session.commit()

    assert _kind(session, meet) == ("conversion", "auto")
    assert _kind(session, hand) == ("content", "hand")


def _content_id(session, url: str) -> int:
    return session.scalar(select(Content.id).where(Content.url == url))


def test_an_editor_marks_a_page_by_hand_and_is_sent_back_to_it(
    login_as, client, session, site
):
    post_batch(client, batch(pv(url=THANKS, ts=ms(moment(1))), v="visitor-kinds-2"))
    cid = _content_id(session, THANKS)
    marketer = login_as("marketer", sites=["blog"])
    page = marketer.get(f"/dash/sites/blog/content/{cid}?device=desktop")
    html = page.get_data(as_text=True)
    assert "Mark as reading content" in html

    answer = marketer.post(
        f"/dash/sites/blog/content/{cid}/kind?device=desktop",
        data={"kind": "content", "csrf_token": form_csrf_token(html)},
    )

    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(
        f"/dash/sites/blog/content/{cid}?device=desktop"
    )
    assert _kind(session, THANKS) == ("content", "hand")
    again = marketer.get(f"/dash/sites/blog/content/{cid}").get_data(as_text=True)
    assert "Mark as conversion page" in again and "set by hand" in again


def test_sales_sees_no_kind_form_and_may_not_post_one(login_as, client, session, site):
    post_batch(client, batch(pv(url=THANKS, ts=ms(moment(1))), v="visitor-kinds-3"))
    cid = _content_id(session, THANKS)
    sales = login_as("sales", sites=["blog"])
    html = sales.get(f"/dash/sites/blog/content/{cid}").get_data(as_text=True)
    assert "conversion page" in html and "Mark as" not in html

    answer = sales.post(
        f"/dash/sites/blog/content/{cid}/kind",
        data={"kind": "content", "csrf_token": csrf_token(sales)},
    )

    assert answer.status_code == 403
    assert _kind(session, THANKS) == ("conversion", "auto")


def test_a_kind_outside_the_vocabulary_or_another_sites_item_is_refused(
    client, session, site
):
    post_batch(client, batch(pv(url=THANKS, ts=ms(moment(1))), v="visitor-kinds-4"))
    cid = _content_id(session, THANKS)
    token = csrf_token(client)
    bad = client.post(
        f"/dash/sites/blog/content/{cid}/kind", data={"kind": "x", "csrf_token": token}
    )
    missing = client.post(
        "/dash/sites/blog/content/999999/kind",
        data={"kind": "content", "csrf_token": token},
    )
    assert (bad.status_code, missing.status_code) == (400, 404)


@pytest.fixture
def with_thanks(client, session, site) -> dict[str, int]:
    """The influence fixture, plus a thank-you page Ada views an hour before she
    reaches sales (d5 11:00) and Bob the day before (d9): each one's last touch."""
    leads = seed_sales_readings(client, session, site)
    for visitor, at in (("visitor-ada-2", moment(5, 11)), ("visitor-bob-1", moment(9))):
        view = pv(url=THANKS, ts=ms(at), ti="Thank you", vw=1440, vh=400, dh=1000)
        events = [view, attention(view["p"], 5_000, [], ts=ms(at) + 6)]
        assert post_batch(client, batch(*events, v=visitor)).status_code == 204
    return leads


def _credit(client, query: str = "") -> dict[str, tuple]:
    report = client.get(f"/dash/sites/blog/influence?format=json{query}").json
    return {
        r["title"]: (r["last_touch"], r["linear"], r["kind"]) for r in report["rows"]
    }, report


def test_last_touch_credit_goes_to_the_content_read_before_the_thank_you_page(
    client, with_thanks
):
    credit, report = _credit(client)

    assert "Thank you" not in credit
    # Ada: guide, pricing, case study; Bob: pricing, case study, ROI.
    assert credit["Case study"] == (1, 0.6667, "content")
    assert credit["ROI"] == (1, 0.3333, "content")
    assert (report["conversion"], report["conversion_pages"]) == (False, 1)
    assert (report["leads"], report["reached_sales"]) == (3, 2)


def test_shown_conversion_pages_take_the_last_touch_and_are_marked(client, with_thanks):
    credit, report = _credit(client, "&conversion=1")

    assert credit["Thank you"] == (2, 0.5, "conversion")
    assert credit["Case study"] == (0, 0.5, "content")
    assert credit["ROI"] == (0, 0.25, "content")
    html = client.get("/dash/sites/blog/influence?conversion=1").get_data(as_text=True)
    assert 'badge conversion">conversion page' in html
    assert "Leave conversion pages out" in html
    default = client.get("/dash/sites/blog/influence").get_data(as_text=True)
    assert "1 conversion page " in default and "conversion=1" in default


def test_suggested_reads_leave_the_thank_you_page_out_unless_asked(client, with_thanks):
    cy = with_thanks["cy@widgets.example"]
    url = f"/dash/sites/blog/prospects/{cy}?format=json"

    default = [s["title"] for s in client.get(url).json["suggestions"]]
    shown = client.get(url + "&conversion=1").json["suggestions"]

    assert default == ["Case study", "ROI"]
    # Thank you ties the case study (0.5 linear, 2 readers before sales): by title.
    assert [(s["title"], s["kind"]) for s in shown] == [
        ("Case study", "content"),
        ("Thank you", "conversion"),
        ("ROI", "content"),
    ]


def test_leads_who_only_read_a_conversion_page_are_counted_with_no_row_shown(
    client, session, site
):
    view = pv(url=THANKS, ts=ms(moment(1)), ti="Thank you")
    events = [view, identify(view["p"], "solo@acme.example")]
    assert post_batch(client, batch(*events, v="visitor-kinds-5")).status_code == 204

    credit, report = _credit(client)

    assert credit == {}
    assert (report["leads"], report["conversion_pages"]) == (1, 1)
