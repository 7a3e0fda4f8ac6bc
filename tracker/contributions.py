"""What a set of page views contributes to each summary: the one definition of
every summary's figures (``tracker.summaries`` keeps the tables with it; the
dashboard reads the days not summarised with it, so both sides always agree).

A summary row is keyed by content item, UTC day, device and the cohort of the
visitor's lead now (:func:`cohort_views`); its figures are counts and sums, or
(``*_min``/``*_max``) extremes, so that the rows of any set of days combine
into the figure of those days.

Must not import: Flask, the dashboard. Writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles

from resonance.core.models import (
    AttentionBand,
    BandTotal,
    DepthTotal,
    ElementTotal,
    GridTotal,
    IdentityLink,
    Lead,
    PageSection,
    PageView,
    SectionTotal,
    SourceTotal,
    SpreadTotal,
    TextTotal,
    ViewTotal,
)
from tracker.click_contributions import element_contributions, text_contributions
from tracker.grid_contributions import GRID_FIGURES, grid_contributions

# The key of a summary row besides what it is about (a section, a depth band).
KEYS = ("site_id", "content_id", "day", "device", "lead", "sales", "stage")
# The additive figures of attention by section, in section_contributions' order.
FIGURES = (
    "views",
    "rows",
    "reached",
    "left_inside",
    "active_ms",
    "top_sum",
    "top_n",
    "idx_sum",
    "height_sum",
    "height_n",
)
SCROLL_BAND_PX = 100
# The figures of clicks by element: sums, then the element's tag and first click
# (extremes).
ELEMENT_FIGURES = (
    "clicks",
    "views",
    "rage",
    "dead",
    "error",
    "tag_max",
    "first_click_min",
)
# A page view read through: its deepest point at least this far down the page.
READ_THROUGH_PCT = 75.0
# The figures of page-view totals: sums, then extremes (named ``*_min``/``*_max``).
VIEW_FIGURES = (
    "views",
    "active_ms",
    "viewport_h",
    "read_through",
    "doc_h_min",
    "doc_h_max",
    "scroll_px_max",
)


def cohort_views(*where: ColumnElement[bool]):
    """Page views (those matching ``where``) with their summary key: UTC day,
    device and the cohort of their visitor's lead now, as a subquery."""
    return (
        select(
            PageView.id,
            PageView.site_id,
            PageView.content_id,
            func.date(PageView.viewed_at).label("day"),
            PageView.device,
            IdentityLink.lead_id.is_not(None).label("lead"),
            func.coalesce(Lead.reached_sales_at.is_not(None), False).label("sales"),
            func.coalesce(Lead.stage, "").label("stage"),
            PageView.viewport_h,
            PageView.doc_h,
            PageView.utm_source,
            PageView.utm_campaign,
            PageView.referrer,
            PageView.active_ms,
            PageView.max_scroll_px,
            PageView.max_scroll_pct,
        )
        .outerjoin(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .outerjoin(Lead, Lead.id == IdentityLink.lead_id)
        .where(*where)
        .subquery("cohort_views")
    )


def section_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` (a subquery with ``id`` and
    ``max_scroll_px``) add to attention by section: per ``keys`` columns of
    ``views``, heading and level, the figures of :data:`FIGURES`.

    The one definition of these figures: the refresh, the rebuild and the
    dashboard's reading of raw events (days not summarised) all use it.
    Counts of page views are distinct per heading (a heading may repeat in a
    page); "reached" means the view's deepest point went past the section's top,
    "left inside" that it stopped within the section.
    """
    s = PageSection
    deepest = views.c.max_scroll_px
    reached = s.top_px < deepest
    inside = and_(reached, deepest <= s.top_px + s.height_px)
    grouping = [views.c[k] for k in keys] + [s.heading, s.level]
    return (
        select(
            *grouping,
            func.count(func.distinct(s.pageview_id)).label("views"),
            func.count().label("rows"),
            func.count(func.distinct(case((reached, s.pageview_id)))).label("reached"),
            func.count(func.distinct(case((inside, s.pageview_id)))).label(
                "left_inside"
            ),
            func.coalesce(func.sum(s.active_ms), 0).label("active_ms"),
            func.coalesce(func.sum(s.top_px), 0).label("top_sum"),
            func.count(s.top_px).label("top_n"),
            func.coalesce(func.sum(s.idx), 0).label("idx_sum"),
            func.coalesce(func.sum(s.height_px), 0).label("height_sum"),
            func.count(s.height_px).label("height_n"),
        )
        .join(views, views.c.id == s.pageview_id)
        .where(s.heading.is_not(None), s.level.is_not(None))
        .group_by(*grouping)
    )


def px_band(views):
    """The 100 px band a page view's deepest point fell in."""
    return views.c.max_scroll_px // SCROLL_BAND_PX


def tenth_band(views):
    """The tenth of the page a page view's deepest point fell in (10: the end)."""
    tenth = cast(views.c.max_scroll_pct // 10, Integer)
    return case((tenth > 10, 10), else_=tenth)


def depth_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` add to scroll reach: per ``keys``
    columns, ``measure`` (``px``, ``tenth``) and band ``value``, the ``views``
    whose deepest point fell there (reach is the sum from the bottom up)."""
    grouping = [views.c[k] for k in keys]
    parts = [
        select(
            *grouping,
            literal(measure).label("measure"),
            band.label("value"),
            func.count().label("views"),
        ).group_by(*grouping, band)
        for measure, band in (("px", px_band(views)), ("tenth", tenth_band(views)))
    ]
    # A plain SELECT around the UNION: SQLite takes no nested compound SELECT.
    both = union_all(*parts).subquery("depth")
    return select(*both.c)


def band_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` add to attention by depth: per ``keys``
    columns and 100 px ``band``, the active ``ms`` on screen and the ``views``
    that reported the band; band -1 counts the views that reported any band."""
    b = AttentionBand
    grouping = [views.c[k] for k in keys]
    per_band = (
        select(
            *grouping,
            b.band.label("band"),
            func.count().label("views"),
            func.coalesce(func.sum(b.ms), 0).label("ms"),
        )
        .join(views, views.c.id == b.pageview_id)
        .group_by(*grouping, b.band)
    )
    reported = (
        select(
            *grouping,
            literal(-1).label("band"),
            func.count(func.distinct(b.pageview_id)).label("views"),
            literal(0).label("ms"),
        )
        .join(views, views.c.id == b.pageview_id)
        .group_by(*grouping)
    )
    # A plain SELECT around the UNION: SQLite takes no nested compound SELECT.
    both = union_all(per_band, reported).subquery("bands")
    return select(*both.c)


def view_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` add to page-view totals: per ``keys``
    columns, the figures of :data:`VIEW_FIGURES` (a view reads through when its
    deepest point reached :data:`READ_THROUGH_PCT` of the page)."""
    grouping = [views.c[k] for k in keys]
    read_through = cast(views.c.max_scroll_pct >= READ_THROUGH_PCT, Integer)
    stmt = select(
        *grouping,
        func.count().label("views"),
        func.coalesce(func.sum(views.c.active_ms), 0).label("active_ms"),
        func.coalesce(func.sum(views.c.viewport_h), 0).label("viewport_h"),
        func.coalesce(func.sum(read_through), 0).label("read_through"),
        func.coalesce(func.min(views.c.doc_h), 0).label("doc_h_min"),
        func.coalesce(func.max(views.c.doc_h), 0).label("doc_h_max"),
        func.coalesce(func.max(views.c.max_scroll_px), 0).label("scroll_px_max"),
    )
    # Without keys an aggregate gives a row even of no page views: its extremes
    # (0) must not count.
    return stmt.group_by(*grouping).having(func.count() > 0)


def whole_seconds(views):
    """A page view's active time in whole seconds (what its median is of)."""
    return cast(views.c.active_ms // 1000, Integer)


def whole_percent(views):
    """How far down the page a page view got, in whole percent."""
    return cast(views.c.max_scroll_pct // 1, Integer)


def spread_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` add to the spread of active time
    (``measure`` ``active_s``) and of scroll depth (``scroll_pct``): per
    ``keys`` columns, measure and ``value``, the page views with that value."""
    grouping = [views.c[k] for k in keys]
    parts = [
        select(
            *grouping,
            literal(measure).label("measure"),
            value.label("value"),
            func.count().label("views"),
        ).group_by(*grouping, value)
        for measure, value in (
            ("active_s", whole_seconds(views)),
            ("scroll_pct", whole_percent(views)),
        )
    ]
    # A plain SELECT around the UNION: SQLite takes no nested compound SELECT.
    both = union_all(*parts).subquery("spread")
    return select(*both.c)


class referrer_host(FunctionElement):
    """SQL for the lower-case host of a referrer URL (NULL for none):
    ``https://news.example.com:8443/x`` → ``news.example.com``. PostgreSQL cuts
    it with a regular expression; SQLite takes the text between ``://`` and the
    first ``/``, ``:``, ``?`` or ``#``."""

    type = String()
    name = "referrer_host"
    inherit_cache = True


# Rendered as literals, not bound parameters: a statement that groups by the
# host says it twice, and PostgreSQL must see the same expression both times.
_URL_HOST = literal_column("'^[a-z][a-z0-9+.-]*://([^/:?#]+)'")
_SCHEME_END = literal_column("'://'")
# Where a host ends: at a port, a query or a fragment (or the path's "/").
_HOST_ENDS = tuple(literal_column(c) for c in ("':'", "'?'", "'#'"))


@compiles(referrer_host)
def _referrer_host_sqlite(element, compiler, **kw):
    (column,) = element.clauses
    url = func.lower(column)
    rest = func.substr(url, func.instr(url, _SCHEME_END) + literal_column("3"))
    rest = rest.concat(literal_column("'/'"))
    ends = [func.instr(rest, literal_column("'/'"))] + [
        func.coalesce(
            func.nullif(func.instr(rest, end), literal_column("0")),
            literal_column("100000"),
        )
        for end in _HOST_ENDS
    ]
    host = func.substr(rest, literal_column("1"), func.min(*ends) - literal_column("1"))
    return compiler.process(func.nullif(host, literal_column("''")), **kw)


@compiles(referrer_host, "postgresql")
def _referrer_host_postgresql(element, compiler, **kw):
    (column,) = element.clauses
    return compiler.process(func.substring(func.lower(column), _URL_HOST), **kw)


def source_contributions(views, keys: Iterable[str] = ()):
    """What the page views of ``views`` add to the acquisition selects: per
    ``keys`` columns, ``kind`` (``source``, ``campaign``, ``referrer``) and
    ``value``, the page views with it. Empty tags count nowhere; no referrer
    host counts as the ``referrer`` value ''."""
    grouping = [views.c[k] for k in keys]
    host = func.coalesce(referrer_host(views.c.referrer), literal_column("''"))
    parts = []
    for kind, value in (
        ("source", views.c.utm_source),
        ("campaign", views.c.utm_campaign),
        ("referrer", host),
    ):
        stmt = select(
            *grouping,
            literal(kind).label("kind"),
            value.label("value"),
            func.count().label("views"),
        ).group_by(*grouping, value)
        if kind != "referrer":
            stmt = stmt.where(value.is_not(None), value != "")
        parts.append(stmt)
    # A plain SELECT around the UNION: SQLite takes no nested compound SELECT.
    every = union_all(*parts).subquery("sources")
    return select(*every.c)


@dataclass(frozen=True)
class Summary:
    """A summary table: its model, what its rows are about besides the key, its
    figures (sums, or extremes named ``*_min``/``*_max``), and the function
    that says what page views contribute."""

    model: type
    about: tuple[str, ...]
    figures: tuple[str, ...]
    contributions: Callable


SECTIONS = Summary(SectionTotal, ("heading", "level"), FIGURES, section_contributions)
DEPTH = Summary(DepthTotal, ("measure", "value"), ("views",), depth_contributions)
BANDS = Summary(BandTotal, ("band",), ("views", "ms"), band_contributions)
VIEWS = Summary(ViewTotal, (), VIEW_FIGURES, view_contributions)
SPREAD = Summary(SpreadTotal, ("measure", "value"), ("views",), spread_contributions)
SOURCES = Summary(SourceTotal, ("kind", "value"), ("views",), source_contributions)
ELEMENTS = Summary(ElementTotal, ("selector",), ELEMENT_FIGURES, element_contributions)
TEXTS = Summary(TextTotal, ("selector", "text"), ("clicks",), text_contributions)
GRID = Summary(
    GridTotal, ("width", "x_bin", "y_bin", "selector"), GRID_FIGURES, grid_contributions
)
SUMMARIES = (SECTIONS, DEPTH, BANDS, VIEWS, SPREAD, SOURCES, ELEMENTS, TEXTS, GRID)


def combined(figure: str, column):
    """``column``'s values of a figure over several rows combined into one:
    the least of ``*_min``, the greatest of ``*_max``, else their sum."""
    if figure.endswith("_min"):
        return func.min(column)
    if figure.endswith("_max"):
        return func.max(column)
    return func.sum(column)
