"""Snapshots on the dashboard: serving a snapshot's screenshot, taking one from
the content page (Playwright and Chromium, imported only when used) and saying
in words why it failed, and the top clicked elements as a CSV download.

Routes are registered on the dashboard blueprint by :mod:`dashboard.views`."""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from sqlalchemy import select

from dashboard.args import page_args
from dashboard.queries.clicks import top_elements
from dashboard.queries.content_item import (
    content_info,
    latest_snapshot,
    snapshot_image,
)
from dashboard.sales_views import csv_cell
from resonance.core import config
from resonance.core.db import get_session
from resonance.core.models import Site
from resonance.core.respond import reads_json
from tracker.grid_contributions import SNAPSHOT_WIDTHS, device_width

# The status a failed snapshot answers: the page's server failed or could not be
# reached (502), it was too slow (504), this server cannot take snapshots (503).
FAILURE_STATUS = {"http": 502, "unreachable": 502, "other": 502}
FAILURE_STATUS |= {"timeout": 504, "browser": 503}
ELEMENT_COLUMNS = (
    "name",
    "named_by",
    "selector",
    "tag",
    "click_text",
    "clicks",
    "page_views",
    "rage_clicks",
    "dead_clicks",
    "error_clicks",
)


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
    """Screenshot the content item at the three heatmap widths, then show it;
    on failure, a page that says which URL was loaded, what answered and what
    to do, with the button to try again."""
    session = get_session()
    content = content_info(session, site_key, content_id)
    site_id = session.scalar(select(Site.id).where(Site.key == site_key))
    if content is None or site_id is None:
        abort(404)
    if not available():
        abort(501, "snapshots are not available in this installation")
    from tracker import snapshots  # needs Playwright and Chromium: imported late

    widths = tuple(SNAPSHOT_WIDTHS.values())
    try:
        snapshots.take_snapshots(
            session,
            site_id,
            content.url,
            widths=widths,
            directory=_snapshot_dir(),
            load_url=own_page(site_key, content.url),
        )
    except snapshots.SnapshotError as exc:
        session.rollback()
        return _failed(site_key, content_id, content.url, widths, exc)
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


def own_page(site_key: str, url: str) -> str | None:
    """Where to load a demo page from: this server, as the request reached it.

    The demo's content URLs carry the origin ``resonance serve`` uses by
    default (127.0.0.1:8000); served on another port or host, "Take snapshot"
    loaded a page nobody answered (connection refused, a 502 in 8 s). Other
    sites' pages are loaded from their own URLs (None)."""
    parts = urlsplit(url)
    if site_key != current_app.config.get("DEMO_SITE_KEY") or not (
        parts.path == "/demo" or parts.path.startswith("/demo/")
    ):
        return None
    query = f"?{parts.query}" if parts.query else ""
    return request.host_url.rstrip("/") + parts.path + query


def answered(exc) -> str:
    """What the page's server (or this one) answered, in words."""
    if exc.kind == "http":
        return f"the page answered HTTP {exc.status}"
    if exc.kind == "timeout":
        return "the page did not finish loading in time (a timeout)"
    if exc.kind == "unreachable":
        return (
            "nothing answered: the host name did not resolve or the connection "
            "was refused"
        )
    if exc.kind == "browser":
        return "this server cannot take snapshots: " + str(exc)
    return str(exc)


def _failed(
    site_key: str, content_id: int, url: str, widths: tuple[int, ...], exc
) -> Response:
    """The failure explained, as a page (escaped by Jinja: the URL came from a
    browser) or as JSON for a script."""
    status = FAILURE_STATUS.get(exc.kind, 502)
    failure = {
        "error": "the snapshot failed",
        "url": exc.url or url,
        "kind": exc.kind,
        "status": exc.status or None,
        "answered": answered(exc),
        "advice": exc.advice,
        "detail": str(exc),
    }
    if reads_json():
        return current_app.response_class(
            current_app.json.dumps(failure), status, mimetype="application/json"
        )
    html = render_template(
        "dashboard/snapshot_failed.html",
        site_key=site_key,
        content_id=content_id,
        failure=failure,
        widths=widths,
        code=status,
        snapshot_args=page_args(drop=("format",)),
    )
    return current_app.make_response((html, status))


def elements_csv(site_key: str, content_id: int) -> Response:
    """The top clicked elements for the page's filter, every one of them, with
    their names, selectors, tags and every count: for a spreadsheet."""
    from dashboard.content_filters import content_filter  # beside the views

    session = get_session()
    content = content_info(session, site_key, content_id)
    if content is None:
        abort(404)
    flt = content_filter(site_key)
    snap = latest_snapshot(session, content_id, device_width(flt.device))
    rows = top_elements(
        session,
        flt,
        content_id,
        limit=None,
        snapshot_id=snap.snapshot_id if snap else None,
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ELEMENT_COLUMNS)
    for e in rows:
        row = (e.name, e.name_source, e.selector, e.tag, e.text, e.clicks)
        row += (e.views, e.rage_clicks, e.dead_clicks, e.error_clicks)
        writer.writerow([csv_cell(v) for v in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="elements-{content_id}.csv"'
    )
    return response
