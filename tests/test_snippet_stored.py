"""What the collector stores from the snippet on real pages (SQLite and
PostgreSQL): leads from early forms, nothing lost to a bad identify or a big
batch, nothing sensitive, attention that adds up, titles of single-page apps,
one count for a doubled tag, and delivery when sendBeacon throws.

A customer's site in front of the real collector: tests/snippet_site.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import snippet_site
from conftest import count, wait_for
from snippet_site import leave
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resonance.core.models import (
    AttentionBand,
    Click,
    Identify,
    Lead,
    PageSection,
    PageView,
)

pytestmark = pytest.mark.browser

MODE_ANSWERED = """performance.getEntriesByType('resource')
    .some(r => r.name.endsWith('/e?s=demo') && r.responseEnd > 0)"""


@pytest.fixture
def customer(live_server: str, session: Session, chromium) -> Iterator[Callable]:
    yield from snippet_site.customers(live_server, session, chromium)


def test_a_form_submitted_200_ms_after_dom_ready_that_navigates_makes_a_lead(
    customer, session
):
    site = customer()
    page = site.context().new_page()
    page.goto(site.origin + "/identify-nav.html", wait_until="domcontentloaded")
    page.wait_for_timeout(200)
    # An identify needs the site's privacy mode (GET /e, cached 5 minutes):
    # on a loaded test machine its first answer may take longer than 200 ms.
    page.wait_for_function(MODE_ANSWERED)
    page.evaluate("document.getElementById('leaves').requestSubmit()")
    page.wait_for_url("**/other.html?*")

    assert wait_for(lambda: count(session, Identify) == 1), site.gate.posted
    lead = session.scalars(select(Lead)).one()
    assert (lead.email, lead.name, lead.company) == (
        "ada@example.com",
        "Ada Lovelace",
        "Analytical Engines Ltd",
    )
    identify = session.scalars(select(Identify)).one()
    view = session.get(PageView, identify.pageview_id)
    assert view.url == site.origin + "/identify-nav.html"


def test_a_bad_identify_is_never_sent_and_costs_nothing(customer, session):
    site = customer()
    page = site.open(site.context(), "/bad-identify.html")
    page.fill("#typed", "ann at example dot com")
    page.click("#send")
    page.click("#b")
    page.evaluate("resonance('identify', {email: 'Ann@Example.com'})")
    leave(page)

    assert wait_for(
        lambda: count(session, Click) == 2 and count(session, Identify) == 1
    ), site.gate.posted
    assert count(session, PageView) == 1
    assert session.scalar(select(Identify.email)) == "ann@example.com"
    # Only the good one was ever sent (a batch may go twice: once per id).
    sent = {e["id"]: e["em"] for e in site.gate.events("id")}
    assert list(sent.values()) == ["Ann@Example.com"]


def test_thirty_clicks_on_a_long_link_are_all_stored(customer, session):
    site = customer()
    page = site.open(site.context(), "/long-link.html")
    for i in range(30):  # within 3 s, 40 px apart
        page.mouse.click(20 + i % 2 * 40, 28 if i % 4 < 2 else 32)
        page.wait_for_timeout(40)

    assert wait_for(lambda: count(session, Click) == 30, timeout=15), [
        len(str(b)) for b in site.gate.posted
    ]
    assert count(session, PageView) == 1
    assert {len(click["h"]) for click in site.gate.events("c")} == {1990}
    leave(page)


SECRETS = ["4111", "4242424242424242", "5555", "ann.lee", "secret", "private"]


def test_no_card_number_address_or_typed_text_is_stored(customer, session):
    site = customer()
    page = site.open(
        site.context(),
        "/sensitive.html?utm_content=5555-5555-5555-4444&utm_term=ann.lee@example.com",
    )
    page.evaluate(
        "for (const a of document.links) a.addEventListener('click', "
        "e => e.preventDefault())"
    )
    page.click("#editor")
    page.keyboard.type("my secret draft")
    for target in ("#pay", "#card-link", "#mail", "#escaped", "#editor"):
        page.click(target)
    leave(page)

    assert wait_for(lambda: count(session, Click) == 6), (
        site.gate.answers,
        site.gate.posted,
    )
    view = session.scalars(select(PageView)).one()
    stored = [view.url, view.title, view.utm_content, view.utm_term]
    stored += [
        value
        for click in session.scalars(select(Click))
        for value in (click.text, click.href or "")
    ]
    assert [value for value in stored if any(s in value for s in SECRETS)] == []
    assert (view.utm_content, view.utm_term) == ("[card]", "[email]")


def test_section_times_add_up_to_the_page_views_active_time(customer, session):
    site = customer()
    page = site.open(site.context(), "/long.html")
    page.mouse.move(600, 400)
    for y in (0, 900, 1700, 3000):
        page.evaluate("y => scrollTo(0, y)", y)
        page.mouse.move(600, 300 + y % 200)
        page.wait_for_timeout(1300)
    leave(page)

    def stored():
        session.expire_all()
        view = session.scalars(select(PageView)).first()
        return view if view and view.active_ms >= 4000 else None

    view = wait_for(stored)
    assert view, site.gate.posted
    total = session.scalar(
        select(func.sum(PageSection.active_ms)).where(
            PageSection.pageview_id == view.id
        )
    )
    assert abs(total - view.active_ms) <= view.active_ms * 0.01 + 5
    # The band map agrees: a section's time is its bands' times weighted by
    # 100 px over the 800 px viewport (long.html's sections start on bands).
    bands = dict(
        session.execute(
            select(AttentionBand.band, AttentionBand.ms).where(
                AttentionBand.pageview_id == view.id
            )
        ).all()
    )
    assert bands[0] >= 1000  # the top, on screen at first
    for section in session.scalars(
        select(PageSection).where(PageSection.pageview_id == view.id)
    ):
        spanned = range(
            section.top_px // 100, (section.top_px + section.height_px) // 100
        )
        from_bands = sum(bands.get(band, 0) for band in spanned) / 8
        assert abs(section.active_ms - from_bands) <= view.active_ms * 0.01 + 5


def test_single_page_app_views_are_stored_with_their_own_titles(customer, session):
    site = customer()
    page = site.open(site.context(), "/spa.html")
    page.evaluate("go('/app/pricing', 'Pricing')")
    page.wait_for_timeout(100)
    page.evaluate("go('/app/blog', 'Blog')")
    leave(page)

    assert wait_for(lambda: count(session, PageView) == 3)
    views = session.scalars(select(PageView).order_by(PageView.viewed_at)).all()
    assert [(v.url.removeprefix(site.origin), v.title) for v in views] == [
        ("/spa.html", "Single-page app"),
        ("/app/pricing", "Pricing"),
        ("/app/blog", "Blog"),
    ]


def test_the_tag_included_twice_stores_one_page_view(customer, session):
    site = customer()
    page = site.open(site.context(), "/twice.html")
    page.click("#b")
    leave(page)

    assert wait_for(lambda: count(session, Click) >= 1)
    page = site.open(site.contexts[0], "/other.html")  # whatever came late, came
    leave(page)
    assert wait_for(lambda: count(session, PageView) == 2)
    assert count(session, Click) == 1
    urls = sorted(session.scalars(select(PageView.url)))
    assert urls == [site.origin + "/other.html", site.origin + "/twice.html"]


def test_without_the_extension_a_throwing_send_beacon_still_delivers(customer, session):
    site = customer()
    context = site.context()
    context.route("**/r2.js", lambda route: route.abort())  # blocked
    context.add_init_script(
        "Navigator.prototype.sendBeacon = () => { throw new TypeError('blocked') }"
    )
    page = context.new_page()
    page.goto(site.origin + "/basic.html")
    page.wait_for_function("typeof window.resonance === 'function'")
    page.click("#cta")
    leave(page)

    assert wait_for(lambda: count(session, Click) == 1)
    assert count(session, PageView) == 1
