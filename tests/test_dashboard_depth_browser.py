"""The attention map by depth in real Chromium against gunicorn, over the demo's
traffic (seeded through the real ingest): the content page draws it beside the
page, hot where screens rested long, without a script error. A screenshot goes
to ``/tmp/shots/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BROWSER_UA, login_browser
from sqlalchemy import func, select

from resonance.core.models import AttentionBand, Content, PageView
from resonance.demo.traffic import seed_demo

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
ARTICLE = "/demo/blog/lead-scoring-that-sales-trusts"


@pytest.fixture
def article(live_server, session, demo_site) -> str:
    """The demo's traffic (60 visitors); the content page of its top article."""
    seed_demo(session, "demo", visitors=60)
    session.commit()
    content_id = session.scalar(select(Content.id).where(Content.url.endswith(ARTICLE)))
    bands = (
        select(func.count())
        .select_from(AttentionBand)
        .join(PageView, PageView.id == AttentionBand.pageview_id)
        .where(PageView.content_id == content_id)
    )
    assert session.scalar(bands) > 0
    return f"{live_server}/dash/sites/demo/content/{content_id}"


def test_the_content_page_draws_the_attention_map_by_depth(
    article, live_server, live_user, chromium
):
    SHOTS.mkdir(exist_ok=True)
    context = chromium.new_context(
        user_agent=BROWSER_UA, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else 0,
    )

    login_browser(page, live_server, live_user("marketer", sites=["demo"]))
    page.goto(article)
    page.wait_for_selector("#fig-depth .heatmaplayer", timeout=15_000)

    depth = page.locator("#depth")
    depth.scroll_into_view_if_needed()
    depth.screenshot(path=SHOTS / "dash_content_depth.png")
    hottest = page.evaluate(
        "(() => { const d = document.getElementById('fig-depth').data[0];"
        " const z = d.z.map(row => row[0]); const top = Math.max(...z);"
        " return [z.indexOf(top), top, d.zmax]; })()"
    )
    band, seconds, zmax = hottest
    assert seconds == zmax > 0  # the longest band is drawn the hottest
    assert band * 100 < 900 * 2  # screens rest longest near the top of an article
    context.close()
    assert errors == []
