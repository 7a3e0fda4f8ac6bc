"""Read queries of the dashboard: SQL in, frozen dataclasses out.

Owns: every aggregate the dashboard shows, computed in SQL (GROUP BY, window
functions), never by looping over event rows in Python; the page-view filter
(date, device, segment, internal traffic) that every figure shares; content
grouping rules. Python only post-processes aggregated rows (a few hundred at most).
Must not import Flask or plotly.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import (
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from dashboard.sql import median
from resonance.core import dialect
from resonance.core.models import (
    BotHit,
    Click,
    Content,
    ContentGroup,
    ContentSection,
    IdentityLink,
    Lead,
    Note,
    PageSection,
    PageView,
    Site,
    Snapshot,
    SnapshotElement,
    Visitor,
)


@dataclass(frozen=True)
class SiteSummary:
    """One row of the overview: a site and how much it has collected."""

    key: str
    name: str
    privacy_mode: str
    pageviews: int
    visitors: int
    clicks: int
    bot_hits: int
    last_event_at: datetime | None


@dataclass(frozen=True)
class RecentView:
    """A page view as the live list shows it."""

    site_key: str
    viewed_at: datetime
    url: str
    title: str
    device: str
    max_scroll_pct: float
    active_ms: int


def site_summaries(
    session: Session, site_keys: Collection[str] | None = None
) -> list[SiteSummary]:
    """Every site (or those of ``site_keys``) with its page view, visitor, click
    and bot counts."""
    views = (
        select(
            PageView.site_id,
            func.count().label("pageviews"),
            func.count(func.distinct(PageView.visitor_id)).label("visitors"),
            func.max(PageView.viewed_at).label("last_at"),
        )
        .group_by(PageView.site_id)
        .subquery()
    )
    clicks = (
        select(Click.site_id, func.count().label("clicks"))
        .group_by(Click.site_id)
        .subquery()
    )
    bots = (
        select(BotHit.site_id, func.count().label("bots"))
        .group_by(BotHit.site_id)
        .subquery()
    )
    query = (
        select(
            Site.key,
            Site.name,
            Site.privacy_mode,
            func.coalesce(views.c.pageviews, 0),
            func.coalesce(views.c.visitors, 0),
            func.coalesce(clicks.c.clicks, 0),
            func.coalesce(bots.c.bots, 0),
            views.c.last_at,
        )
        .outerjoin(views, views.c.site_id == Site.id)
        .outerjoin(clicks, clicks.c.site_id == Site.id)
        .outerjoin(bots, bots.c.site_id == Site.id)
        .order_by(Site.name)
    )
    return [SiteSummary(*row) for row in session.execute(_only(query, site_keys))]


def _only(query: Select, site_keys: Collection[str] | None) -> Select:
    """``query`` restricted to the sites ``site_keys`` (None: every site)."""
    return query if site_keys is None else query.where(Site.key.in_(site_keys))


def recent_views(
    session: Session, limit: int = 20, site_keys: Collection[str] | None = None
) -> list[RecentView]:
    """The latest page views of every site (or of ``site_keys``), newest first
    (live check)."""
    query = (
        select(
            Site.key,
            PageView.viewed_at,
            PageView.url,
            func.coalesce(func.nullif(PageView.title, ""), Content.title),
            PageView.device,
            PageView.max_scroll_pct,
            PageView.active_ms,
        )
        .join(Site, Site.id == PageView.site_id)
        .join(Content, Content.id == PageView.content_id)
        .join(Visitor, Visitor.id == PageView.visitor_id)
        .order_by(PageView.viewed_at.desc(), PageView.id.desc())
        .limit(limit)
    )
    return [RecentView(*row) for row in session.execute(_only(query, site_keys))]


# --- the shared page-view filter --------------------------------------------------

# ``stage:<name>``: a lead's current lifecycle stage (Lead.stage is 16 characters).
SEGMENT_PATTERN = re.compile(r"(all|leads|sales|stage:[A-Za-z0-9_-]{1,16})\Z")


def site_timezone(session: Session, site_key: str) -> str | None:
    """The IANA zone a site's days and times are shown in (None: no such site)."""
    return session.scalar(select(Site.timezone).where(Site.key == site_key))


def valid_segment(segment: str) -> bool:
    """Whether ``segment`` is ``all``, ``leads``, ``sales`` or ``stage:<name>``."""
    return bool(SEGMENT_PATTERN.match(segment))


@dataclass(frozen=True)
class ContentFilter:
    """Which page views a figure counts: one site, a date range, a device class,
    a segment of visitors, with or without internal traffic.

    Segments: ``all``; ``leads`` (the visitor is linked to a lead); ``sales`` (the
    linked lead reached sales, ``Lead.reached_sales_at`` set: all the page views of
    those leads count, before and after that moment); ``stage:<name>`` (the linked
    lead's current stage). ``exclude_internal`` drops visitors marked internal and
    leads whose e-mail domain is one of the site's ``internal_domains``.
    """

    site_key: str
    since: datetime | None = None
    until: datetime | None = None
    device: str | None = None
    search: str | None = None
    segment: str = "all"
    exclude_internal: bool = False


def filtered_views(session: Session, flt: ContentFilter, content_id: int | None = None):
    """The page views ``flt`` selects (of one content item if given), as a
    subquery: the one place every figure takes its page views from, so that a
    segment means the same thing on every chart."""
    site = session.execute(
        select(Site.id, Site.internal_domains).where(Site.key == flt.site_key)
    ).first()
    stmt = select(
        PageView.id,
        PageView.content_id,
        PageView.visitor_id,
        PageView.viewed_at,
        PageView.device,
        PageView.viewport_w,
        PageView.viewport_h,
        PageView.doc_h,
        PageView.active_ms,
        PageView.max_scroll_px,
        PageView.max_scroll_pct,
    )
    site_id = site.id if site else None
    if content_id is None:
        stmt = stmt.where(PageView.site_id == site_id)
    else:
        # The site is checked once on the content item, not on each page view:
        # with both conditions on page views SQLite (no statistics) scanned the
        # whole site's page views by (site_id, viewed_at) instead of the item's.
        owner = select(Content.site_id).where(Content.id == content_id)
        stmt = stmt.where(
            PageView.content_id == content_id, owner.scalar_subquery() == site_id
        )
    if flt.since:
        stmt = stmt.where(PageView.viewed_at >= flt.since)
    if flt.until:
        stmt = stmt.where(PageView.viewed_at < flt.until)
    if flt.device:
        stmt = stmt.where(PageView.device == flt.device)
    if (segment := _segment_clause(flt.segment)) is not None:
        stmt = stmt.where(segment)
    if flt.exclude_internal:
        stmt = stmt.where(*_external_clauses(site.internal_domains if site else []))
    return stmt.subquery("views")


def _linked_lead():
    """The lead of the outer query's page view, as a correlated select."""
    return (
        select(Lead.id)
        .join(IdentityLink, IdentityLink.lead_id == Lead.id)
        .where(IdentityLink.visitor_id == PageView.visitor_id)
    )


def _segment_clause(segment: str):
    """The WHERE clause of a segment (None for all page views)."""
    if segment == "all":
        return None
    if segment == "leads":
        return exists(
            select(IdentityLink.visitor_id).where(
                IdentityLink.visitor_id == PageView.visitor_id
            )
        )
    if segment == "sales":
        return exists(_linked_lead().where(Lead.reached_sales_at.is_not(None)))
    if segment.startswith("stage:") and valid_segment(segment):
        return exists(_linked_lead().where(Lead.stage == segment[len("stage:") :]))
    raise ValueError(f"unknown segment {segment!r}")


def _external_clauses(domains: list[str]) -> list:
    """WHERE clauses dropping internal traffic: browsers marked internal, and
    leads of the site's own e-mail domains (colleagues testing the form)."""
    clauses = [
        ~exists(
            select(Visitor.id).where(
                Visitor.id == PageView.visitor_id, Visitor.is_internal.is_(True)
            )
        )
    ]
    suffixes = sorted({"@" + d.strip().lower().lstrip("@") for d in domains if d})
    if suffixes:
        email = func.lower(Lead.email)
        clauses.append(
            ~exists(
                _linked_lead().where(
                    or_(*(email.endswith(s, autoescape=True) for s in suffixes))
                )
            )
        )
    return clauses


# --- content list and content groups ---------------------------------------------


@dataclass(frozen=True)
class ContentRow:
    """One content item of the content list (or, grouped, one content group: then
    ``content_id`` is None, ``title`` the group's name and ``url`` its pattern)."""

    content_id: int | None
    url: str
    title: str
    views: int
    visitors: int
    median_active_s: float
    median_scroll_pct: float
    read_through_pct: float
    leads: int


READ_THROUGH_PCT = 75.0


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A content-group pattern as a regex: ``*`` is one or more characters other
    than ``/`` (one path segment), ``**`` anything; everything else is literal."""
    parts = re.split(r"(\*\*|\*)", pattern)
    body = "".join(
        ".*" if part == "**" else "[^/]+" if part == "*" else re.escape(part)
        for part in parts
    )
    return re.compile(body + r"\Z")


def group_matches(pattern: str, url: str) -> bool:
    """Whether a canonical URL falls under a group pattern: patterns starting with
    ``/`` match the URL's path, others (``https://…``) the whole URL."""
    subject = (urlsplit(url).path or "/") if pattern.startswith("/") else url
    return bool(pattern_regex(pattern).match(subject))


@dataclass(frozen=True)
class GroupRule:
    """A content group of a site; ``key`` is the negative item id used in SQL."""

    key: int
    name: str
    pattern: str


def content_groups(
    session: Session, site_key: str
) -> tuple[dict[int, int], dict[int, GroupRule]]:
    """Which content items each group rule takes (the first rule by id wins).

    Matched in Python over the contents table, which is small (one row per URL,
    never per event); the result feeds a CASE in SQL.
    """
    rules = session.execute(
        select(ContentGroup.id, ContentGroup.name, ContentGroup.pattern)
        .join(Site, Site.id == ContentGroup.site_id)
        .where(Site.key == site_key)
        .order_by(ContentGroup.id)
    ).all()
    if not rules:
        return {}, {}
    by_key = {-rule.id: GroupRule(-rule.id, rule.name, rule.pattern) for rule in rules}
    compiled = [(-rule.id, rule.pattern) for rule in rules]
    mapping: dict[int, int] = {}
    contents = session.execute(
        select(Content.id, Content.url)
        .join(Site, Site.id == Content.site_id)
        .where(Site.key == site_key)
    )
    for content_id, url in contents:
        key = next((k for k, p in compiled if group_matches(p, url)), None)
        if key is not None:
            mapping[content_id] = key
    return mapping, by_key


def content_list(
    session: Session, flt: ContentFilter, group: bool = False
) -> list[ContentRow]:
    """Every content item of a site with reading figures, most viewed first.

    With ``group``, items under a content-group rule of the site are merged into
    one row per rule (medians and distinct counts over the merged page views).
    """
    views = filtered_views(session, flt)
    mapping, rules = content_groups(session, flt.site_key) if group else ({}, {})
    item = views.c.content_id
    if mapping:
        item = case(mapping, value=views.c.content_id, else_=views.c.content_id)
    items = select(views, item.label("item")).subquery("items")
    active = median(items, "active_ms", "item")
    depth = median(items, "max_scroll_pct", "item")
    totals = (
        select(
            items.c.item,
            func.count().label("views"),
            func.count(func.distinct(items.c.visitor_id)).label("visitors"),
            func.sum(
                func.cast(items.c.max_scroll_pct >= READ_THROUGH_PCT, Integer)
            ).label("read_through"),
            func.count(func.distinct(IdentityLink.lead_id)).label("leads"),
        )
        .outerjoin(IdentityLink, IdentityLink.visitor_id == items.c.visitor_id)
        .group_by(items.c.item)
        .subquery()
    )
    stmt = (
        select(
            totals.c.item,
            Content.url,
            Content.title,
            totals.c.views,
            totals.c.visitors,
            active.c.median,
            depth.c.median,
            totals.c.read_through,
            totals.c.leads,
        )
        .join(active, active.c.item == totals.c.item)
        .join(depth, depth.c.item == totals.c.item)
        .outerjoin(Content, Content.id == totals.c.item)
        .order_by(totals.c.views.desc(), Content.url)
    )
    if flt.search and not group:
        # A literal search: % _ and the escape character find themselves.
        needle = flt.search.lower()
        stmt = stmt.where(
            func.lower(Content.url).contains(needle, autoescape=True)
            | func.lower(Content.title).contains(needle, autoescape=True)
        )
    rows = [_content_row(row, rules) for row in session.execute(stmt)]
    if group:
        rows.sort(key=lambda r: (-r.views, r.url))
        if flt.search:
            needle = flt.search.lower()
            rows = [r for r in rows if needle in r.url.lower() + r.title.lower()]
    return rows


def _content_row(row, rules: dict[int, GroupRule]) -> ContentRow:
    rule = rules.get(row[0])
    return ContentRow(
        content_id=None if rule else row[0],
        url=rule.pattern if rule else row[1],
        title=rule.name if rule else row[2],
        views=row[3],
        visitors=row[4],
        median_active_s=round(float(row[5]) / 1000, 1),
        median_scroll_pct=round(float(row[6]), 1),
        read_through_pct=round(100 * row[7] / row[3], 1),
        leads=row[8],
    )


# --- one content item --------------------------------------------------------------

BIN_PX = 8
# The width each device class is snapshotted (and its heatmap drawn) at.
SNAPSHOT_WIDTHS = {"mobile": 375, "tablet": 768, "desktop": 1440}
RAGE_CLICKS = 3
RAGE_WINDOW_MS = 1000
RAGE_DISTANCE_PX = 30
SCROLL_BAND_PX = 100
# Above this ratio of the longest to the shortest page, pixel depths of different
# views are not comparable and scroll reach is read per tenth of the page.
DOC_HEIGHT_SPREAD = 1.3
WORDS_PER_MINUTE = 230


@dataclass(frozen=True)
class ContentInfo:
    """The content item a page is about."""

    content_id: int
    url: str
    title: str
    words: int | None
    crawled_at: datetime | None


def content_info(
    session: Session, site_key: str, content_id: int
) -> ContentInfo | None:
    """The content item, or None when it does not exist or is another site's."""
    row = session.execute(
        select(
            Content.id, Content.url, Content.title, Content.words, Content.crawled_at
        )
        .join(Site, Site.id == Content.site_id)
        .where(Content.id == content_id, Site.key == site_key)
    ).first()
    return ContentInfo(*row) if row else None


@dataclass(frozen=True)
class SnapshotInfo:
    """A full-page screenshot the heatmap is drawn over."""

    snapshot_id: int
    width_px: int
    height_px: int
    taken_at: datetime
    image: str


def latest_snapshot(
    session: Session, content_id: int, width_px: int
) -> SnapshotInfo | None:
    """The newest snapshot of a content item at one width, if any."""
    row = session.execute(
        select(
            Snapshot.id,
            Snapshot.width_px,
            Snapshot.height_px,
            Snapshot.taken_at,
            Snapshot.image,
        )
        .where(Snapshot.content_id == content_id, Snapshot.width_px == width_px)
        .order_by(Snapshot.taken_at.desc(), Snapshot.id.desc())
        .limit(1)
    ).first()
    return SnapshotInfo(*row) if row else None


def snapshot_image(session: Session, site_key: str, snapshot_id: int) -> str | None:
    """The PNG file name of a snapshot of the site's content, else None."""
    return session.scalar(
        select(Snapshot.image)
        .join(Content, Content.id == Snapshot.content_id)
        .join(Site, Site.id == Content.site_id)
        .where(Snapshot.id == snapshot_id, Site.key == site_key)
    )


@dataclass(frozen=True)
class ViewStats:
    """Totals of the selected page views of one content item."""

    views: int
    visitors: int
    avg_active_s: float
    avg_fold_px: int
    min_doc_h: int
    max_doc_h: int
    max_scroll_px: int


def view_stats(session: Session, flt: ContentFilter, content_id: int) -> ViewStats:
    """How many page views the figures count, their average fold and page heights
    (which decide how scroll reach is read)."""
    views = filtered_views(session, flt, content_id)
    row = session.execute(
        select(
            func.count(),
            func.count(func.distinct(views.c.visitor_id)),
            func.coalesce(func.avg(views.c.active_ms), 0),
            func.coalesce(func.avg(views.c.viewport_h), 0),
            func.coalesce(func.min(views.c.doc_h), 0),
            func.coalesce(func.max(views.c.doc_h), 0),
            func.coalesce(func.max(views.c.max_scroll_px), 0),
        )
    ).one()
    return ViewStats(
        views=row[0],
        visitors=row[1],
        avg_active_s=round(float(row[2]) / 1000, 1),
        avg_fold_px=round(float(row[3])),
        min_doc_h=row[4],
        max_doc_h=row[5],
        max_scroll_px=row[6],
    )


# --- clicks ------------------------------------------------------------------------


@dataclass(frozen=True)
class GridBin:
    """Clicks placed in one ``bin_px`` square of the page (top-left corner)."""

    x_px: int
    y_px: int
    clicks: int
    visitors: int


@dataclass(frozen=True)
class Placement:
    """How the clicks were placed: on their element's box in the snapshot, or by
    the fallback (x scaled by viewport width, y as recorded). Many fallbacks mean
    the page changed since the snapshot, or there is none."""

    clicks: int
    by_element: int
    by_fallback: int
    by_element_pct: float
    by_fallback_pct: float


def _placed_clicks(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None,
    bin_px: int,
):
    """The selected page views' clicks placed on a page ``width_px`` wide, with
    their bin, as a subquery.

    Placement (Clarity's method): ``box.left + fx·box.width``, ``box.top +
    fy·box.height`` of the element with the click's selector in the snapshot; else
    PostHog's ``x / viewport_w · width`` with y unchanged.
    """
    views = filtered_views(session, flt, content_id)
    fallback_x = (
        cast(Click.x, Float)
        * width_px
        / func.coalesce(func.nullif(Click.viewport_w, 0), width_px)
    )
    stmt = select(Click.id, Click.pageview_id, views.c.visitor_id).join(
        views, views.c.id == Click.pageview_id
    )
    if snapshot_id is None:
        x, y, on_element = fallback_x, cast(Click.y, Float), False
    else:
        box = SnapshotElement
        stmt = stmt.outerjoin(
            box,
            and_(
                box.snapshot_id == snapshot_id,
                box.selector == Click.selector,
                box.width_px > 0,
                box.height_px > 0,
            ),
        )
        on_element = box.selector.is_not(None)
        x = case((on_element, box.left_px + Click.fx * box.width_px), else_=fallback_x)
        y = case(
            (on_element, box.top_px + Click.fy * box.height_px),
            else_=cast(Click.y, Float),
        )
    flag = case((on_element, 1), else_=0) if snapshot_id is not None else 0
    return (
        stmt.add_columns(
            x.label("x"),
            y.label("y"),
            cast(x // bin_px, Integer).label("bx"),
            cast(y // bin_px, Integer).label("by"),
            cast(flag, Integer).label("on_element"),
        )
        .where(Click.content_id == content_id)
        .subquery("placed")
    )


def click_grid(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None = None,
    bin_px: int = BIN_PX,
) -> list[GridBin]:
    """Clicks per ``bin_px`` square of the page, binned in SQL, top to bottom."""
    placed = _placed_clicks(session, flt, content_id, width_px, snapshot_id, bin_px)
    rows = session.execute(
        select(
            placed.c.bx,
            placed.c.by,
            func.count(),
            func.count(func.distinct(placed.c.visitor_id)),
        )
        .group_by(placed.c.bx, placed.c.by)
        .order_by(placed.c.by, placed.c.bx)
    )
    return [GridBin(bx * bin_px, by * bin_px, n, v) for bx, by, n, v in rows]


def click_placement(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    width_px: int,
    snapshot_id: int | None = None,
) -> Placement:
    """How many of the clicks were placed on their element, how many by fallback."""
    placed = _placed_clicks(session, flt, content_id, width_px, snapshot_id, BIN_PX)
    total, on_element = session.execute(
        select(func.count(), func.coalesce(func.sum(placed.c.on_element), 0))
    ).one()
    fallback = total - on_element
    return Placement(
        clicks=total,
        by_element=on_element,
        by_fallback=fallback,
        by_element_pct=round(100 * on_element / total, 1) if total else 0.0,
        by_fallback_pct=round(100 * fallback / total, 1) if total else 0.0,
    )


@dataclass(frozen=True)
class ElementRow:
    """One clicked element: how often, by how many, and the frustration signals."""

    selector: str
    tag: str
    text: str
    clicks: int
    visitors: int
    rage_clicks: int
    dead_clicks: int
    error_clicks: int


def _epoch_ms(session: Session, column):
    """Milliseconds since the epoch of a naive UTC datetime column, in SQL."""
    if dialect.name(session) == "postgresql":
        return extract("epoch", column) * 1000
    return (func.julianday(column) - 2440587.5) * 86400000.0


def top_elements(
    session: Session, flt: ContentFilter, content_id: int, limit: int = 20
) -> list[ElementRow]:
    """The most clicked elements, with rage, dead and error clicks.

    A rage click (PostHog's rule) is a run of 3 or more clicks in one page view,
    each under 1,000 ms and under 30 px (|dx|+|dy|) from the one before; one run
    counts once, on the element of its third click. Computed with window
    functions: LAG finds each click's predecessor, a running SUM numbers the runs,
    ROW_NUMBER finds each run's third click.
    """
    views = filtered_views(session, flt, content_id)
    at_ms = _epoch_ms(session, Click.clicked_at)
    order = (Click.clicked_at, Click.id)
    ordered = (
        select(
            Click.id,
            Click.pageview_id,
            Click.selector,
            Click.tag,
            Click.text,
            Click.dead,
            Click.error,
            views.c.visitor_id,
            at_ms.label("at_ms"),
            Click.x,
            Click.y,
            func.lag(at_ms)
            .over(partition_by=Click.pageview_id, order_by=order)
            .label("prev_ms"),
            func.lag(Click.x)
            .over(partition_by=Click.pageview_id, order_by=order)
            .label("prev_x"),
            func.lag(Click.y)
            .over(partition_by=Click.pageview_id, order_by=order)
            .label("prev_y"),
        )
        .join(views, views.c.id == Click.pageview_id)
        .where(Click.content_id == content_id)
        .subquery("ordered")
    )
    o = ordered.c
    close = and_(
        o.prev_ms.is_not(None),
        o.at_ms - o.prev_ms < RAGE_WINDOW_MS,
        func.abs(o.x - o.prev_x) + func.abs(o.y - o.prev_y) < RAGE_DISTANCE_PX,
    )
    runs = select(
        ordered,
        func.sum(case((close, 0), else_=1))
        .over(partition_by=o.pageview_id, order_by=(o.at_ms, o.id))
        .label("run"),
    ).subquery("runs")
    r = runs.c
    ranked = select(
        runs,
        func.row_number()
        .over(partition_by=(r.pageview_id, r.run), order_by=(r.at_ms, r.id))
        .label("pos"),
    ).subquery("ranked")
    k = ranked.c
    clicks = func.count().label("clicks")
    rows = session.execute(
        select(
            k.selector,
            func.max(k.tag),
            func.max(k.text),
            clicks,
            func.count(func.distinct(k.visitor_id)),
            func.sum(case((k.pos == RAGE_CLICKS, 1), else_=0)),
            func.sum(case((k.dead.is_(True), 1), else_=0)),
            func.sum(case((k.error.is_(True), 1), else_=0)),
        )
        .group_by(k.selector)
        .order_by(clicks.desc(), k.selector)
        .limit(limit)
    )
    return [ElementRow(*row) for row in rows]


# --- scroll ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScrollBand:
    """How many page views reached ``top_px`` (their deepest point was at or
    below it); ``height_px`` is the band's height, for drawing."""

    top_px: int
    height_px: int
    views: int
    pct: float


@dataclass(frozen=True)
class ScrollReach:
    """Scroll reach of a content item: per 100 px band, and per tenth of the page
    (used when the page heights of the views differ too much for pixels)."""

    views: int
    avg_fold_px: int
    by_tenth: bool
    bands: list[ScrollBand]
    tenths: list[ScrollBand]
    # The deepest band that 75, 50 and 25 % of the views reached (top px).
    marks: dict[int, int]


def scroll_reach(
    session: Session,
    flt: ContentFilter,
    content_id: int,
    stats: ViewStats | None = None,
) -> ScrollReach:
    """Share of page views reaching each 100 px band and each tenth of the page.

    PostHog's method: count views per deepest band, then a running
    ``SUM(count) OVER (ORDER BY band DESC)`` gives the views reaching each band.
    """
    stats = stats or view_stats(session, flt, content_id)
    views = filtered_views(session, flt, content_id)
    bands = _reached(session, views.c.max_scroll_px // SCROLL_BAND_PX)
    tenth = cast(views.c.max_scroll_pct // 10, Integer)
    tenths = _reached(session, case((tenth > 10, 10), else_=tenth))
    total = stats.views
    px_bands = [
        ScrollBand(b * SCROLL_BAND_PX, SCROLL_BAND_PX, n, _pct(n, total))
        for b, n in _fill(bands, stats.max_scroll_px // SCROLL_BAND_PX)
    ]
    height = stats.max_doc_h
    pct_bands = [
        ScrollBand(round(t * height / 10), round(height / 10), n, _pct(n, total))
        for t, n in _fill(tenths, 10 if total else -1)
    ]
    by_tenth = bool(total) and stats.max_doc_h > DOC_HEIGHT_SPREAD * max(
        stats.min_doc_h, 1
    )
    shown = pct_bands if by_tenth else px_bands
    marks = {
        p: max((b.top_px for b in shown if b.pct >= p), default=0) for p in (75, 50, 25)
    }
    return ScrollReach(total, stats.avg_fold_px, by_tenth, px_bands, pct_bands, marks)


def _reached(session: Session, band_expr) -> dict[int, int]:
    """Views reaching each band that some view ended in: deepest band per view
    counted by GROUP BY, accumulated from the bottom by a window SUM."""
    deepest = select(band_expr.label("band")).subquery("deepest")
    counts = (
        select(deepest.c.band, func.count().label("n"))
        .group_by(deepest.c.band)
        .subquery("counts")
    )
    rows = session.execute(
        select(
            counts.c.band,
            func.sum(counts.c.n).over(order_by=counts.c.band.desc()),
        ).order_by(counts.c.band)
    )
    return {int(band): int(n) for band, n in rows}


def _fill(reached: dict[int, int], last: int) -> list[tuple[int, int]]:
    """Every band 0…last with its count: a band nobody ended in has the count of
    the next deeper band that someone did (aggregated rows only)."""
    filled: list[tuple[int, int]] = []
    carry = 0
    for band in range(max(last, max(reached, default=-1)), -1, -1):
        carry = reached.get(band, carry)
        filled.append((band, carry))
    return filled[::-1]


def _pct(part: float, total: float) -> float:
    return round(100 * part / total, 1) if total else 0.0


# --- attention -----------------------------------------------------------------------


@dataclass(frozen=True)
class SectionRow:
    """Attention on one section (a heading of the page), in page order."""

    heading: str
    level: int
    top_px: int
    height_px: int
    views: int
    total_active_s: float
    avg_active_s: float
    reached_pct: float
    expected_s: float | None
    held_longer: bool
    readers_stop: bool


def attention_sections(
    session: Session, flt: ContentFilter, content_id: int
) -> list[SectionRow]:
    """Active time and reach per section, grouped by heading text and level over
    the selected page views, in page order (average top, then average index);
    expected reading time
    from the crawled words (230 per minute).

    ``reached_pct``: share of the views having the section whose deepest scroll
    point went past its top. ``held_longer``: read longer per view than its words
    need. ``readers_stop``: the section after which reach drops the most.
    """
    views = filtered_views(session, flt, content_id)
    s = PageSection
    per = (
        select(
            s.heading,
            s.level,
            func.count(func.distinct(s.pageview_id)).label("views"),
            func.sum(s.active_ms).label("active_ms"),
            func.avg(s.top_px).label("top"),
            # Sections side by side (cards) share a top: then DOM order decides.
            func.avg(s.idx).label("pos"),
            func.avg(s.height_px).label("height"),
            func.count(
                func.distinct(case((s.top_px < views.c.max_scroll_px, s.pageview_id)))
            ).label("reached"),
        )
        .join(views, views.c.id == s.pageview_id)
        .where(s.heading.is_not(None), s.level.is_not(None))
        .group_by(s.heading, s.level)
        .subquery("per")
    )
    words = (
        select(
            ContentSection.heading,
            ContentSection.level,
            func.sum(ContentSection.words).label("words"),
        )
        .where(ContentSection.content_id == content_id)
        .group_by(ContentSection.heading, ContentSection.level)
        .subquery("words")
    )
    share = cast(per.c.reached, Float) * 100 / per.c.views
    rows = session.execute(
        select(
            per.c.heading,
            per.c.level,
            per.c.top,
            per.c.height,
            per.c.views,
            per.c.active_ms,
            share,
            share - func.lead(share).over(order_by=(per.c.top, per.c.pos)),
            words.c.words,
        )
        .outerjoin(
            words,
            and_(words.c.heading == per.c.heading, words.c.level == per.c.level),
        )
        .order_by(per.c.top, per.c.pos)
    ).all()
    drops = [row[7] if row[7] is not None else 0 for row in rows]
    # The first of equal drops: where most readers stop first.
    stop = drops.index(max(drops)) if drops and max(drops) > 0 else None
    result = []
    for index, row in enumerate(rows):
        heading, level, top, height, n, active_ms, reached, _, words_n = row
        avg_s = round(float(active_ms) / 1000 / n, 1)
        expected = (
            round(words_n / WORDS_PER_MINUTE * 60, 1) if words_n is not None else None
        )
        result.append(
            SectionRow(
                heading=heading,
                level=level,
                top_px=round(float(top or 0)),
                height_px=round(float(height or 0)),
                views=n,
                total_active_s=round(float(active_ms) / 1000, 1),
                avg_active_s=avg_s,
                reached_pct=round(float(reached), 1),
                expected_s=expected,
                held_longer=expected is not None and avg_s > expected,
                readers_stop=index == stop,
            )
        )
    return result


# --- notes, stages, the whole page ---------------------------------------------------


@dataclass(frozen=True)
class NoteRow:
    """A note from sales about a content item (read-only here)."""

    created_at: datetime
    author: str
    section: str | None
    body: str
    lead: str | None


def content_notes(
    session: Session, site_key: str, content_id: int, limit: int = 50
) -> list[NoteRow]:
    """The newest notes on a content item, with the lead they are about."""
    rows = session.execute(
        select(
            Note.created_at,
            Note.author,
            Note.section,
            Note.body,
            func.coalesce(Lead.name, Lead.email),
        )
        .join(Site, Site.id == Note.site_id)
        .outerjoin(Lead, Lead.id == Note.lead_id)
        .where(Note.content_id == content_id, Site.key == site_key)
        .order_by(Note.created_at.desc(), Note.id.desc())
        .limit(limit)
    )
    return [NoteRow(*row) for row in rows]


def lead_stages(session: Session, site_key: str) -> list[str]:
    """The lifecycle stages the site's leads are in now (for the segment menu)."""
    return list(
        session.scalars(
            select(Lead.stage)
            .join(Site, Site.id == Lead.site_id)
            .where(Site.key == site_key, Lead.stage.is_not(None))
            .group_by(Lead.stage)
            .order_by(Lead.stage)
        )
    )


@dataclass(frozen=True)
class SegmentClicks:
    """One segment's clicks on the page, for a side-by-side comparison."""

    segment: str
    views: int
    bins: list[GridBin]


@dataclass(frozen=True)
class ContentReport:
    """Everything the content page shows, for one filter (and its JSON twin)."""

    content: ContentInfo
    segment: str
    device: str | None
    width_px: int
    snapshot: SnapshotInfo | None
    stats: ViewStats
    placement: Placement
    bins: list[GridBin]
    elements: list[ElementRow]
    scroll: ScrollReach
    sections: list[SectionRow]
    notes: list[NoteRow]
    compare: SegmentClicks | None


def content_report(
    session: Session,
    flt: ContentFilter,
    content: ContentInfo,
    compare: str | None = None,
) -> ContentReport:
    """Run every query of the content page for ``flt`` (and the compared
    segment's clicks), on the newest snapshot at the device's width."""
    width = SNAPSHOT_WIDTHS[flt.device or "desktop"]
    snap = latest_snapshot(session, content.content_id, width)
    snap_id = snap.snapshot_id if snap else None
    cid = content.content_id
    stats = view_stats(session, flt, cid)
    other = None
    if compare:
        other_flt = replace(flt, segment=compare)
        other = SegmentClicks(
            segment=compare,
            views=view_stats(session, other_flt, cid).views,
            bins=click_grid(session, other_flt, cid, width, snap_id),
        )
    return ContentReport(
        content=content,
        segment=flt.segment,
        device=flt.device,
        width_px=width,
        snapshot=snap,
        stats=stats,
        placement=click_placement(session, flt, cid, width, snap_id),
        bins=click_grid(session, flt, cid, width, snap_id),
        elements=top_elements(session, flt, cid),
        scroll=scroll_reach(session, flt, cid, stats),
        sections=attention_sections(session, flt, cid),
        notes=content_notes(session, flt.site_key, cid),
        compare=other,
    )
