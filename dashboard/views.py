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
    current_period,
    field_errors,
    ids_in_range,
    page_args,
)
from dashboard.content_filters import (
    comparison,
    content_filter,
    filtered,
    segment_arg,
    stated_period,
    trend_days,
)
from dashboard.kind_views import reached_sales_stage
from dashboard.nav import landing, navigation
from dashboard.periods import PRESET_LABELS, change_text, period_label
from dashboard.queries.acquisition import AcquisitionOptions, acquisition_options
from dashboard.queries.clicks import BIN_PX
from dashboard.queries.content_item import content_info, view_stats
from dashboard.queries.content_list import content_list as content_rows
from dashboard.queries.content_list import with_previous
from dashboard.queries.content_report import ContentReport, content_report
from dashboard.queries.realtime import latest_events, realtime
from dashboard.queries.segments import ContentFilter, lead_stages
from dashboard.queries.sites import recent_views, site_summaries
from dashboard.queries.trend import daily_trend
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
# them asks nothing. period_sentence: the period this request's day_range
# chose, in words, for forms of other modules' views (the influence page).
bp.add_app_template_global(navigation, "navigation")
bp.add_app_template_global(field_errors, "field_errors")
bp.add_app_template_global(FIELD_LABELS, "field_labels")
bp.add_app_template_global(allowed, "allowed")
bp.add_app_template_global(PRESET_LABELS, "period_presets")


def _period_sentence(zone: str | None = None) -> str:
    """The period this request chose, in words; "All time" says since when
    for the site in the URL."""
    period = current_period(zone)
    site_key = (request.view_args or {}).get("site_key")
    if site_key and not period.since:
        return stated_period(site_key, period)["label"]
    return period_label(period)


bp.add_app_template_global(_period_sentence, "period_sentence")


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
    """Every content item of a site with its reading figures (with
    ``vs=previous``, beside its page views in the period before)."""
    session = get_session()
    site_id = session.scalar(select(Site.id).where(Site.key == site_key))
    if not site_id:
        abort(404)
    flt = content_filter(site_key)
    group = _flag("group")
    vs = comparison(flt)
    rows = content_rows(session, vs.flt if vs else flt, group=group)
    if vs:
        rows = with_previous(session, rows, vs.before_flt, group)
    rows, sort = _sort(rows)
    never = not rows and not latest_events(session, site_id, 1)
    periods = vs.twin(site_key) if vs else {"period": stated_period(site_key)}
    options = acquisition_options(session, flt)
    return page_or_json(
        "dashboard/content_list.html",
        {"site": site_key, **periods, "acquisition": options, "content": rows},
        lambda: {
            **_filter_context(site_key, flt, options),
            **periods,
            "rows": rows,
            "group": group,
            "sort": sort,
            "columns": CONTENT_COLUMNS,
            "sort_args": page_args(drop=("sort", "format")),
            "link_args": page_args(drop=("q", "group", "format", "sort")),
            "vs": vs,
            "change_text": change_text,
            "embed": sites_views.embed_tag(site_key) if never else None,
        },
    )


def _filter_context(
    site_key: str, flt: ContentFilter, options: AcquisitionOptions
) -> dict:
    """What the content pages' filter forms show: the choices, the values
    present in the period, the period's presets."""
    session = get_session()
    return {
        "site_key": site_key,
        "flt": flt,
        "devices": DEVICES,
        "stages": lead_stages(session, site_key),
        "acquisition": options,
        "presets": PRESET_LABELS,
        "args": request.args,
    }


@bp.get("/sites/<site_key>/content/<int:content_id>")
def content_page(site_key: str, content_id: int) -> Response:
    """One content item: its daily trend, click heatmap over its snapshot, top
    elements, scroll reach, attention per section and by depth, a segment
    comparison and sales notes."""
    session = get_session()
    content = content_info(session, site_key, content_id)
    if content is None:
        abort(404)
    flt = content_filter(site_key)
    compare = request.args.get("compare") or None
    if compare is not None:
        compare = segment_arg(compare)
    vs = comparison(flt)
    if vs:
        flt = vs.flt
    report = content_report(session, flt, content, compare)
    period = vs.current if vs else current_period()
    days = trend_days(site_key, period)
    trend = daily_trend(session, flt, content_id, *days, period.zone) if days else []
    before = view_stats(session, vs.before_flt, content_id) if vs else None
    periods = vs.twin(site_key) if vs else {"period": stated_period(site_key)}
    options = acquisition_options(session, flt)
    return page_or_json(
        "dashboard/content.html",
        {
            "site": site_key,
            **periods,
            "acquisition": options,
            **fields_of(report),
            "trend": trend,
            "previous": before,
        },
        lambda: {
            **_filter_context(site_key, flt, options),
            **periods,
            "report": report,
            "compare": compare,
            "trend": trend,
            "previous": before,
            "change_text": change_text,
            "figures": _content_figures(site_key, report, trend),
            "can_snapshot": snapshot_views.available(),
            "snapshot_args": page_args(drop=("format",)),
            "list_args": page_args(drop=("format", "compare")),
            "filtered": filtered(flt),
            "embed": None if report.stats.views else sites_views.embed_tag(site_key),
        },
    )


def _content_figures(site_key: str, report: ContentReport, trend: list) -> dict:
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
    if trend and report.stats.views:
        result["fig-trend"] = figures.trend_figure(trend)
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
            reached_stage=reached_sales_stage(site_key),
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
    "/sites/<site_key>/content/<int:content_id>/elements.csv",
    view_func=snapshot_views.elements_csv,
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
