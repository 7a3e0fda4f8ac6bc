"""Long names wrap and narrow screens keep every label: in real Chromium against
gunicorn, at 390 px (a phone) and 1440 px, no dashboard page is wider than the
window when a site, a content title and a lead are named with 200 characters
without a space; the influence chart's labels stay inside the chart on a phone;
the signed-in user's name is text, not a box.

Screenshots of every page at both widths go to /tmp/shots/layout/.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from conftest import BROWSER_UA, login_browser
from factories import batch, identify, new_id, pv
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from test_dashboard_influence import READINGS, SALES, _events, ms

from resonance.core.models import Content, Lead
from tracker import crm
from tracker.sites import create_site

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots/layout")
ORIGIN = "https://blog.example.com"
KEY = "northwind-" + "x" * 54  # the longest key a site can have (64)
LONG_SITE = "Northwind" * 22 + "Co"  # 200 characters, not one space
LONG_TITLE = "Pricing" + "-and-plans" * 19 + "!"  # 198 characters
LONG_NAME = "Adaline" * 28 + "e"  # 197 characters
WIDTHS = (390, 1440)
READER = "visitor-long-1"


def _post(base: str, body: dict) -> None:
    request = urllib.request.Request(
        base + "/e",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "Origin": ORIGIN,
            "User-Agent": BROWSER_UA,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


@pytest.fixture
def long_names(live_server, database_url) -> dict[str, int]:
    """A site, a content item and a lead with very long names; the influence
    fixture's readings beside them, so the chart has several bars."""
    engine = create_engine(database_url)
    with Session(engine) as session:
        site = create_site(
            session, LONG_SITE, origins=[ORIGIN], privacy_mode="always", key=KEY
        )
        session.commit()
        seen: set[str] = set()
        for reading in READINGS:
            events = _events(reading, reading.visitor not in seen)
            seen.add(reading.visitor)
            _post(live_server, batch(*events, v=reading.visitor, s=KEY))
        at = ms(datetime(2025, 3, 2, 9))
        view = pv(url=ORIGIN + "/pricing-long", ts=at, ti=LONG_TITLE)
        email = "adaline@" + "acme" * 10 + ".example"
        long_visit = batch(view, identify(view["p"], email, ts=at + 1), v=READER, s=KEY)
        _post(live_server, long_visit)
        crm.upsert_lead(
            session,
            site.id,
            email=email,
            name=LONG_NAME,
            company=LONG_SITE,
            now=datetime(2025, 4, 1),
        )
        reached = SALES | {email: datetime(2025, 3, 5)}
        for address, at in reached.items():
            crm.record_stage_change(
                session,
                site.id,
                session.scalar(select(Lead.id).where(Lead.email == address)),
                stage_raw="Sales Qualified Lead",
                entered_at=at,
                crm_event_id=new_id("crm"),
                now=datetime(2025, 4, 1),
            )
        session.commit()
        ids = {
            "content": session.scalar(
                select(Content.id).where(Content.title == LONG_TITLE)
            ),
            "lead": session.scalar(select(Lead.id).where(Lead.name == LONG_NAME)),
        }
    engine.dispose()
    return ids


def _pages(ids: dict[str, int]) -> dict[str, str]:
    site = f"/dash/sites/{KEY}"
    return {
        "overview": "/dash/",
        "sites": "/dash/sites/",
        "settings": f"{site}/settings",
        "users": "/dash/users/",
        "content-list": f"{site}/content",
        "content": f"{site}/content/{ids['content']}",
        "prospects": f"{site}/prospects",
        "prospect": f"{site}/prospects/{ids['lead']}",
        "influence": f"{site}/influence",
        "bad-date": f"{site}/content?since=2026-13-45&until=2026-01-01",
    }


def _drawn(page) -> None:
    """Wait for the page's Plotly figures, if it has any."""
    figures = page.locator("[data-figure], [data-sales-figure]").count()
    if figures:
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length >= {figures}",
            timeout=15_000,
        )


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_is_wider_than_the_window_with_200_character_names(
    live_server, long_names, live_user, chromium, width
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": width, "height": 900}
    )
    page = context.new_page()
    login_browser(page, live_server, live_user("admin"))
    too_wide = {}
    try:
        for name, path in _pages(long_names).items():
            page.goto(live_server + path)
            _drawn(page)
            page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
            scroll, window = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll > window:
                too_wide[name] = scroll
    finally:
        context.close()
    assert not too_wide, f"wider than {width} px: {too_wide}"


def test_the_influence_labels_stay_inside_the_chart_on_a_phone(
    live_server, long_names, live_user, chromium
):
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 390, "height": 900}
    )
    page = context.new_page()
    login_browser(page, live_server, live_user("sales", sites=[KEY]))
    page.goto(f"{live_server}/dash/sites/{KEY}/influence")
    page.wait_for_selector("#influence-figure .main-svg", timeout=15_000)

    chart = page.locator("#influence-figure").bounding_box()
    labels = page.evaluate(
        """[...document.querySelectorAll('#influence-figure .ytick text')]
            .map(t => { const r = t.getBoundingClientRect();
                        return [t.textContent, r.left, r.right]; })"""
    )
    bars = page.locator("#influence-figure .nsewdrag").first.bounding_box()
    context.close()

    assert len(labels) == 5  # the fixture's four, and the long title
    for text, left, right in labels:
        assert chart["x"] <= left and right <= chart["x"] + chart["width"], text
    assert bars["width"] >= chart["width"] / 3  # the bars keep room too


def test_the_signed_in_name_is_text_not_a_box_on_the_sales_pages(
    live_server, long_names, live_user, chromium
):
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1440, "height": 900}
    )
    page = context.new_page()
    login_browser(page, live_server, live_user("sales", sites=[KEY]))
    styles = {}
    for path in ("prospects", f"prospects/{long_names['lead']}", "influence"):
        page.goto(f"{live_server}/dash/sites/{KEY}/{path}")
        styles[path] = page.evaluate(
            """(() => {
                const s = getComputedStyle(document.querySelector('.account-name'));
                return [s.borderTopWidth, s.backgroundColor, s.paddingLeft]; })()"""
        )
    context.close()

    for path, style in styles.items():
        assert style == ["0px", "rgba(0, 0, 0, 0)", "0px"], path
