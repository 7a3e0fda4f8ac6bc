"""The site overview: each site's totals, the latest page views, and the lookups
of a site by key (its id, its time zone) that every page starts from."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Select, cast, exists, func, select, union_all
from sqlalchemy.orm import Session

from dashboard.queries.segments import ContentFilter
from dashboard.queries.summary_days import summary_and_raw
from resonance.core.models import BotHit, Content, PageView, Site, Visitor
from tracker.contributions import ELEMENTS, VIEWS, Summary


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
    session: Session, site_keys: Collection[str] | None = None, raw: bool = False
) -> list[SiteSummary]:
    """Every site (or those of ``site_keys``) with its page view, visitor, click
    and bot counts. Page views and clicks come from the summaries, visitors
    with a page view from their earliest page view's time, counted in its index
    (``raw``: all from the events, a lookup per visitor for the visitors, to
    check them)."""
    seen = (
        exists(select(PageView.id).where(PageView.visitor_id == Visitor.id))
        if raw
        else Visitor.first_view_at.is_not(None)
    )
    visitors = (
        select(func.count()).where(Visitor.site_id == Site.id, seen).scalar_subquery()
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
            visitors,
            func.coalesce(bots.c.bots, 0),
            newest_view_at(),
        )
        .outerjoin(bots, bots.c.site_id == Site.id)
        .order_by(Site.name)
    )
    return [
        SiteSummary(
            key,
            name,
            mode,
            _total(session, VIEWS, "views", key, raw),
            seen_by,
            _total(session, ELEMENTS, "clicks", key, raw),
            b,
            last,
        )
        for key, name, mode, seen_by, b, last in session.execute(
            _only(query, site_keys)
        )
    ]


def _total(
    session: Session, summary: Summary, figure: str, site_key: str, raw: bool
) -> int:
    """The site's all-time sum of one ``figure`` of ``summary`` (its page
    views, its clicks): summed rows, where counting the events read them all."""
    summed = summary_and_raw(session, summary, ContentFilter(site_key), None, raw)
    return session.scalar(select(cast(func.sum(summed.c[figure]), BigInteger))) or 0


def _only(query: Select, site_keys: Collection[str] | None) -> Select:
    """``query`` restricted to the sites ``site_keys`` (None: every site)."""
    return query if site_keys is None else query.where(Site.key.in_(site_keys))


def recent_views(
    session: Session, limit: int = 20, site_keys: Collection[str] | None = None
) -> list[RecentView]:
    """The latest page views of every site (or of ``site_keys``), newest first
    (live check). Taken as each site's latest from its (site, time) index, then
    the newest of those: ordering every page view by time was a sort of the
    whole table (0.95 s at 10 M events)."""
    ids = session.scalars(_only(select(Site.id), site_keys)).all()
    if not ids:
        return []
    newest = (PageView.viewed_at.desc(), PageView.id.desc())
    latest = [
        select(PageView.id)
        .where(PageView.site_id == site_id)
        .order_by(*newest)
        .limit(limit)
        .subquery()
        for site_id in ids
    ]
    candidates = union_all(*(select(sub.c.id) for sub in latest))
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
        .where(PageView.id.in_(candidates))
        .order_by(*newest)
        .limit(limit)
    )
    return [RecentView(*row) for row in session.execute(query)]


def site_timezone(session: Session, site_key: str) -> str | None:
    """The IANA zone a site's days and times are shown in (None: no such site)."""
    return session.scalar(select(Site.timezone).where(Site.key == site_key))


def site_id(session: Session, site_key: str) -> int | None:
    """The id of the site with ``site_key``, or None."""
    return session.scalar(select(Site.id).where(Site.key == site_key))


def newest_view_at():
    """The newest page view time of the ``Site`` row of the enclosing query, as
    a correlated scalar subquery: one lookup at the end of the site's
    ``(site_id, viewed_at)`` entries, where grouping page views read them all."""
    return (
        select(func.max(PageView.viewed_at))
        .where(PageView.site_id == Site.id)
        .scalar_subquery()
    )


def first_view_at(session: Session, site_key: str) -> datetime | None:
    """When the site's first page view was made (naive UTC; None: none yet),
    what "All time" starts from. The site is a scalar subquery, not a join,
    so that both databases read the one first entry of ``(site_id,
    viewed_at)`` rather than all the site's."""
    site = select(Site.id).where(Site.key == site_key).scalar_subquery()
    return session.scalar(
        select(func.min(PageView.viewed_at)).where(PageView.site_id == site)
    )
