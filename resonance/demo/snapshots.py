"""Snapshots of the demo's own pages, made when the demo is seeded, so the first
content page a newcomer opens shows the heatmap on a real screenshot with the
clicks placed on their elements (not a grey outline).

Owns two ways to get them, tried in this order:

1. **Taken now**, with the same code as the dashboard's "Take snapshot"
   (:func:`tracker.snapshots.take_snapshots`). At seed time the server is not
   running yet, so the app is served on 127.0.0.1 on a free port in a thread
   while Chromium loads the pages from there; the snapshots are stored under
   the content URLs the traffic uses (``http://127.0.0.1:8000/demo/…``).
2. **Pre-rendered**, when Chromium or Playwright is absent: PNGs and element
   boxes shipped in ``resonance/demo/static/snapshots/`` (made by
   ``scripts/demo_snapshots.py``), only the most viewed pages at 1,440 px to
   keep the package small.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resonance.core.clock import naive_utc
from resonance.core.models import Content, PageView
from tracker.snapshots import DEFAULT_WIDTHS, SnapshotError, add_snapshot, png_size

# Under static/ so the package ships them (pyproject's package-data).
PRERENDERED = Path(__file__).with_name("static") / "snapshots"
INDEX = "index.json"
# The most viewed pages snapshotted at seed time: 3 widths each, 3–4 s per
# page on a busy 2-core machine (5 pages took 50 s).
SEED_PAGES = 3


@dataclass(frozen=True)
class DemoSnapshots:
    """What seeding did: which way (``taken``, ``prerendered`` or ``none``), how
    many snapshots, of how many pages, and why it fell back if it did."""

    how: str
    snapshots: int
    pages: int
    note: str = ""

    def describe(self) -> str:
        if self.how == "taken":
            return (
                f"demo snapshots: {self.snapshots} taken with Chromium "
                f"({self.pages} pages)"
            )
        if self.how == "prerendered" and not self.snapshots:
            return (
                f"demo snapshots: none ({self.note}; no pre-rendered ones in this "
                "package): heatmaps are drawn over page outlines"
            )
        if self.how == "prerendered":
            return (
                f"demo snapshots: {self.snapshots} pre-rendered ones installed "
                f"({self.note})"
            )
        return f"demo snapshots: none ({self.note})"


def most_viewed(session: Session, site_id: int, limit: int) -> list[str]:
    """The URLs of the site's most viewed content items, most viewed first."""
    views = func.count(PageView.id)
    return list(
        session.scalars(
            select(Content.url)
            .join(PageView, PageView.content_id == Content.id)
            .where(Content.site_id == site_id)
            .group_by(Content.id, Content.url)
            .order_by(views.desc(), Content.url)
            .limit(limit)
        )
    )


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """``app`` answering on 127.0.0.1 on a free port in a thread; its base URL.
    Werkzeug's line per request is silenced meanwhile (the seed prints its own
    progress)."""
    from werkzeug.serving import make_server

    quiet = logging.getLogger("werkzeug")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        quiet.setLevel(level)


def snapshot_demo(
    session: Session,
    app: Flask,
    site_id: int,
    directory: Path,
    *,
    pages: int = SEED_PAGES,
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    report: Callable[[str], None] | None = None,
) -> DemoSnapshots:
    """Snapshot the demo's most viewed pages (see the module); commits."""
    urls = most_viewed(session, site_id, pages)
    try:
        from tracker.snapshots import take_snapshots

        taken = 0
        # A browser per page, each launched on a thread of its own by
        # take_snapshots (see there): a second or so more per page.
        with served(app) as base:
            for url in urls:
                parts = urlsplit(url)
                load = base + parts.path + (f"?{parts.query}" if parts.query else "")
                taken += len(
                    take_snapshots(
                        session,
                        site_id,
                        url,
                        widths=widths,
                        directory=directory,
                        load_url=load,
                    )
                )
                session.commit()
                if report is not None:
                    report(f"snapshot of {parts.path} at {len(widths)} widths")
        return DemoSnapshots("taken", taken, len(urls))
    except SnapshotError as exc:
        session.rollback()
        if exc.kind != "browser":
            raise
        installed = install_prerendered(session, site_id, directory)
        return DemoSnapshots("prerendered", installed, installed, str(exc))


def install_prerendered(session: Session, site_id: int, directory: Path) -> int:
    """Copy the shipped PNGs into ``directory`` and store their snapshots and
    element boxes for the content items with those URLs' paths; commits. The
    number installed (0 when none are shipped or none of the pages exist)."""
    index_path = PRERENDERED / INDEX
    if not index_path.is_file():
        return 0
    index = json.loads(index_path.read_text())
    by_path = {
        urlsplit(url).path: content_id
        for content_id, url in session.execute(
            select(Content.id, Content.url).where(Content.site_id == site_id)
        )
    }
    directory.mkdir(parents=True, exist_ok=True)
    now = naive_utc()
    installed = 0
    for shot in index["snapshots"]:
        content_id = by_path.get(shot["path"])
        source = PRERENDERED / shot["image"]
        if content_id is None or not source.is_file():
            continue
        width, height = png_size(source.read_bytes())
        name = f"{content_id}-{width}-demo-{shot['image']}"
        shutil.copyfile(source, directory / name)
        elements = {sel: tuple(box) for sel, box in shot["elements"].items()}
        add_snapshot(session, content_id, (width, height), now, name, elements)
        installed += 1
    session.commit()
    return installed
