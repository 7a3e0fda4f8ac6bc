"""Dashboard pages: request arguments → queries → figures → template, or JSON.

Every page has a JSON twin (``?format=json``) fed by the same dataclasses, for
tests and scripts. Structured as one blueprint so a login check can wrap it whole.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, jsonify, render_template, request
from sqlalchemy import select

from dashboard import queries
from resonance.db import get_session
from tracker.models import Site

bp = Blueprint("dashboard", __name__, url_prefix="/dash", template_folder="templates")


def wants_json() -> bool:
    """The JSON twin of a page was asked for."""
    return request.args.get("format") == "json"


@bp.get("/")
def overview() -> Response | str:
    """Sites with their counts, and the latest page views as they arrive."""
    session = get_session()
    summaries = queries.site_summaries(session)
    recent = queries.recent_views(session)
    if wants_json():
        return jsonify(
            sites=[asdict(s) for s in summaries], recent=[asdict(r) for r in recent]
        )
    return render_template("dashboard/overview.html", sites=summaries, recent=recent)


DEVICES = ("mobile", "tablet", "desktop")


def content_filter(site_key: str) -> queries.ContentFilter:
    """The filter from the query string: ``since``/``until`` (YYYY-MM-DD),
    ``device``, ``q``. Bad values are a 400, never a 500."""
    device = request.args.get("device") or None
    if device and device not in DEVICES:
        abort(400, f"device must be one of {', '.join(DEVICES)}")
    return queries.ContentFilter(
        site_key=site_key,
        since=_day(request.args.get("since")),
        until=_day(request.args.get("until"), next_day=True),
        device=device,
        search=(request.args.get("q") or "").strip()[:200] or None,
    )


def _day(value: str | None, next_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        abort(400, f"{value!r} is not a date like 2026-01-31")
    return day + timedelta(days=1) if next_day else day


@bp.get("/sites/<site_key>/content")
def content_list(site_key: str) -> Response | str:
    """Every content item of a site with its reading figures."""
    session = get_session()
    if not session.scalar(select(Site.id).where(Site.key == site_key)):
        abort(404)
    flt = content_filter(site_key)
    rows = queries.content_list(session, flt)
    if wants_json():
        return jsonify(site=site_key, content=[asdict(row) for row in rows])
    return render_template(
        "dashboard/content_list.html",
        site_key=site_key,
        rows=rows,
        flt=flt,
        devices=DEVICES,
        args=request.args,
    )
