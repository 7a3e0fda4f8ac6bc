"""Snapshots on the dashboard: serving a snapshot's screenshot, and taking one
from the content page (Playwright and Chromium, imported only when used).

Routes are registered on the dashboard blueprint by :mod:`dashboard.views`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Response, abort, current_app, redirect, send_from_directory, url_for
from sqlalchemy import select

from dashboard.args import page_args
from dashboard.queries.content_item import SNAPSHOT_WIDTHS, content_info, snapshot_image
from resonance.core import config
from resonance.core.db import get_session
from resonance.core.models import Site


def snapshot_png(site_key: str, snapshot_id: int) -> Response:
    """A snapshot's screenshot, only for a content item of this site."""
    image = snapshot_image(get_session(), site_key, snapshot_id)
    if image is None:
        abort(404)
    response = send_from_directory(_snapshot_dir(), image, mimetype="image/png")
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    return response


def _snapshot_dir() -> Path:
    return config.snapshot_dir(current_app)


def available() -> bool:
    return importlib.util.find_spec("tracker.snapshots") is not None


def take_snapshot(site_key: str, content_id: int) -> Response:
    """Screenshot the content item at the three heatmap widths, then show it."""
    session = get_session()
    content = content_info(session, site_key, content_id)
    site_id = session.scalar(select(Site.id).where(Site.key == site_key))
    if content is None or site_id is None:
        abort(404)
    if not available():
        abort(501, "snapshots are not available in this installation")
    from tracker import snapshots  # needs Playwright and Chromium: imported late

    try:
        snapshots.take_snapshots(
            session,
            site_id,
            content.url,
            widths=tuple(SNAPSHOT_WIDTHS.values()),
            directory=_snapshot_dir(),
        )
    except snapshots.SnapshotError as exc:
        session.rollback()
        abort(502, f"the snapshot failed: {exc}")
    session.commit()
    return redirect(
        url_for(
            "dashboard.content_page",
            site_key=site_key,
            content_id=content_id,
            **page_args(drop=("format",)),
        ),
        code=303,
    )
