"""Onboarding in real Chromium against gunicorn: add a site on the sites page,
copy its tag from the page, put it on a page served from another local port,
visit that page, and watch the installation check turn green and the real-time
panel count the visit. Pages run under a strict script policy (no inline code).

Screenshots of each step go to ``/tmp/shots/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import BROWSER_UA, free_port, login_browser, wait_for
from sqlalchemy import select

from resonance.core.models import Site

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pricing that sales trusts</title>
{tag}
</head><body><h1>Pricing that sales trusts</h1>
<p style="height:2000px">Plans for every team.</p></body></html>
"""


def signed_in(chromium, base: str, user, **options):
    """A browser context logged in as ``user`` through the real login page."""
    context = chromium.new_context(user_agent=BROWSER_UA, **options)
    page = context.new_page()
    login_browser(page, base, user)
    page.close()
    return context


def open_dashboard(context, base: str, path: str):
    """A new tab on a dashboard page (under the app's own script policy), its
    script errors collected."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + path)
    page.errors = errors  # read by the test at the end
    return page


@pytest.fixture
def other_site(tmp_path) -> Iterator[tuple[str, Path]]:
    """A plain static web server on another port of 127.0.0.1: the customer's
    site, on an origin of its own."""
    root = tmp_path / "www"
    root.mkdir()
    port = free_port()
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", root
    server.shutdown()
    server.server_close()


def test_a_site_added_on_the_sites_page_goes_live_with_the_copied_tag(
    live_server, live_user, session, chromium, other_site
):
    SHOTS.mkdir(exist_ok=True)
    origin, root = other_site
    admin = signed_in(
        chromium,
        live_server,
        live_user("admin"),
        viewport={"width": 1280, "height": 900},
    )
    admin.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)

    # 1. Add the site: a bad origin first, which the form refuses beside the field.
    form = open_dashboard(admin, live_server, "/dash/sites/new")
    form.fill("#f-name", "Pricing site")
    form.fill("#f-origins", "https://<b>")
    form.fill("#f-tz", "Europe/Paris")
    form.select_option("#f-privacy", "always")
    form.click("form.settings button[type=submit]")
    assert "is not an origin" in form.inner_text("#err-origins")
    form.errors.clear()  # the browser logs the refused post's 400
    form.fill("#f-origins", origin)
    form.click("form.settings button[type=submit]")
    form.wait_for_url("**/dash/sites/*/settings?added=1")
    key = session.scalars(select(Site.key)).one()
    status = form.locator("[data-install-status]")
    assert "waiting for the first event" in status.inner_text()
    form.screenshot(path=str(SHOTS / "sites-waiting.png"), full_page=True)

    # The overview is open in another tab before anybody visits.
    overview = open_dashboard(admin, live_server, "/dash/")
    assert overview.inner_text("[data-rt=pageviews]") == "0"

    # 2. Copy the tag with the page's button, paste it into the customer's page.
    form.click("[data-copy=embed-tag]")
    form.locator(".copy-result").first.wait_for(state="visible")
    tag = form.evaluate("navigator.clipboard.readText()")
    assert f'data-site="{key}"' in tag and f'src="{live_server}/r.js"' in tag
    (root / "pricing.html").write_text(PAGE.format(tag=tag))

    # 3. A visitor opens it; leaving the page sends the batch at once.
    visitor = chromium.new_context(user_agent=BROWSER_UA)
    reader = visitor.new_page()
    reader.goto(f"{origin}/pricing.html")
    reader.mouse.wheel(0, 600)
    reader.wait_for_timeout(300)
    reader.close(run_before_unload=True)

    # 4. The check turns green with the page, its time and device.
    form.locator("[data-install-status].ok").wait_for(timeout=15_000)
    events = form.locator("[data-install-events]")
    assert f"{origin}/pricing.html" in events.inner_text()
    assert "desktop" in events.inner_text()
    assert "CET" in events.inner_text() or "CEST" in events.inner_text()
    form.screenshot(path=str(SHOTS / "sites-receiving.png"), full_page=True)

    # 5. The overview's real-time panel counts the visit on its next refresh.
    counted = wait_for(
        lambda: overview.inner_text("[data-rt=pageviews]") == "1", timeout=20
    )
    assert counted, overview.inner_text("#realtime")
    assert overview.inner_text("[data-rt=visitors]") == "1"
    assert "Pricing that sales trusts" in overview.inner_text("[data-rt-top]")
    # An admin's panel has the inbox line, hidden while nothing waits there.
    assert overview.locator("[data-rt-storing]").count() == 1
    assert overview.locator("[data-rt-storing]").is_hidden()
    overview.screenshot(path=str(SHOTS / "overview-realtime.png"), full_page=True)

    assert form.errors == [] and overview.errors == []
    visitor.close()
    admin.close()


@pytest.mark.parametrize("width", [1280, 768])
def test_pages_fit_laptops_and_tablets_and_show_keyboard_focus(
    live_server, live_user, session, chromium, width
):
    from tracker.sites import create_site

    create_site(session, "Blog", origins=["https://blog.example.com"], key="blog")
    session.commit()
    context = signed_in(
        chromium,
        live_server,
        live_user("admin"),
        viewport={"width": width, "height": 900},
    )
    try:
        for path in (
            "/dash/",
            "/dash/sites/",
            "/dash/sites/new",
            "/dash/sites/blog/settings",
            "/dash/sites/blog/content",
            "/dash/nowhere",
        ):
            page = open_dashboard(context, live_server, path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{path} is {overflow} px too wide at {width} px"
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            outline = page.evaluate(
                "getComputedStyle(document.activeElement).outlineStyle"
            )
            assert outline == "solid", f"{path}: no visible focus on Tab"
            assert page.errors == [] or path == "/dash/nowhere"
            page.close()
    finally:
        context.close()
