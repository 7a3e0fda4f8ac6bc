"""Which page views a figure counts: the filter (site, period, device, segment of
visitors, internal traffic) that every content query takes its page views from,
so that a segment means the same thing on every chart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from dashboard.queries.sql import in_period
from resonance.core.models import Content, IdentityLink, Lead, PageView, Site, Visitor
from tracker.stages import STAGES

# ``stage:<name>``: a lead's current lifecycle stage (Lead.stage is 16 characters);
# ``not:<segment>``: everyone outside a segment ("reached sales vs everyone else").
SEGMENT_PATTERN = re.compile(r"(not:)?(leads|sales|stage:[A-Za-z0-9_-]{1,16})\Z|all\Z")
NOT = "not:"
# The referrer filter's value for page views that came with no referrer.
DIRECT = "direct"


def valid_segment(segment: str) -> bool:
    """Whether ``segment`` is ``all``, ``leads``, ``sales``, ``stage:<name>`` or
    ``not:`` followed by one of the last three."""
    return bool(SEGMENT_PATTERN.match(segment))


def everyone_else(segment: str) -> str:
    """The segment of the page views outside ``segment`` (``all`` has none: all)."""
    if segment == "all":
        return "all"
    return segment.removeprefix(NOT) if segment.startswith(NOT) else NOT + segment


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
    # Acquisition: the page view's ``utm_source`` and ``utm_campaign`` (exact),
    # and its referrer's host (``news.ycombinator.com``; ``direct`` for none).
    source: str | None = None
    campaign: str | None = None
    referrer: str | None = None


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
        PageView.utm_source,
        PageView.utm_campaign,
        PageView.referrer,
    )
    site_id = site.id if site else None
    if content_id is None:
        stmt = stmt.where(PageView.site_id == site_id)
    else:
        stmt = stmt.where(*of_item(PageView.content_id, content_id, site_id))
    stmt = stmt.where(*in_period(PageView.viewed_at, flt.since, flt.until))
    if flt.device:
        stmt = stmt.where(PageView.device == flt.device)
    if (segment := _segment_clause(flt.segment)) is not None:
        stmt = stmt.where(segment)
    if flt.exclude_internal:
        stmt = stmt.where(*_external_clauses(site.internal_domains if site else []))
    stmt = stmt.where(*acquisition_clauses(flt))
    return stmt.subquery("views")


def of_item(column, content_id: int, site) -> tuple:
    """WHERE clauses for the rows of one content item of the site (``column``
    holds their item). The site is checked once on the item, not on each row:
    with both conditions on the rows SQLite (no statistics) read all the site's
    rows by their ``(site_id, …)`` index instead of the item's."""
    owner = select(Content.site_id).where(Content.id == content_id).scalar_subquery()
    return (column == content_id, owner == site)


def acquisition_clauses(flt: ContentFilter) -> list:
    """WHERE clauses on the page view's campaign tags and referrer host.

    The referrer is stored as the full URL (query string scrubbed): its host is
    matched as ``scheme://host`` followed by ``/``, ``:``, ``?`` or the end, so
    ``example.com`` never matches ``example.com.evil``."""
    clauses = []
    if flt.source:
        clauses.append(PageView.utm_source == flt.source)
    if flt.campaign:
        clauses.append(PageView.utm_campaign == flt.campaign)
    if flt.referrer == DIRECT:
        clauses.append(or_(PageView.referrer.is_(None), PageView.referrer == ""))
    elif flt.referrer:
        referrer = func.lower(PageView.referrer)
        matches = []
        for scheme in ("http", "https"):
            origin = f"{scheme}://{flt.referrer.lower()}"
            matches.append(referrer == origin)
            matches += [
                referrer.startswith(origin + end, autoescape=True)
                for end in ("/", ":", "?")
            ]
        clauses.append(or_(*matches))
    return clauses


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
    if segment.startswith(NOT):
        return ~_segment_clause(segment[len(NOT) :])
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


def cohort_clause(segment: str, row):
    """The WHERE clause of a segment on summary rows (``row``: a table with the
    cohort columns ``lead``, ``sales`` and ``stage``; None for all): the same
    visitors as :func:`_segment_clause` picks by their page views."""
    if segment == "all":
        return None
    if segment.startswith(NOT):
        return ~cohort_clause(segment[len(NOT) :], row)
    if segment == "leads":
        return row.lead.is_(True)
    if segment == "sales":
        return row.sales.is_(True)
    if segment.startswith("stage:") and valid_segment(segment):
        return row.stage == segment[len("stage:") :]
    raise ValueError(f"unknown segment {segment!r}")


def summarised(flt: ContentFilter) -> bool:
    """Whether summaries can answer ``flt``: they are kept per day, device and
    cohort, not per campaign, referrer or internal traffic."""
    return not (flt.exclude_internal or flt.source or flt.campaign or flt.referrer)


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


def lead_stages(session: Session, site_key: str) -> list[str]:
    """The lifecycle stages the site's leads are in now, in funnel order (then
    ``other``, ``disqualified``, and any name outside the vocabulary)."""
    present = session.scalars(
        select(Lead.stage)
        .join(Site, Site.id == Lead.site_id)
        .where(Site.key == site_key, Lead.stage.is_not(None))
        .group_by(Lead.stage)
    )
    return sorted(
        present, key=lambda s: (STAGES.index(s) if s in STAGES else len(STAGES), s)
    )
