"""A prospect's reading: their visits and page views (read or skimmed, the
sections that held them, the links they clicked) and what they already know."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from dashboard.queries.groups import topic_of
from dashboard.queries.leads import lead_page_views, of_lead
from dashboard.queries.reading import expected_seconds, page_read
from resonance.core.models import (
    Click,
    Content,
    ContentGroup,
    IdentityLink,
    PageSection,
    PageView,
    VisitSession,
)

TOP_SECTIONS = 3
MAX_HISTORY_VIEWS = 500


@dataclass(frozen=True)
class SectionAttention:
    """A section of a page view and the active time it held the reader."""

    heading: str
    active_s: float


@dataclass(frozen=True)
class LinkClick:
    """A click on a link or a button (an interactive element)."""

    clicked_at: datetime
    tag: str
    text: str
    href: str | None


@dataclass(frozen=True)
class Reading:
    """One page view of a content item by the prospect."""

    pageview_id: int
    content_id: int
    title: str
    url: str
    viewed_at: datetime
    active_s: float
    scroll_pct: float
    expected_s: float | None
    read: bool
    verdict: str
    top_sections: list[SectionAttention]
    clicks: list[LinkClick]


@dataclass(frozen=True)
class Visit:
    """A visit (session) of one of the prospect's browsers, newest reading first."""

    session_id: int
    started_at: datetime
    last_seen_at: datetime
    device: str
    landing_url: str
    referrer: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    readings: list[Reading]


def reading_history(
    session: Session, site: int, lead_id: int, limit: int = MAX_HISTORY_VIEWS
) -> list[Visit]:
    """The prospect's visits, newest first, each with its page views newest first,
    their top sections by attention and their clicks on links and buttons.

    At most ``limit`` page views (the newest); three queries whatever the count.
    """
    read = page_read()
    rows = session.execute(
        select(
            PageView.id,
            PageView.content_id,
            func.coalesce(func.nullif(Content.title, ""), PageView.title),
            Content.url,
            PageView.viewed_at,
            PageView.active_ms,
            PageView.max_scroll_pct,
            Content.words,
            case((read, 1), else_=0),
            VisitSession.id,
            VisitSession.started_at,
            VisitSession.last_seen_at,
            VisitSession.device,
            VisitSession.landing_url,
            VisitSession.referrer,
            VisitSession.utm_source,
            VisitSession.utm_medium,
            VisitSession.utm_campaign,
        )
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .join(Content, Content.id == PageView.content_id)
        .join(VisitSession, VisitSession.id == PageView.session_id)
        .where(*of_lead(site, lead_id))
        .order_by(
            VisitSession.started_at.desc(),
            VisitSession.id.desc(),
            PageView.viewed_at.desc(),
            PageView.id.desc(),
        )
        .limit(limit)
    ).all()
    sections = _top_sections(session, site, lead_id)
    clicks = _link_clicks(session, site, lead_id)
    visits: list[Visit] = []
    for row in rows:
        if not visits or visits[-1].session_id != row[9]:
            visits.append(Visit(*row[9:], readings=[]))
        visits[-1].readings.append(
            Reading(
                pageview_id=row[0],
                content_id=row[1],
                title=row[2] or "",
                url=row[3],
                viewed_at=row[4],
                active_s=round(row[5] / 1000, 1),
                scroll_pct=round(float(row[6]), 1),
                expected_s=expected_seconds(row[7]),
                read=bool(row[8]),
                verdict="read" if row[8] else "skimmed",
                top_sections=sections.get(row[0], []),
                clicks=clicks.get(row[0], []),
            )
        )
    return visits


def _top_sections(
    session: Session, site: int, lead_id: int
) -> dict[int, list[SectionAttention]]:
    """The sections that held each of the lead's page views longest (top 3, by a
    ROW_NUMBER window per page view)."""
    ranked = (
        select(
            PageSection.pageview_id,
            PageSection.idx,
            PageSection.heading,
            PageSection.active_ms,
            func.row_number()
            .over(
                partition_by=PageSection.pageview_id,
                order_by=(PageSection.active_ms.desc(), PageSection.idx),
            )
            .label("rn"),
        )
        .where(
            PageSection.pageview_id.in_(lead_page_views(site, lead_id)),
            PageSection.active_ms > 0,
        )
        .subquery("ranked")
    )
    r = ranked.c
    rows = session.execute(
        select(r.pageview_id, r.idx, r.heading, r.active_ms)
        .where(r.rn <= TOP_SECTIONS)
        .order_by(r.pageview_id, r.rn)
    )
    result: dict[int, list[SectionAttention]] = {}
    for pageview_id, idx, heading, active_ms in rows:
        result.setdefault(pageview_id, []).append(
            SectionAttention(
                heading or f"(section {idx + 1})", round(active_ms / 1000, 1)
            )
        )
    return result


def _link_clicks(
    session: Session, site: int, lead_id: int
) -> dict[int, list[LinkClick]]:
    """Clicks on links and buttons in each of the lead's page views, in order."""
    rows = session.execute(
        select(Click.pageview_id, Click.clicked_at, Click.tag, Click.text, Click.href)
        .where(
            Click.pageview_id.in_(lead_page_views(site, lead_id)),
            Click.interactive.is_(True),
        )
        .order_by(Click.pageview_id, Click.clicked_at, Click.id)
    )
    result: dict[int, list[LinkClick]] = {}
    for pageview_id, *click in rows:
        result.setdefault(pageview_id, []).append(LinkClick(*click))
    return result


@dataclass(frozen=True)
class KnownItem:
    """A content item the prospect read thoroughly at least once."""

    content_id: int
    title: str
    url: str
    reads: int
    active_s: float


@dataclass(frozen=True)
class Topic:
    """Content read thoroughly under one topic: a content group's name, or else
    the first segment of the path (``/blog``, ``/pricing``)."""

    topic: str
    active_s: float
    items: list[KnownItem]


def known_topics(session: Session, site: int, lead_id: int) -> list[Topic]:
    """What the prospect already knows: thorough reads per content item (SQL),
    grouped by topic; topics with the most active time first."""
    active = func.sum(PageView.active_ms)
    rows = session.execute(
        select(
            Content.id,
            Content.title,
            Content.url,
            func.count(PageView.id),
            active,
        )
        .join(PageView, PageView.content_id == Content.id)
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .where(*of_lead(site, lead_id), page_read())
        .group_by(Content.id, Content.title, Content.url)
        .order_by(active.desc(), Content.url)
    ).all()
    rules = session.execute(
        select(ContentGroup.name, ContentGroup.pattern)
        .where(ContentGroup.site_id == site)
        .order_by(ContentGroup.id)
    ).all()
    topics: dict[str, list[KnownItem]] = {}
    for content_id, title, url, reads, active_ms in rows:
        active_s = round(active_ms / 1000, 1)
        item = KnownItem(content_id, title or url, url, reads, active_s)
        topics.setdefault(topic_of(url, rules), []).append(item)
    result = [
        Topic(name, round(sum(i.active_s for i in items), 1), items)
        for name, items in topics.items()
    ]
    return sorted(result, key=lambda t: (-t.active_s, t.topic))
