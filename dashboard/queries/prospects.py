"""Prospects: finding leads by e-mail, name or company, one lead with its
counts, and the notes sales left about the lead, per content item viewed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.leads import identified, lead_page_views
from dashboard.queries.reading import page_read
from resonance.core.models import (
    Content,
    IdentityLink,
    Lead,
    Note,
    PageSection,
    PageView,
)

SEARCH_LIMIT = 200


@dataclass(frozen=True)
class ProspectRow:
    """One lead in the search results, with how much it has read."""

    lead_id: int
    email: str | None
    name: str | None
    company: str | None
    owner: str | None
    stage: str | None
    reached_sales_at: datetime | None
    pageviews: int
    content_items: int
    items_read: int
    last_seen_at: datetime | None


def search_prospects(
    session: Session, site: int, query: str | None, limit: int = SEARCH_LIMIT
) -> list[ProspectRow]:
    """Leads whose e-mail, name or company contains ``query`` (any case), most
    recently active first; leads that never read anything come last.

    The user's text is a bound parameter with ``%``, ``_`` and the escape
    character escaped, so "%" finds a literal percent sign, not everyone.

    The page views are reached from the site's leads' identity links through
    the visitors' index, the site checked on the leads (as
    ``dashboard.queries.leads.of_lead`` does): with a condition on the page
    views' site, both databases scanned every page view of the site for the
    identified few (bench/RESULTS.md, seventh session).
    """
    leads = select(Lead.id).where(*identified(site))
    stats = (
        select(
            IdentityLink.lead_id,
            func.count(PageView.id).label("pageviews"),
            func.count(func.distinct(PageView.content_id)).label("content_items"),
            func.count(func.distinct(case((page_read(), PageView.content_id)))).label(
                "items_read"
            ),
            func.max(PageView.viewed_at).label("last_seen"),
        )
        .join(PageView, PageView.visitor_id == IdentityLink.visitor_id)
        .join(Content, Content.id == PageView.content_id)
        .where(IdentityLink.lead_id.in_(leads))
        .group_by(IdentityLink.lead_id)
        .subquery("stats")
    )
    stmt = (
        select(
            Lead.id,
            Lead.email,
            Lead.name,
            Lead.company,
            Lead.owner,
            Lead.stage,
            Lead.reached_sales_at,
            func.coalesce(stats.c.pageviews, 0),
            func.coalesce(stats.c.content_items, 0),
            func.coalesce(stats.c.items_read, 0),
            stats.c.last_seen,
        )
        .outerjoin(stats, stats.c.lead_id == Lead.id)
        .where(*identified(site))
        .order_by(
            case((stats.c.last_seen.is_(None), 1), else_=0),
            stats.c.last_seen.desc(),
            Lead.id.desc(),
        )
        .limit(limit)
    )
    if needle := (query or "").strip().lower():
        stmt = stmt.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (Lead.email, Lead.name, Lead.company)
                )
            )
        )
    return [ProspectRow(*row) for row in session.execute(stmt)]


# --- one prospect ------------------------------------------------------------------


@dataclass(frozen=True)
class Prospect:
    """Who the prospect is, as the CRM and the snippet know them."""

    lead_id: int
    email: str | None
    name: str | None
    company: str | None
    owner: str | None
    stage: str | None
    stage_raw: str | None
    reached_sales_at: datetime | None
    created_at: datetime
    merged_into_id: int | None
    visitors: int
    pageviews: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None


def prospect(session: Session, site: int, lead_id: int) -> Prospect | None:
    """The site's lead ``lead_id`` with its visitor and page-view counts, or None
    when it does not exist or belongs to another site."""
    lead = session.execute(
        select(
            Lead.id,
            Lead.email,
            Lead.name,
            Lead.company,
            Lead.owner,
            Lead.stage,
            Lead.stage_raw,
            Lead.reached_sales_at,
            Lead.created_at,
            Lead.merged_into_id,
        ).where(Lead.id == lead_id, Lead.site_id == site)
    ).first()
    if lead is None:
        return None
    views = session.execute(
        select(
            func.count(func.distinct(PageView.visitor_id)),
            func.count(PageView.id),
            func.min(PageView.viewed_at),
            func.max(PageView.viewed_at),
        ).where(PageView.id.in_(lead_page_views(site, lead_id)))
    ).one()
    return Prospect(*lead, *views)


@dataclass(frozen=True)
class NoteRow:
    """A note sales left about the prospect and a content item."""

    note_id: int
    created_at: datetime
    author: str
    section: str | None
    body: str


@dataclass(frozen=True)
class NotedContent:
    """A content item the prospect viewed, the headings seen in it (for the note
    form) and the notes about this prospect and it, newest first."""

    content_id: int
    title: str
    url: str
    headings: list[str]
    notes: list[NoteRow]


def prospect_notes(session: Session, site: int, lead_id: int) -> list[NotedContent]:
    """Every content item the prospect viewed, most recently viewed first, with
    the notes about it and the prospect."""
    last_seen = func.max(PageView.viewed_at)
    items = session.execute(
        select(Content.id, Content.title, Content.url)
        .join(PageView, PageView.content_id == Content.id)
        .where(PageView.id.in_(lead_page_views(site, lead_id)))
        .group_by(Content.id, Content.title, Content.url)
        .order_by(last_seen.desc(), Content.id)
    ).all()
    headings = session.execute(
        select(PageView.content_id, PageSection.heading)
        .join(PageView, PageView.id == PageSection.pageview_id)
        .where(
            PageSection.pageview_id.in_(lead_page_views(site, lead_id)),
            PageSection.heading.is_not(None),
        )
        .group_by(PageView.content_id, PageSection.heading)
        .order_by(PageView.content_id, func.min(PageSection.idx), PageSection.heading)
    ).all()
    notes = session.execute(
        select(
            Note.content_id,
            Note.id,
            Note.created_at,
            Note.author,
            Note.section,
            Note.body,
        )
        .where(Note.site_id == site, Note.lead_id == lead_id)
        .order_by(Note.created_at.desc(), Note.id.desc())
    ).all()
    by_content: dict[int, list[NoteRow]] = {}
    for content_id, *note in notes:
        by_content.setdefault(content_id, []).append(NoteRow(*note))
    heads: dict[int, list[str]] = {}
    for content_id, heading in headings:
        heads.setdefault(content_id, []).append(heading)
    return [
        NotedContent(
            cid, title or url, url, heads.get(cid, []), by_content.get(cid, [])
        )
        for cid, title, url in items
    ]
