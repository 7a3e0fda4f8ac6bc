"""The real-time panel's JSON: visitors, page views and top pages of the last
30 minutes, polled every few seconds by ``static/js/realtime.js``.

Owns: the endpoint and the Jinja filters that show times in a site's zone (the
overview and the sites page both use them). No websockets: a poll of a small
indexed query is simpler to run behind any proxy and cheap at this rate.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy import select

from dashboard.queries.realtime import Realtime
from dashboard.queries.realtime import realtime as activity
from resonance.auth.session import visible_sites
from resonance.core.clock import in_zone, iso_utc, local_time, naive_utc
from resonance.core.db import get_session
from resonance.core.models import Site

bp = Blueprint("realtime", __name__, url_prefix="/dash")

bp.app_template_filter("local_time")(local_time)
bp.app_template_filter("in_zone")(in_zone)


@bp.get("/realtime")
def realtime() -> Response:
    """The panel's figures for every site, or one with ``?site=KEY``."""
    site_key = request.args.get("site") or None
    session = get_session()
    keys = visible_sites()
    if site_key:
        known = session.scalar(select(Site.id).where(Site.key == site_key))
        if known is None or (keys is not None and site_key not in keys):
            return not_found()  # another user's site looks like no site at all
        keys = (site_key,)
    now = activity(session, naive_utc(), keys, storing=shows_inbox())
    response = jsonify(payload(now))
    response.cache_control.no_store = True
    return response


def shows_inbox() -> bool:
    """Whether the panel shows what waits in the collector's inbox: to admins
    only, since the inbox holds every site's beacons."""
    return visible_sites() is None


def not_found() -> Response:
    """A JSON 404: the endpoints here are read by scripts, never by people."""
    response = jsonify(error="unknown site key")
    response.status_code = 404
    return response


def payload(now: Realtime) -> dict:
    """The panel's JSON: totals, per site, top pages with links to their page."""
    return {
        "minutes": now.minutes,
        "since": iso_utc(now.since),
        "visitors": now.visitors,
        "pageviews": now.pageviews,
        # Admins only (None otherwise): beacons committed, not yet counted.
        "storing": asdict(now.storing) if now.storing else None,
        "sites": [
            {
                "key": s.key,
                "name": s.name,
                "visitors": s.visitors,
                "pageviews": s.pageviews,
            }
            for s in now.sites
        ],
        "top_pages": [
            {
                "site": p.site_key,
                "url": p.url,
                "title": p.title,
                "pageviews": p.pageviews,
                "visitors": p.visitors,
                "href": url_for(
                    "dashboard.content_page",
                    site_key=p.site_key,
                    content_id=p.content_id,
                ),
            }
            for p in now.top_pages
        ],
    }
