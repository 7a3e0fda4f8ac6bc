"""bench/generate.py writes exactly the events and rows it promises, through the
real ingest, reproducibly, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bench.generate import (
    ITEMS_PER_SITE,
    NOW,
    SITE_NAMES,
    generate,
    made_up_site,
    origin,
    site_key,
    visitor_batches,
    visitor_plans,
)
from bench.replicate import replicate
from resonance.core.models import (
    Click,
    Content,
    ContentSection,
    Identify,
    IdentityConflict,
    Lead,
    PageView,
    StageChange,
    Visitor,
)
from resonance.demo.site import Site
from tests.beacon_rules import beacon_problems
from tests.conftest import count
from tracker import sites
from tracker.ingest import RequestMeta, ingest


@contextmanager
def _session(url: str) -> Iterator[Session]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


SEED = 2


@pytest.fixture(scope="module")
def made() -> dict[str, Site]:
    """The made-up sites, by site key."""
    return {site_key(i): made_up_site(SEED, i) for i in range(len(SITE_NAMES))}


@pytest.fixture(scope="module")
def sent(made) -> list[tuple[dict, dict]]:
    """Every batch of 3,000 events, as the workers would feed them."""
    batches = []
    for plan, quota in visitor_plans(3_000, SEED, len(SITE_NAMES)):
        site = made[site_key(plan.site)]
        batches += visitor_batches(plan, quota, SEED, site)
    return batches


def test_every_visitor_sends_exactly_its_share_in_documented_beacons(made, sent):
    plans = visitor_plans(3_000, SEED, len(SITE_NAMES))
    now = NOW.replace(tzinfo=UTC)

    assert sum(len(batch["e"]) for batch, _ in sent) == 3_000
    for plan, quota in plans[:20]:
        site = made[site_key(plan.site)]
        batches = visitor_batches(plan, quota, SEED, site)
        assert sum(len(batch["e"]) for batch, _ in batches) == quota
    problems = [found for batch, _ in sent if (found := beacon_problems(batch, now))]
    assert not problems, problems[:5]
    assert {batch["s"] for batch, _ in sent} == set(made)
    assert all(meta["origin"] == made[batch["s"]].origin for batch, meta in sent)
    anonymous = {meta["ip"] for batch, meta in sent if "v" not in batch}
    assert 0.05 <= len(anonymous) / len({meta["ip"] for _, meta in sent}) <= 0.15


def test_clicks_land_in_the_boxes_of_the_made_up_pages_and_links_stay_on_them(
    made, sent
):
    page_of: dict[str, tuple[str, str, int]] = {}
    clicks = 0
    for batch, _ in sent:
        site = made[batch["s"]]
        for event in batch["e"]:
            if event["t"] == "pv":
                path = urlsplit(event["u"]).path
                assert path in site.pages
                page_of[event["id"]] = (batch["s"], path, event["vw"])
            elif event["t"] == "c":
                key, path, width = page_of[event["p"]]
                element = made[key].layout(path, width).element(event["s"])
                left, top, box_width, box_height = element.box
                assert left <= event["x"] < left + box_width
                assert top <= event["y"] < top + box_height
                assert abs(left + event["fx"] * box_width - event["x"]) <= 1
                if "h" in event:
                    assert urlsplit(event["h"]).path in made[key].pages
                clicks += 1
    assert clicks > 100


def test_generator_writes_exactly_the_events_and_rows_it_reports(database_url):
    lines: list[str] = []

    # Enough for a few leads, some reaching sales, and a shared browser whose
    # fresh visitor id counts as one more visitor.
    tally = generate(database_url, 4_000, seed=1, log=lines.append)

    with _session(database_url) as session:
        assert tally.events == 4_000
        assert count(session, PageView) == tally.pageviews > 0
        assert count(session, Click) == tally.clicks > tally.pageviews
        assert count(session, Visitor) == tally.visitors > 10
        assert count(session, IdentityConflict) == 1
        assert count(session, Identify) == tally.identifies > 0
        assert count(session, StageChange) == tally.stage_changes
        assert tally.stage_changes >= 2 * count(session, Lead) > 0
        assert count(session, Content) == len(SITE_NAMES) * ITEMS_PER_SITE
        assert count(session, ContentSection) > count(session, Content) * 3
        assert session.scalar(select(func.count()).where(Click.dead.is_(True))) > 0
        assert session.scalar(select(func.count()).where(Click.error.is_(True))) > 0
        assert session.scalar(
            select(func.count()).where(Lead.reached_sales_at.is_not(None))
        )
    assert lines[-1].startswith("done: 4000 events in ")


def _digest(url: str) -> list[tuple]:
    with _session(url) as session:
        return session.execute(
            select(
                PageView.event_id,
                Content.url,
                PageView.viewed_at,
                PageView.active_ms,
                PageView.max_scroll_px,
                func.count(Click.id),
            )
            .join(Content, Content.id == PageView.content_id)
            .outerjoin(Click, Click.pageview_id == PageView.id)
            .group_by(PageView.id, Content.url)
            .order_by(PageView.event_id)
        ).all()


def _stages(url: str) -> list[tuple]:
    with _session(url) as session:
        return session.execute(
            select(Lead.email, StageChange.stage, StageChange.entered_at)
            .join(Lead, Lead.id == StageChange.lead_id)
            .order_by(Lead.email, StageChange.entered_at, StageChange.stage)
        ).all()


def test_same_seed_same_rows_whatever_the_number_of_workers(tmp_path):
    """Enough events that commits fall between one visitor's beacons (where the
    CRM histories are written) at different places for one and two workers."""
    one, two = (f"sqlite:///{tmp_path / name}" for name in ("one.db", "two.db"))

    generate(one, 6000, seed=5, workers=1, log=lambda _line: None)
    generate(two, 6000, seed=5, workers=2, log=lambda _line: None)

    assert _digest(one) == _digest(two)
    assert _stages(one) == _stages(two)
    assert len(_digest(one)) > 400 and len(_stages(one)) > 10


def test_replicated_data_is_k_times_as_big_and_ingest_still_writes(database_url):
    tally = generate(database_url, 400, seed=2, log=lambda _line: None)

    replicate(database_url, 3, log=lambda _line: None)

    with _session(database_url) as session:
        assert count(session, PageView) == 3 * tally.pageviews
        assert count(session, Click) == 3 * tally.clicks
        assert count(session, Lead) == count(session, Identify)
        emails = session.scalars(select(Lead.email)).all()
        assert len(set(emails)) == len(emails) == 3 * tally.identifies
        # New rows still get fresh ids after the copies (PostgreSQL sequences).
        sites.forget()
        body = {
            "s": site_key(0),
            "v": "after-replication",
            "e": [
                {"t": "pv", "id": "pv-after-1", "p": "pv-after-1",
                 "ts": int(NOW.timestamp() * 1000) - 60_000,
                 "u": origin(0) + "/blog/0/new", "vw": 1440, "vh": 900, "dh": 2000},
                {"t": "c", "id": "click-after-1", "p": "pv-after-1",
                 "ts": int(NOW.timestamp() * 1000) - 50_000, "x": 10, "y": 10,
                 "vw": 1440, "s": "#cta", "fx": 0.5, "fy": 0.5, "tg": "button",
                 "in": True},
            ],
        }  # fmt: skip
        meta = RequestMeta(ip="10.9.9.9", user_agent="Mozilla/5.0", origin=origin(0))
        assert ingest(session, json.dumps(body).encode(), meta, NOW) == 2
        session.commit()
        assert count(session, PageView) == 3 * tally.pageviews + 1
