"""The demo's synthetic traffic: a month of believable visitors on the demo site,
as the beacons the snippet sends, and :func:`seed_demo`, which stores them
through the collector's own ingest.

The beacon generator behind it is shared with ``bench/generate.py``, each part
in its own module: ``site`` (pages, sections, elements per width), ``visitors``
and ``people`` (devices, browsers, who identifies), ``sources`` (where sessions
come from), ``sessions`` (the schedule over days, page after page), ``reading``
and ``clicks`` (what a person does on a page), ``pageview`` (the events and
batches of one page view) and ``feed`` (into the database through ingest).

Deterministic: everything random comes from ``random.Random`` seeded with
``seed`` (one per visitor, so that a visitor's data does not depend on the
others'), and the clock only from ``now``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from resonance.core.models import Site
from resonance.demo.feed import feed, store_outlines
from resonance.demo.sessions import LATEST_START, Batch, Meta, simulate_visitor
from resonance.demo.site import DEMO_ORIGIN, demo_site
from resonance.demo.visitors import plan_visitors


def demo_batches(
    site_key: str,
    *,
    visitors: int = 400,
    days: int = 30,
    seed: int = 7,
    now: datetime | None = None,
    origin: str = DEMO_ORIGIN,
) -> Iterator[tuple[Batch, Meta]]:
    """Yield ``(batch, meta)`` for ``visitors`` synthetic visitors over ``days`` days.

    Batches come in the order they would reach the collector (by the time of
    their newest event), so visitors, sessions and identify calls interleave as
    in real traffic. ``meta`` carries the request's documentation-range IP and
    user agent, which the collector needs for bot checks and anonymous hashes.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    rng = random.Random(seed)
    window = (now - timedelta(days=days), now - LATEST_START)
    site = demo_site(origin)
    sent: list[tuple[int, int, Batch, Meta]] = []
    for plan in plan_visitors(rng, visitors):
        # One generator per visitor keeps each visitor's data independent of
        # how many events the visitors before it happened to produce.
        visitor_rng = random.Random(f"{seed}:{plan.index}:{plan.vid}")
        for ts, batch, meta in simulate_visitor(visitor_rng, plan, window, site):
            batch["s"] = site_key
            sent.append((ts, len(sent), batch, meta))
    sent.sort(key=lambda item: (item[0], item[1]))
    for _, _, batch, meta in sent:
        yield batch, meta


def seed_demo(
    session: Session,
    site_key: str,
    *,
    visitors: int = 400,
    days: int = 30,
    seed: int = 7,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    origin: str = DEMO_ORIGIN,
) -> int:
    """Store every demo batch through the collector's ingest, then the pages'
    outlines as a crawl of them would (so expected reading times show); the
    events stored.

    ``progress`` gets the batches done and their total as the seeding goes.
    """
    now = now or datetime.now(UTC)
    batches = list(
        demo_batches(
            site_key, visitors=visitors, days=days, seed=seed, now=now, origin=origin
        )
    )

    def report(done: int, _stored: int) -> None:
        if progress is not None:
            progress(done, len(batches))

    stored = feed(session, batches, now=now, progress=report)
    site_id = session.scalar(select(Site.id).where(Site.key == site_key))
    store_outlines(session, site_id, demo_site(origin), now.replace(tzinfo=None))
    session.commit()
    return stored
