"""Snapshots of the demo article in headless Chromium: PNGs at each width, and the
boxes of the elements its clicks refer to, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import count, post_batch, wait_for
from factories import batch, click, pv
from sqlalchemy import select

from resonance.cli import cli
from resonance.core.models import BotHit, Content, PageView, Snapshot, SnapshotElement
from tracker.sites import create_site
from tracker.snapshots import MOBILE_BELOW, png_size, take_snapshots

pytestmark = pytest.mark.browser

PATH = "/demo/blog/what-sales-wishes-marketing-knew"
SHOTS = Path("/tmp/shots")
KNOWN = "#breadcrumb-blog"
UNKNOWN = "#no-such-element"
INVALID = "div[data-x="  # the browser's querySelector throws on it


@pytest.fixture
def clicked(client, demo_site, live_server) -> str:
    """A page view of the demo article with clicks on a known, an unknown and an
    invalid selector, through the collector; the article's URL."""
    url = live_server + PATH
    view = pv(url=url, ti="")
    events = [view] + [click(view["p"], s=s) for s in (KNOWN, UNKNOWN, INVALID)]
    response = post_batch(client, batch(*events, s="demo"), origin="http://localhost")
    assert response.status_code == 204
    return url


def measured_box(chromium, url: str, width: int, selector: str) -> list[float]:
    """The element's page box measured apart from the code under test."""
    context = chromium.new_context(
        viewport={"width": width, "height": 800},
        is_mobile=width < MOBILE_BELOW,
        has_touch=width < MOBILE_BELOW,
    )
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        box = page.locator(selector).bounding_box()
        scroll_x, scroll_y = page.evaluate("[window.scrollX, window.scrollY]")
        return [box["x"] + scroll_x, box["y"] + scroll_y, box["width"], box["height"]]
    finally:
        context.close()


def test_snapshots_store_pngs_and_boxes_of_clicked_elements(
    session, demo_site, clicked, chromium, tmp_path
):
    directory = tmp_path / "snapshots"

    snapshots = take_snapshots(
        session,
        demo_site.id,
        clicked,
        widths=(375, 1440),
        directory=directory,
        browser=chromium,
    )
    session.commit()

    assert count(session, Snapshot) == 2
    content = session.scalars(select(Content)).one()
    assert content.url == clicked
    for snapshot, width in zip(snapshots, (375, 1440), strict=True):
        png = (directory / snapshot.image).read_bytes()
        assert (snapshot.content_id, snapshot.width_px) == (content.id, width)
        assert png_size(png) == (width, snapshot.height_px)
        assert snapshot.height_px > 800  # the full page, not the first screen
        elements = session.scalars(
            select(SnapshotElement).where(SnapshotElement.snapshot_id == snapshot.id)
        ).all()
        assert [e.selector for e in elements] == [KNOWN]
        box = [elements[0].left_px, elements[0].top_px]
        box += [elements[0].width_px, elements[0].height_px]
        expected = measured_box(chromium, clicked, width, KNOWN)
        assert box == pytest.approx(expected, abs=2)
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(directory / snapshot.image, SHOTS / f"snapshot-{width}.png")
    # A phone's narrow column makes the page longer than on a desktop.
    assert snapshots[0].height_px > snapshots[1].height_px


def test_snapshot_of_an_unknown_url_creates_its_content_item(
    session, demo_site, live_server, chromium, tmp_path
):
    url = live_server + "/demo/pricing?utm_source=x#plans"

    (snapshot,) = take_snapshots(
        session,
        demo_site.id,
        url,
        widths=(768,),
        directory=tmp_path,
        browser=chromium,
    )
    session.commit()

    content = session.get(Content, snapshot.content_id)
    assert content.url == live_server + "/demo/pricing"
    assert content.title  # the page's title, since no page view named it yet
    assert count(session, SnapshotElement) == 0


def test_snapshot_command_launches_its_own_browser_into_snapshot_dir(
    database_url, session, demo_site, clicked, tmp_path
):
    # A process of its own, like a user's: Playwright's sync API refuses to start
    # inside a process that already drives a browser (the chromium fixture).
    configured = tmp_path / "configured"
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "RESONANCE_SNAPSHOT_DIR": str(configured),
    }
    argv = ["snapshot", clicked, "--site", "demo", "--widths", "375"]

    result = subprocess.run(
        [sys.executable, "-c", "from resonance.cli import cli; cli()", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    snapshot = session.scalars(select(Snapshot)).one()
    path = configured / snapshot.image
    assert result.stdout == f"375 px: {path} ({snapshot.height_px} px high)\n"
    assert png_size(path.read_bytes())[0] == 375
    assert count(session, SnapshotElement) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://localhost/", "--widths", "375,wide"], "pixel widths"),
        (["http://localhost/", "--widths", "50"], "between 200 and 3840"),
        (["ftp://localhost/", "--site", "demo"], "not an http(s) URL"),
        (["http://elsewhere.example/"], "0 sites allow http://elsewhere.example"),
    ],
)
def test_snapshot_command_refuses_bad_arguments(runner, demo_site, args, message):
    result = runner.invoke(cli, ["snapshot", *args])

    assert result.exit_code == 2
    assert message in result.output


def test_the_snapshot_browser_is_stored_as_a_bot_never_as_a_visitor(
    session, live_server, chromium, tmp_path
):
    # The demo page's own snippet reports to the live server; with its origin
    # allowed, those beacons arrive, and land apart from visitors.
    site = create_site(
        session, "Demo", origins=[live_server], privacy_mode="always", key="demo"
    )
    session.commit()

    take_snapshots(
        session,
        site.id,
        live_server + PATH,
        widths=(1440,),
        directory=tmp_path,
        browser=chromium,
    )
    session.commit()

    assert wait_for(lambda: count(session, BotHit) >= 1)
    assert count(session, PageView) == 0
