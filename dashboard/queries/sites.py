"""The site overview: each site's totals, the latest page views, and the lookups
of a site by key (its id, its time zone) that every page starts from."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from resonance.core.models import BotHit, Click, Content, PageView, Site, Visitor


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


def site_timezone(session: Session, site_key: str) -> str | None:
    """The IANA zone a site's days and times are shown in (None: no such site)."""
    return session.scalar(select(Site.timezone).where(Site.key == site_key))


def site_id(session: Session, site_key: str) -> int | None:
    """The id of the site with ``site_key``, or None."""
    return session.scalar(select(Site.id).where(Site.key == site_key))


def first_view_at(session: Session, site_key: str) -> datetime | None:
    """When the site's first page view was made (naive UTC; None: none yet),
    what "All time" starts from."""
    return session.scalar(
        select(func.min(PageView.viewed_at))
        .join(Site, Site.id == PageView.site_id)
        .where(Site.key == site_key)
    )
