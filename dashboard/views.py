"""Dashboard pages: request arguments → queries → figures → template, or JSON.

Every page has a JSON twin (``?format=json``) fed by the same dataclasses, for
tests and scripts. Who may open which page is decided before the view runs, in
:data:`resonance.auth.access.ACCESS`; views scope every id by the site in the URL.
"""

from __future__ import annotations

import gzip
from functools import cache
from operator import attrgetter

import plotly
from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    request,
    url_for,
)
from plotly.offline import get_plotlyjs
from sqlalchemy import select

from dashboard import figures, realtime_views, sites_views, snapshot_views
from dashboard.args import (
    FIELD_LABELS,
    bad_input_status,
    day_range,
    field_errors,
    ids_in_range,
    page_args,
)
from dashboard.nav import landing, navigation
from dashboard.queries.clicks import BIN_PX
from dashboard.queries.content_item import content_info
from dashboard.queries.content_list import content_list as content_rows
from dashboard.queries.content_report import ContentReport, content_report
from dashboard.queries.realtime import latest_events, realtime
from dashboard.queries.segments import ContentFilter, lead_stages, valid_segment
from dashboard.queries.sites import recent_views, site_summaries, site_timezone
from resonance.auth.access import allowed
from resonance.auth.session import current_user, visible_sites
from resonance.core.clock import naive_utc
from resonance.core.db import get_session
from resonance.core.models import DEVICES, Site
from resonance.core.respond import fields_of, page_or_json, reads_json

bp = Blueprint("dashboard", __name__, url_prefix="/dash", template_folder="templates")
bp.url_value_preprocessor(ids_in_range)
bp.after_request(bad_input_status)


# For every page's header and filter forms, and for macros imported without
# the page's context (_empty.html): functions, so a page that does not show
# them asks nothing.
bp.add_app_template_global(navigation, "navigation")
bp.add_app_template_global(field_errors, "field_errors")
bp.add_app_template_global(FIELD_LABELS, "field_labels")
bp.add_app_template_global(allowed, "allowed")


@bp.get("/")
def overview() -> Response:
    """The user's sites with their counts, and their latest page views; a
    salesperson goes on to their prospects (a script still gets the twin)."""
    if not reads_json() and (start := landing(current_user())):
        return redirect(start)
    session = get_session()
    keys = visible_sites()
    summaries = site_summaries(session, site_keys=keys)
    recent = recent_views(session, site_keys=keys)
    live = realtime(
        session,
        naive_utc(),
        site_keys=keys,
        storing=realtime_views.shows_inbox(),
    )
    return page_or_json(
        "dashboard/overview.html",
        {
            "sites": summaries,
            "recent": recent,
            "realtime": realtime_views.payload(live),
        },
        lambda: {
            "sites": summaries,
            "recent": recent,
            "live": live,
            "live_sites": {s.key: s for s in live.sites},
            "zones": {s.key: s.timezone for s in live.sites},
            "first_tag": sites_views.embed_tag(summaries[0].key) if summaries else "",
        },
    )


def content_filter(site_key: str) -> ContentFilter:
    """The filter from the query string: ``since``/``until`` (YYYY-MM-DD, days
    in the site's time zone), ``device``, ``q``, ``segment`` (all, leads, sales,
    stage:<name>) and ``internal=exclude``. Bad values are a 400, never a 500;
    a bad date is shown beside its field (:mod:`dashboard.args`)."""
    device = request.args.get("device") or None
    if device and device not in DEVICES:
        abort(400, f"device must be one of {', '.join(DEVICES)}")
    internal = request.args.get("internal") or "include"
    if internal not in ("include", "exclude"):
        abort(400, "internal must be include or exclude")
    since, until = day_range(site_timezone(get_session(), site_key))
    return ContentFilter(
        site_key=site_key,
        since=since,
        until=until,
        device=device,
        search=(request.args.get("q") or "").strip()[:200] or None,
        segment=_segment(request.args.get("segment") or "all"),
        exclude_internal=internal == "exclude",
    )


def _segment(value: str) -> str:
    if not valid_segment(value):
        abort(400, "segment must be all, leads, sales or stage:<name>")
    return value


def _flag(name: str) -> bool:
    value = request.args.get(name) or "0"
    if value not in ("0", "1"):
        abort(400, f"{name} must be 0 or 1")
    return value == "1"


CONTENT_COLUMNS = {
    "title": "Content",
    "views": "Views",
    "visitors": "Visitors",
    "median_active_s": "Median active",
    "median_scroll_pct": "Median scroll",
    "read_through_pct": "Read-through",
    "leads": "Known leads",
}


def _sort(rows: list, default: str = "-views") -> tuple[list, str]:
    """Order the (already aggregated) rows by ``sort=column`` or ``sort=-column``;
    ties keep SQL's order. An unknown column is a 400."""
    sort = request.args.get("sort") or default
    column = sort.removeprefix("-")
    if column not in CONTENT_COLUMNS:
        abort(400, f"sort must be one of {', '.join(CONTENT_COLUMNS)} (- for desc)")
    key = (lambda r: r.title.lower()) if column == "title" else attrgetter(column)
    return sorted(rows, key=key, reverse=sort.startswith("-")), sort


@bp.get("/sites/<site_key>/content")
def content_list(site_key: str) -> Response:
    """Every content item of a site with its reading figures."""
    session = get_session()
    site_id = session.scalar(select(Site.id).where(Site.key == site_key))
    if not site_id:
        abort(404)
    flt = content_filter(site_key)
    group = _flag("group")
    rows, sort = _sort(content_rows(session, flt, group=group))
    never = not rows and not latest_events(session, site_id, 1)
    return page_or_json(
        "dashboard/content_list.html",
        {"site": site_key, "content": rows},
        lambda: {
            "site_key": site_key,
            "rows": rows,
            "flt": flt,
            "group": group,
            "sort": sort,
            "columns": CONTENT_COLUMNS,
            "sort_args": page_args(drop=("sort", "format")),
            "link_args": page_args(drop=("q", "group", "format", "sort")),
            "devices": DEVICES,
            "stages": lead_stages(session, site_key),
            "args": request.args,
            "embed": sites_views.embed_tag(site_key) if never else None,
        },
    )


@bp.get("/sites/<site_key>/content/<int:content_id>")
def content_page(site_key: str, content_id: int) -> Response:
    """One content item: click heatmap over its snapshot, top elements, scroll
    reach, attention per section and by depth, a segment comparison and sales
    notes."""
    session = get_session()
    content = content_info(session, site_key, content_id)
    if content is None:
        abort(404)
    flt = content_filter(site_key)
    compare = request.args.get("compare") or None
    if compare is not None:
        compare = _segment(compare)
    report = content_report(session, flt, content, compare)
    return page_or_json(
        "dashboard/content.html",
        {"site": site_key, **fields_of(report)},
        lambda: {
            "site_key": site_key,
            "report": report,
            "flt": flt,
            "compare": compare,
            "devices": DEVICES,
            "stages": lead_stages(session, site_key),
            "figures": _content_figures(site_key, report),
            "can_snapshot": snapshot_views.available(),
            "snapshot_args": page_args(drop=("format",)),
            "args": request.args,
            "filtered": _filtered(flt),
            "embed": None if report.stats.views else sites_views.embed_tag(site_key),
        },
    )


def _filtered(flt: ContentFilter) -> bool:
    """Whether the filter narrows the page views (an empty page then says so)."""
    return (
        bool(flt.since or flt.until or flt.device or flt.exclude_internal)
        or flt.segment != "all"
    )


def _content_figures(site_key: str, report: ContentReport) -> dict:
    """The page's figures as Plotly JSON payloads, keyed by element id."""
    backdrop = _backdrop(site_key, report)
    scroll = report.scroll
    reach = figures.ReachOverlay(
        bands=scroll.tenths if scroll.by_tenth else scroll.bands,
        marks=scroll.marks,
        fold_px=scroll.avg_fold_px,
    )
    result = {
        "fig-heatmap": figures.heatmap_figure(
            report.bins, backdrop, reach if scroll.views else None, BIN_PX
        ),
    }
    if report.sections:
        result["fig-attention"] = figures.attention_figure(report.sections)
    if report.depth.views:
        result["fig-depth"] = figures.depth_figure(
            report.depth.bands, backdrop, report.depth.views
        )
    if report.compare:
        result["fig-compare"] = figures.compare_figure(
            report.bins,
            report.stats.views,
            report.compare.bins,
            report.compare.views,
            backdrop,
            (report.segment, report.compare.segment),
            BIN_PX,
        )
    return {key: figures.figure_payload(fig) for key, fig in result.items()}


def _backdrop(site_key: str, report: ContentReport) -> figures.Backdrop:
    """The snapshot the heatmap is drawn over or, without one, the page's
    outline: as tall as the longest page view, with its sections."""
    snap = report.snapshot
    if snap:
        url = url_for(
            "dashboard.snapshot_png", site_key=site_key, snapshot_id=snap.snapshot_id
        )
        return figures.Backdrop(snap.width_px, snap.height_px, image_url=url)
    deepest = max((b.y_px + BIN_PX for b in report.bins), default=0)
    height = max(report.stats.max_doc_h, deepest, 600)
    sections = [(s.heading, s.top_px, s.height_px) for s in report.sections]
    return figures.Backdrop(report.width_px, height, sections=sections)


bp.add_url_rule(
    "/sites/<site_key>/snapshots/<int:snapshot_id>.png",
    view_func=snapshot_views.snapshot_png,
)
bp.add_url_rule(
    "/sites/<site_key>/content/<int:content_id>/snapshot",
    view_func=snapshot_views.take_snapshot,
    methods=["POST"],
)


@cache
def _plotly_js() -> tuple[bytes, bytes]:
    """plotly.js as shipped with the Python package, plain and gzipped (once)."""
    source = get_plotlyjs().encode()
    return source, gzip.compress(source, 6)


@bp.get("/plotly.min.js")
def plotly_js() -> Response:
    """plotly.js from the app itself (no CDN), cacheable for a year: its URL
    carries the version, so an upgrade changes the URL."""
    plain, packed = _plotly_js()
    use_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(packed if use_gzip else plain, mimetype="text/javascript")
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.cache_control.public = True
    response.cache_control.max_age = 365 * 24 * 3600
    return response


@bp.context_processor
def _plotly_version() -> dict:
    return {"plotly_version": plotly.__version__}
