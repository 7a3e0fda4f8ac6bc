"""The real snippet in real Chromium against the real collector under gunicorn.

A reader opens a demo article, clicks two elements, scrolls to the end while
active, navigates with ``pushState`` (a single-page-app view), identifies, and
leaves. The test then asserts the exact rows the database holds.
"""

from __future__ import annotations

import pytest
from conftest import BROWSER_UA, wait_for
from sqlalchemy import select

from resonance.core.models import (
    Click,
    Identify,
    IdentityLink,
    Lead,
    PageSection,
    PageView,
    Visitor,
)

pytestmark = pytest.mark.browser

ARTICLE = "/demo/blog/what-sales-wishes-marketing-knew"


def _click_at(page, selector: str, fx: float, fy: float) -> dict:
    """Click ``selector`` at a known fraction of its box (in view first)."""
    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    return box


def _pixel(box: dict, axis: str) -> float:
    """One and a half CSS pixels as a fraction of the box: mouse events are whole
    pixels, so that is how exact a fraction can be."""
    return 1.5 / box[axis]


def _read_to_the_end(page) -> None:
    """Scroll down in wheel steps, as a reader would, staying active."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for _ in range(height // 400 + 2):
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(150)
    page.wait_for_timeout(1500)  # at least one attention tick at the end


def test_reading_session_is_stored_exactly(live_server, session, demo_site, chromium):
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(live_server + ARTICLE)
    page.wait_for_function("typeof window.resonance === 'function' && !resonance.q")
    page.mouse.move(200, 200)
    page.wait_for_timeout(2200)  # active while the top sections are in view
    # Keep the reader on the page: the link is clicked, its navigation cancelled.
    page.evaluate(
        "document.querySelector('#breadcrumb-blog')"
        ".addEventListener('click', e => e.preventDefault())"
    )
    link_box = _click_at(page, "#breadcrumb-blog", 0.25, 0.5)
    text_box = _click_at(page, "#post p", 0.1, 0.5)
    _read_to_the_end(page)
    page.evaluate("history.pushState({}, '', '/demo/pricing')")
    page.evaluate("resonance('identify', {email: ' Reader@Example.COM '})")
    page.wait_for_timeout(300)
    page.goto("about:blank")  # pagehide: the snippet flushes with sendBeacon
    context.close()

    def stored():
        session.expire_all()
        views = session.scalars(select(PageView).order_by(PageView.viewed_at)).all()
        done = len(views) == 2 and session.scalar(select(Identify.id))
        return views if done and views[0].active_ms > 0 else None

    views = wait_for(stored)
    assert views, "the beacons did not arrive"
    assert errors == []
    article, pricing = views
    assert article.url == live_server + ARTICLE
    assert pricing.url == live_server + "/demo/pricing"
    assert pricing.referrer == live_server + ARTICLE
    assert article.visitor_id == pricing.visitor_id
    assert article.session_id == pricing.session_id
    assert (article.viewport_w, article.viewport_h, article.device) == (
        1280,
        800,
        "desktop",
    )
    assert article.max_scroll_pct == 100.0
    assert article.max_scroll_px == article.doc_h

    clicks = session.scalars(select(Click).order_by(Click.clicked_at)).all()
    assert [c.pageview_id for c in clicks] == [article.id, article.id]
    first, second = clicks
    assert first.selector == "#breadcrumb-blog"
    assert (first.tag, first.interactive) == ("a", True)
    assert first.fx == pytest.approx(0.25, abs=_pixel(link_box, "width"))
    assert first.fy == pytest.approx(0.5, abs=_pixel(link_box, "height"))
    assert second.tag == "p" and not second.interactive
    assert second.selector.endswith("p:nth-of-type(1)")
    assert second.fx == pytest.approx(0.1, abs=_pixel(text_box, "width"))
    assert second.fy == pytest.approx(0.5, abs=_pixel(text_box, "height"))

    sections = session.scalars(
        select(PageSection)
        .where(PageSection.pageview_id == article.id)
        .order_by(PageSection.idx)
    ).all()
    assert sections[0].level == 1 and sections[0].heading
    assert sections[0].active_ms > 0  # the top was read while active
    assert sections[-1].active_ms > 0  # and so was the end
    assert all(s.heading for s in sections)

    identify = session.scalars(select(Identify)).one()
    assert identify.email == "reader@example.com"
    assert identify.pageview_id == pricing.id
    lead = session.scalars(select(Lead)).one()
    link = session.scalars(select(IdentityLink)).one()
    assert (link.lead_id, link.visitor_id) == (lead.id, article.visitor_id)
    visitor = session.get(Visitor, article.visitor_id)
    assert visitor.uid.startswith("c:")  # privacy mode "always": first-party id
