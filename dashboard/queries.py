"""Read queries of the dashboard: SQL in, frozen dataclasses out.

Owns: every aggregate the dashboard shows, computed in SQL (GROUP BY, window
functions), never by looping over event rows in Python. Must not import Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from tracker.models import (
    BotHit,
    Click,
    Content,
    IdentityLink,
    PageView,
    Site,
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


def site_summaries(session: Session) -> list[SiteSummary]:
    """Every site with its page view, visitor, click and bot counts."""
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
    rows = session.execute(
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
    return [SiteSummary(*row) for row in rows]


def recent_views(session: Session, limit: int = 20) -> list[RecentView]:
    """The latest page views of every site, newest first (live check)."""
    rows = session.execute(
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
    return [RecentView(*row) for row in rows]


@dataclass(frozen=True)
class ContentFilter:
    """Which page views a figure counts: one site, a date range, a device class."""

    site_key: str
    since: datetime | None = None
    until: datetime | None = None
    device: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class ContentRow:
    """One content item of the content list."""

    content_id: int
    url: str
    title: str
    views: int
    visitors: int
    median_active_s: float
    median_scroll_pct: float
    read_through_pct: float
    leads: int


READ_THROUGH_PCT = 75.0


def _views(flt: ContentFilter):
    """The filtered page views of one site, as a subquery."""
    stmt = (
        select(
            PageView.id,
            PageView.content_id,
            PageView.visitor_id,
            PageView.active_ms,
            PageView.max_scroll_pct,
        )
        .join(Site, Site.id == PageView.site_id)
        .where(Site.key == flt.site_key)
    )
    if flt.since:
        stmt = stmt.where(PageView.viewed_at >= flt.since)
    if flt.until:
        stmt = stmt.where(PageView.viewed_at < flt.until)
    if flt.device:
        stmt = stmt.where(PageView.device == flt.device)
    return stmt.subquery("views")


def _median(views, column: str):
    """Per-content median of a column, by window functions (SQLite and PostgreSQL
    both lack a portable MEDIAN): the middle row, or the mean of the two middle."""
    value = views.c[column]
    ranked = select(
        views.c.content_id,
        value.label("value"),
        func.row_number()
        .over(partition_by=views.c.content_id, order_by=value)
        .label("rn"),
        func.count().over(partition_by=views.c.content_id).label("n"),
    ).subquery()
    middle = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    return (
        select(ranked.c.content_id, func.avg(ranked.c.value).label("median"))
        .where(middle)
        .group_by(ranked.c.content_id)
        .subquery()
    )


def content_list(session: Session, flt: ContentFilter) -> list[ContentRow]:
    """Every content item of a site with reading figures, most viewed first."""
    views = _views(flt)
    active = _median(views, "active_ms")
    depth = _median(views, "max_scroll_pct")
    totals = (
        select(
            views.c.content_id,
            func.count().label("views"),
            func.count(func.distinct(views.c.visitor_id)).label("visitors"),
            func.sum(
                func.cast(views.c.max_scroll_pct >= READ_THROUGH_PCT, Integer)
            ).label("read_through"),
            func.count(func.distinct(IdentityLink.lead_id)).label("leads"),
        )
        .outerjoin(IdentityLink, IdentityLink.visitor_id == views.c.visitor_id)
        .group_by(views.c.content_id)
        .subquery()
    )
    stmt = (
        select(
            Content.id,
            Content.url,
            Content.title,
            totals.c.views,
            totals.c.visitors,
            active.c.median,
            depth.c.median,
            totals.c.read_through,
            totals.c.leads,
        )
        .join(totals, totals.c.content_id == Content.id)
        .join(active, active.c.content_id == Content.id)
        .join(depth, depth.c.content_id == Content.id)
        .order_by(totals.c.views.desc(), Content.url)
    )
    if flt.search:
        pattern = f"%{flt.search.lower()}%"
        stmt = stmt.where(
            func.lower(Content.url).like(pattern)
            | func.lower(Content.title).like(pattern)
        )
    return [
        ContentRow(
            content_id=row[0],
            url=row[1],
            title=row[2],
            views=row[3],
            visitors=row[4],
            median_active_s=round(float(row[5]) / 1000, 1),
            median_scroll_pct=round(float(row[6]), 1),
            read_through_pct=round(100 * row[7] / row[3], 1),
            leads=row[8],
        )
        for row in session.execute(stmt)
    ]
