"""The dashboard in real Chromium against gunicorn: figures are drawn, nothing
errs, and a click made in the browser lands inside its element on the snapshot.

Data arrives as beacons over HTTP (``POST /e`` of the live server), so the pages
read what the collector stored. Full-page screenshots go to ``/tmp/shots/``.
"""

from __future__ import annotations

import importlib.util
import json
import urllib.request
from pathlib import Path

import pytest
from conftest import BROWSER_UA, login_browser, wait_for
from factories import NOW_MS, attention, batch, click, identify, layout, pv, scroll
from sqlalchemy import func, select

from resonance.app import ROOT
from resonance.core.models import Click, Content, Snapshot, SnapshotElement

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
ARTICLE = "/demo/blog/lead-scoring-that-sales-trusts"
T0 = NOW_MS - 3_600_000
SECTIONS = [
    [1, "Lead scoring that sales trusts", 0, 700],
    [2, "Why scores get ignored", 700, 900],
    [2, "Start from closed deals", 1600, 800],
    [2, "<b>Review</b> it with sales", 2400, 600],
]


def _post(base: str, body: dict) -> None:
    request = urllib.request.Request(
        base + "/e",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "text/plain;charset=UTF-8",
            "User-Agent": BROWSER_UA,
            "Origin": base,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


@pytest.fixture
def seeded(live_server, session, demo_site) -> str:
    """Eight readings of an article (two by a lead) and one of pricing."""
    for n in range(8):
        view = pv(
            url=live_server + ARTICLE, ts=T0 + n * 60_000, ti="Lead scoring", dh=3000
        )
        p = view["p"]
        events = [
            view,
            layout(p, SECTIONS, ts=T0 + n * 60_000 + 50),
            scroll(p, 900 + 300 * n, 3000, ts=T0 + n * 60_000 + 5000),
            attention(p, 4000 * (n + 1), [[0, 3000], [1, 1000 * n], [2, 500 * n]]),
        ]
        for k in range(n % 4 + 1):
            events.append(
                click(
                    p,
                    ts=T0 + n * 60_000 + 1000 * (k + 1),
                    x=300 + 40 * k,
                    y=400 + 150 * n,
                    s=f"#post p:nth-of-type({k + 1})",
                    tg="p",
                    **{"in": False, "h": None},
                )
            )
        if n < 2:
            events.append(identify(p, "lead@buyer.example", ts=T0 + n * 60_000 + 9000))
        _post(live_server, batch(*events, s="demo", v=f"browser-{n:04d}"))
    view = pv(url=live_server + "/demo/pricing", ts=T0, ti="Pricing")
    _post(live_server, batch(view, s="demo", v="browser-0100"))
    return live_server


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else 0,
    )
    return errors


def _plots(page, count: int) -> int:
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot').length >= {count}",
        timeout=15_000,
    )
    return page.locator(".js-plotly-plot").count()


def test_overview_list_and_content_page_draw_their_figures(seeded, live_user, chromium):
    SHOTS.mkdir(exist_ok=True)
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors = _watch(page)

    login_browser(page, seeded, live_user("marketer", sites=["demo"]))
    page.goto(seeded + "/dash/")
    page.screenshot(path=SHOTS / "dash_overview.png", full_page=True)
    assert page.locator(".js-plotly-plot").count() == 0
    page.get_by_role("link", name="Demo").click()
    page.wait_for_url("**/dash/sites/demo/content")
    page.screenshot(path=SHOTS / "dash_content_list.png", full_page=True)
    page.get_by_role("link", name="Lead scoring").click()
    page.wait_for_url("**/dash/sites/demo/content/*")

    # The day-by-day trend, the heatmap with scroll reach, attention.
    assert _plots(page, 3) == 3
    page.screenshot(path=SHOTS / "dash_content.png", full_page=True)
    heat = page.locator("#fig-heatmap .heatmaplayer")
    assert heat.count() == 1
    page.locator("[data-opacity-for=fig-heatmap]").fill("30")
    opacity = page.evaluate("document.getElementById('fig-heatmap').data[0].opacity")
    assert opacity == pytest.approx(0.3)
    buttons = page.locator("#fig-heatmap .modebar-btn")
    titles = [
        buttons.nth(i).get_attribute("data-title") for i in range(buttons.count())
    ]
    assert "Download plot as a PNG" in titles
    assert "Share chart..." not in titles  # nothing leaves the server

    page.goto(page.url + "?compare=leads&segment=all")
    assert _plots(page, 4) == 4
    page.screenshot(path=SHOTS / "dash_content_compare.png", full_page=True)
    context.close()
    assert errors == []


def test_content_page_works_under_a_strict_script_policy(
    seeded, session, live_user, chromium
):
    """No inline script: a CSP of script-src 'self' still draws every figure."""
    content_id = session.scalar(
        select(Content.id).where(Content.url.like("%lead-scoring%"))
    )
    url = f"{seeded}/dash/sites/demo/content/{content_id}"
    context = chromium.new_context(user_agent=BROWSER_UA)
    page = context.new_page()
    errors = _watch(page)
    login_browser(page, seeded, live_user("sales", sites=["demo"]))

    def strict(route):
        response = route.fetch()
        headers = response.headers | {
            "content-security-policy": "script-src 'self'; object-src 'none'"
        }
        route.fulfill(response=response, headers=headers)

    page.route(url, strict)
    page.goto(url)

    assert _plots(page, 3) == 3  # trend, heatmap, attention
    context.close()
    assert errors == []


def _click_at(page, selector: str, fx: float, fy: float) -> dict:
    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    return box


@pytest.mark.skipif(
    importlib.util.find_spec("tracker.snapshots") is None,
    reason="tracker/snapshots.py is not there yet",
)
def test_a_click_in_the_browser_is_densest_inside_its_element_on_the_snapshot(
    live_server, session, demo_site, live_user, chromium
):
    SHOTS.mkdir(exist_ok=True)
    reader = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1440, "height": 900}
    )
    page = reader.new_page()
    page.goto(live_server + "/demo/")
    page.wait_for_function("typeof window.resonance === 'function' && !resonance.q")
    for fx, fy in ((0.3, 0.6), (0.3, 0.6), (0.7, 0.2)):
        _click_at(page, "#hero-image", fx, fy)
        page.wait_for_timeout(1200)  # not a rage burst
    page.goto("about:blank")  # pagehide flushes the clicks
    reader.close()

    def clicks():
        session.expire_all()
        return session.scalar(select(func.count()).select_from(Click)) == 3

    assert wait_for(clicks), "the clicks did not arrive"
    content_id = session.scalar(select(Click.content_id))
    url = f"{live_server}/dash/sites/demo/content/{content_id}"
    viewer = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1280, "height": 900}
    )
    page = viewer.new_page()
    errors = _watch(page)
    login_browser(page, live_server, live_user("marketer", sites=["demo"]))
    try:
        page.goto(url)
        with page.expect_navigation(timeout=90_000):
            # The POST runs Chromium on the server: wait as long as for the page.
            page.get_by_role("button", name="Take snapshot").click(timeout=90_000)
        assert _plots(page, 1) >= 1
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / "dash_content_snapshot.png", full_page=True)
        report = page.request.get(url + "?format=json").json()
    finally:
        viewer.close()
        _forget_snapshot_files(session, content_id)

    snap = report["snapshot"]
    assert snap is not None and snap["width_px"] == 1440
    assert report["placement"]["by_element"] == 3
    densest = max(report["bins"], key=lambda b: b["clicks"])
    assert densest["clicks"] == 2
    box = session.execute(
        select(SnapshotElement).where(
            SnapshotElement.snapshot_id == snap["snapshot_id"],
            SnapshotElement.selector == "#hero-image",
        )
    ).scalar_one()
    bin_px = 8
    assert box.left_px - bin_px < densest["x_px"] <= box.left_px + box.width_px
    assert box.top_px - bin_px < densest["y_px"] <= box.top_px + box.height_px
    assert errors == []


def _forget_snapshot_files(session, content_id: int) -> None:
    """The live server writes PNGs under the real instance folder: remove ours."""
    session.expire_all()
    for image in session.scalars(
        select(Snapshot.image).where(Snapshot.content_id == content_id)
    ):
        (ROOT / "instance" / "snapshots" / image).unlink(missing_ok=True)
