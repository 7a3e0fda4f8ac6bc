"""Rage and dead clicks as the published definitions have them, from the real
snippet in Chromium to the dashboard's figures (SQLite and PostgreSQL).

Rage: 3 clicks within 1 s and 30 px (the dashboard counts them from the stored
clicks), but not on a stepper, not a multi-click that selects text, not in
editable content: the snippet sends those repeats as one click. Dead: no DOM
change, scroll or navigation within 2.5 s, for buttons too, but not with a
modifier key and not a drag that selects text. A customer's site in front of the
real collector: tests/snippet_site.py; the page: snippet_pages/frustration.html.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import snippet_site
from conftest import count, wait_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.queries.clicks import top_elements
from dashboard.queries.segments import ContentFilter
from resonance.core.models import Click, PageView

pytestmark = pytest.mark.browser

VERDICT_MS = 2700  # the snippet's 2.5 s, and a little


@pytest.fixture
def customer(live_server: str, session: Session, chromium) -> Iterator[Callable]:
    yield from snippet_site.customers(live_server, session, chromium)


def rage_by_selector(session: Session) -> dict[str, int]:
    """The dashboard's rage clicks per element of the one page viewed."""
    content_id = session.scalar(select(PageView.content_id))
    rows = top_elements(session, ContentFilter(site_key="demo"), content_id)
    return {row.selector: row.rage_clicks for row in rows}


def click_three_times(page: object, selector: str, gap_ms: int) -> None:
    box = page.locator(selector).bounding_box()
    for _ in range(3):
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(gap_ms)
    page.wait_for_timeout(1200)  # the next burst is no part of this one


def test_steppers_text_selection_and_editing_are_no_rage_clicks(customer, session):
    site = customer()
    page = site.open(site.context(), "/frustration.html")
    # Steppers: a "+" button, a "-" labelled "Decrease quantity", a number
    # field; repeated clicking is the point.
    for stepper in ("#plus", "#minus", "#qty"):
        click_three_times(page, stepper, 200)
    page.click("#text", click_count=3)  # a triple click selects the paragraph
    page.wait_for_timeout(1200)
    click_three_times(page, "#editor", 200)  # placing the caret in an editor
    # The control: a button that does nothing, clicked 3 times within 1 s
    # (600 ms apart: no multi-click, no selection).
    click_three_times(page, "#tour", 600)
    assert page.locator("#count").text_content() == "1"  # 1 + 3 - 3: all landed
    page.goto("about:blank")

    assert wait_for(lambda: count(session, Click) >= 8), site.gate.posted
    rage = rage_by_selector(session)
    assert rage.pop("#tour") == 1
    assert rage == {
        "#plus": 0,
        "#minus": 0,
        "#qty": 0,
        "#text": 0,
        "#editor": 0,
    }


def test_dead_clicks_count_buttons_and_leave_out_modifiers_and_selections(
    customer, session
):
    site = customer()
    page = site.open(site.context(), "/frustration.html")
    page.click("#tour")  # a button that does nothing
    page.wait_for_timeout(VERDICT_MS)
    page.click("#plus")  # a button that changes the page
    page.wait_for_timeout(VERDICT_MS)
    page.click("#plain", modifiers=["Control"])  # a new tab, say
    page.wait_for_timeout(VERDICT_MS)
    # Drag across the paragraph to select its text.
    box = page.locator("#text").bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 8, steps=5)
    page.mouse.up()
    assert page.evaluate("getSelection().toString().length") > 10
    page.wait_for_timeout(VERDICT_MS)
    page.click("#plain")  # the control: nothing happens, no modifier
    page.wait_for_timeout(VERDICT_MS)

    assert wait_for(lambda: count(session, Click) == 5), site.gate.posted
    clicks = session.scalars(select(Click).order_by(Click.clicked_at)).all()
    verdicts = [(c.selector, c.interactive, c.dead) for c in clicks]
    assert verdicts == [
        ("#tour", True, True),
        ("#plus", True, False),
        ("#plain", False, False),
        ("#text", False, False),
        ("#plain", False, True),
    ]
    page.goto("about:blank")
