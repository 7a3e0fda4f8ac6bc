"""The demo seeded with snapshots of its own pages (real Chromium): the content
page a newcomer opens first shows the heatmap on a real screenshot, with the
clicks placed on their elements and the elements named by their text."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from resonance.cli import cli
from resonance.core.models import Content, Site, Snapshot
from resonance.demo.snapshots import SEED_PAGES, install_prerendered, most_viewed

pytestmark = pytest.mark.browser


@pytest.fixture
def instance(app, tmp_path) -> Path:
    app.instance_path = str(tmp_path)
    return tmp_path / "snapshots"


def test_demo_seeded_with_snapshots_places_the_top_pages_clicks_on_their_elements(
    app, runner, session, client, instance, database_url
):
    if not database_url.startswith("sqlite"):
        pytest.skip("Chromium's part is the same on both; SQL placement is proven")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is not installed")

    result = runner.invoke(
        cli, ["demo", "--visitors", "60", "--days", "5", "--snapshots"]
    )

    assert result.exit_code == 0, result.output
    assert f"demo snapshots: {3 * SEED_PAGES} taken with Chromium" in result.output
    site_id = session.scalar(select(Site.id).where(Site.key == "demo"))
    [top] = most_viewed(session, site_id, 1)
    content_id = session.scalar(select(Content.id).where(Content.url == top))
    page = client.get(f"/dash/sites/demo/content/{content_id}?format=json").json
    snap = page["snapshot"]
    assert snap["width_px"] == 1440
    assert (instance / snap["image"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    placement = page["placement"]
    assert placement["clicks"] > 0
    assert placement["by_element_pct"] == 100.0
    assert placement["by_fallback"] == 0
    # Every top element is named by its label on the snapshot, not a selector.
    assert page["elements"]
    assert {e["name_source"] for e in page["elements"]} == {"label"}
    html = client.get(f"/dash/sites/demo/content/{content_id}").get_data(as_text=True)
    assert f"/dash/sites/demo/snapshots/{snap['snapshot_id']}.png" in html
    assert "100 % of clicks placed on their element" in html


def test_without_shipped_snapshots_the_fallback_installs_none(
    app, session, demo_site, instance, monkeypatch, tmp_path
):
    monkeypatch.setattr("resonance.demo.snapshots.PRERENDERED", tmp_path / "none")

    assert install_prerendered(session, demo_site.id, instance) == 0
    assert session.scalar(select(Snapshot.id)) is None


def test_without_chromium_the_shipped_snapshot_places_the_landing_pages_clicks(
    app, runner, session, client, instance
):
    result = runner.invoke(
        cli, ["demo", "--visitors", "60", "--days", "5", "--no-snapshots"]
    )
    assert result.exit_code == 0, result.output
    site_id = session.scalar(select(Site.id).where(Site.key == "demo"))

    assert install_prerendered(session, site_id, instance) == 1

    content_id = session.scalar(select(Content.id).where(Content.url.like("%/demo")))
    page = client.get(f"/dash/sites/demo/content/{content_id}?format=json").json
    snap = page["snapshot"]
    assert (snap["width_px"], snap["height_px"]) == (1440, 2929)
    assert (instance / snap["image"]).is_file()
    assert page["placement"]["by_element_pct"] == 100.0
    assert page["elements"][0]["name"] == "Watch the 2-minute tour"
