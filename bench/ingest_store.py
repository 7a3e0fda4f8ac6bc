"""The benchmark's database: a fresh one per row, and the proof that every
acknowledged batch was stored exactly once.

A 204 from the collector means "committed", perhaps to the inbox first: the
check waits until the inbox is empty, then counts the rows each batch of
``ingest.lua`` must have left behind.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from resonance.core.engine import upgrade
from resonance.core.models import Click, PageSection, PageView
from tracker.inbox import waiting
from tracker.sites import create_site

POSTGRES_URL = os.environ.get(
    "RESONANCE_BENCH_POSTGRES_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)
SITES = 4  # bench0 … bench3, the sites ingest.lua spreads its batches over


def prepare(store: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    """A fresh migrated database with the bench sites; its URL and a cleanup."""
    if store == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        cleanup = lambda: None  # noqa: E731 - the temp dir goes
    else:
        url, cleanup = _postgres_schema()
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        for n in range(SITES):
            create_site(
                session,
                f"Bench {n}",
                origins=["*"],
                privacy_mode="always",
                key=f"bench{n}",
            )
        session.commit()
    engine.dispose()
    return url, cleanup


def _postgres_schema() -> tuple[str, Callable[[], None]]:
    """A schema of its own on the bench server (so a run never touches another's
    tables), its URL and what drops it."""
    schema = f"rs_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def cleanup() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", cleanup


def analyze(url: str) -> None:
    """Statistics for the tables the warm-up filled (PostgreSQL), as autovacuum
    keeps them on a live installation: on a schema created seconds before, plans
    cached while a table was nearly empty scan it as it grows."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def wait_drained(url: str, start: float, timeout: float = 900) -> float:
    """Seconds from ``start`` (time.monotonic(), when wrk stopped) until the
    collectors have stored every beacon they committed to the inbox (they do it
    themselves once the load stops); fails on a beacon set aside, which would be
    an event accepted and not stored."""
    engine = create_engine(url)
    try:
        while True:
            with Session(engine) as session:
                left = waiting(session)
            if left.refused:
                raise AssertionError(f"{left.refused} beacons could not be stored")
            if not left.beacons:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{left.beacons} beacons still waiting")
            time.sleep(0.05)
    finally:
        engine.dispose()


def stored(url: str) -> tuple[int, int, int]:
    """Rows that prove every event of every accepted batch: page views, clicks,
    sections (scroll and attention are state on those rows, checked below)."""
    engine = create_engine(url)
    with Session(engine) as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (PageView, Click, PageSection)
        )
        shallow = session.scalar(
            select(func.count())
            .select_from(PageView)
            .where((PageView.max_scroll_px != 3100) | (PageView.active_ms != 42000))
        )
    engine.dispose()
    if shallow:
        raise AssertionError(f"{shallow} page views lack their scroll or attention")
    return counts


def expected(acknowledged: int) -> tuple[int, int, int]:
    """The rows ``acknowledged`` batches of ingest.lua leave: a page view, three
    clicks and a layout of three sections each."""
    return acknowledged, 3 * acknowledged, 3 * acknowledged
