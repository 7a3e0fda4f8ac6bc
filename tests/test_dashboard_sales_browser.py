"""The sales pages in real Chromium against gunicorn: the prospect page (with a
note added through its form) and the influence page with its Plotly figure.

Beacons are posted over HTTP to the live server's collector for the demo site,
exactly as browsers send them; the CRM's part (names, stages) goes through
tracker.crm. Screenshots land in /tmp/shots/.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from conftest import BROWSER_UA, login_browser
from factories import batch, new_id
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session
from test_dashboard_influence import (
    ADA,
    GUIDE,
    GUIDE_WORDS,
    PROFILES,
    READINGS,
    SALES,
    _events,
)

from resonance.core.models import Content, ContentGroup, Lead
from tracker import crm
from tracker.sites import create_site

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
ORIGIN = "https://blog.example.com"
NOW = datetime(2025, 4, 1)


def _post(base: str, body: dict) -> int:
    """POST one batch to the collector like the snippet does (text/plain)."""
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
        return response.status


@pytest.fixture
def demo(live_server, database_url) -> dict[str, int]:
    """The demo site with Ada, Bob and Cy's reading history, sent to /e."""
    engine = create_engine(database_url)
    with Session(engine) as session:
        site = create_site(
            session, "Demo", origins=[ORIGIN], privacy_mode="always", key="demo"
        )
        session.commit()
        seen: set[str] = set()
        for reading in READINGS:
            events = _events(reading, reading.visitor not in seen)
            seen.add(reading.visitor)
            assert (
                _post(live_server, batch(*events, v=reading.visitor, s="demo")) == 204
            )
        for email, (name, company, owner) in PROFILES.items():
            crm.upsert_lead(
                session,
                site.id,
                email=email,
                name=name,
                company=company,
                owner=owner,
                now=NOW,
            )
        leads = {
            email: session.scalar(
                select(Lead.id).where(Lead.site_id == site.id, Lead.email == email)
            )
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
                now=NOW,
            )
        session.execute(
            update(Content).where(Content.url == GUIDE).values(words=GUIDE_WORDS)
        )
        session.add(
            ContentGroup(site_id=site.id, name="Documentation", pattern="/docs/**")
        )
        session.commit()
    engine.dispose()
    return leads


def _watch(page) -> list[str]:
    """Collect console errors and uncaught exceptions (a missing favicon is the
    browser's own request, not the page's)."""
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error"
            and "favicon" not in (msg.location or {}).get("url", "")
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_prospect_page_shows_history_and_takes_a_note(
    live_server, demo, live_user, chromium
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors = _watch(page)

    login_browser(page, live_server, live_user("sales", sites=["demo"]))
    page.goto(f"{live_server}/dash/sites/demo/prospects?q=ACME")
    assert page.locator("table.prospects tbody tr").count() == 1
    page.screenshot(path=str(SHOTS / "prospects.png"), full_page=True)
    page.click("text=Ada Lovelace")
    page.wait_for_selector("h1")

    assert page.inner_text("h1") == "Ada Lovelace"
    assert page.locator("article.visit").count() == 5
    assert page.locator(".badge.good").count() == 3  # Guide d1, Pricing d2, Setup
    assert page.locator("#suggested li").all_inner_texts()[0].startswith("ROI")
    form = page.locator(".note-form").first
    form.locator("textarea").fill("<script>window.__xss=1</script> asked about SSO")
    form.locator("input[name=section]").fill("FAQ")
    with page.expect_navigation():
        form.locator("button").click()
    assert "#notes-" in page.url
    note = page.locator(".notes li").first.inner_text()
    assert "<script>window.__xss=1</script> asked about SSO" in note
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(SHOTS / "prospect.png"), full_page=True)

    assert errors == []
    context.close()


def test_influence_page_draws_the_plotly_figure(live_server, demo, live_user, chromium):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors = _watch(page)

    login_browser(page, live_server, live_user("marketer", sites=["demo"]))
    page.goto(f"{live_server}/dash/sites/demo/influence")
    page.wait_for_selector("#influence-figure .main-svg", timeout=15_000)

    traces = page.locator("#influence-figure g.trace.bars")
    assert traces.count() == 3  # linear, first touch, last touch
    labels = page.evaluate(
        """[...document.querySelectorAll('#influence-figure .ytick text')]
            .map(t => [t.getBoundingClientRect().top, t.textContent])
            .sort((a, b) => a[0] - b[0]).map(pair => pair[1])"""
    )  # top to bottom, as drawn
    assert labels == ["Case study", "Pricing", "ROI", "Guide"]
    rows = page.locator("table.influence tbody tr")
    assert rows.count() == 5
    assert rows.first.locator("td").nth(4).inner_text() == "1.50×"
    page.screenshot(path=str(SHOTS / "influence.png"), full_page=True)

    page.click("text=Median days to sales")
    page.wait_for_selector("#influence-figure .main-svg")
    first = page.locator("table.influence tbody tr").first.locator(".title")
    assert first.inner_text() == "Guide"

    assert errors == []
    context.close()
    assert ADA in demo
