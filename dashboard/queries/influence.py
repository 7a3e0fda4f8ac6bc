"""Content influence: per content item, how its readers relate to leads reaching
sales (readers, conversion, lift, median days, first/last/linear attribution),
and the items worth sending a prospect next.

Conversion pages (``Content.kind``: contact, demo request, thank-you) are left
out by default: every lead who fills in the form reads them just before reaching
sales, so they would take the last-touch credit and top the suggestions. Left
out, a lead's touches are the reading content it saw; the baseline still counts
every lead that viewed anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, and_, case, func, literal, select, true
from sqlalchemy.orm import Session

from dashboard.queries.leads import identified, lead_page_views
from dashboard.queries.sql import days_between, in_period, median
from resonance.core.models import (
    CONTENT,
    CONVERSION,
    Content,
    IdentityLink,
    Lead,
    PageView,
)

SUGGESTIONS = 5


@dataclass(frozen=True)
class InfluenceRow:
    """How a content item relates to leads reaching sales.

    ``readers``: identified leads with a page view of it. ``readers_before_sales``:
    those whose first view came before they reached sales. ``conversion_rate``:
    readers_before_sales ÷ readers (a reader who had already reached sales was not
    converted after reading it). ``lift``: conversion_rate ÷ the site's baseline.
    ``median_days``: from a lead's first view of it to reaching sales, over the
    readers before sales. ``first_touch``/``last_touch``/``linear``: credit from
    the leads that reached sales, whose touches are the distinct items they read
    before reaching sales, in the order of their first view.
    """

    content_id: int
    title: str
    url: str
    readers: int
    readers_before_sales: int
    conversion_rate: float
    lift: float | None
    median_days: float | None
    first_touch: int
    last_touch: int
    linear: float
    kind: str = CONTENT  # ``conversion`` rows only when asked for


@dataclass(frozen=True)
class InfluenceReport:
    """The influence table and the baseline it is compared with."""

    since: datetime | None
    until: datetime | None
    sort: str
    leads: int
    reached_sales: int
    baseline: float | None
    rows: list[InfluenceRow]
    # Whether conversion pages are shown, and how many were read in the period.
    conversion: bool = False
    conversion_pages: int = 0


def _influence_key(row: InfluenceRow):
    return (-row.linear, -row.readers_before_sales, -(row.lift or 0), row.title)


# Sort orders of the influence table; "influence" also ranks suggested reads.
SORTS = {
    "influence": _influence_key,
    "readers": lambda r: (-r.readers, _influence_key(r)),
    "before_sales": lambda r: (-r.readers_before_sales, _influence_key(r)),
    "rate": lambda r: (-r.conversion_rate, _influence_key(r)),
    "lift": lambda r: (-(r.lift or 0), _influence_key(r)),
    "median_days": lambda r: (
        r.median_days is None,
        r.median_days or 0,
        _influence_key(r),
    ),
    "first_touch": lambda r: (-r.first_touch, _influence_key(r)),
    "last_touch": lambda r: (-r.last_touch, _influence_key(r)),
    "linear": lambda r: (-r.linear, _influence_key(r)),
    "title": lambda r: (r.title.lower(), r.url),
}


def _first_reads(site: int, since: datetime | None, until: datetime | None):
    """One row per (identified lead, content item) read in the period: the first
    view's time, when the lead reached sales (NULL if it has not), and the
    item's kind.

    Driven from the site's leads through their visitors' page views (the site is
    checked on the lead, see :func:`dashboard.queries.leads.of_lead`), never by
    scanning the site's page views, most of which are anonymous."""
    stmt = (
        select(
            IdentityLink.lead_id,
            PageView.content_id,
            Lead.reached_sales_at.label("reached_at"),
            func.min(PageView.viewed_at).label("first_at"),
            Content.kind,
        )
        .join(IdentityLink, IdentityLink.visitor_id == PageView.visitor_id)
        .join(Lead, Lead.id == IdentityLink.lead_id)
        .join(Content, Content.id == PageView.content_id)
        .where(*identified(site))
        .group_by(
            IdentityLink.lead_id,
            PageView.content_id,
            Lead.reached_sales_at,
            Content.kind,
        )
    )
    stmt = stmt.where(*in_period(PageView.viewed_at, since, until))
    # A CTE: the influence query reads it three times and both databases
    # materialise a CTE used more than once, so it is computed once.
    return stmt.cte("firsts")


def content_influence(
    session: Session,
    site: int,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: str = "influence",
    unread_by: int | None = None,
    conversion: bool = False,
) -> InfluenceReport:
    """Per content item read by identified leads in the period: readers, readers
    before sales, conversion vs the baseline, median days to sales, and
    first/last/linear attribution, all aggregated in SQL.

    ``unread_by``: only items that lead never viewed (suggested next reads).
    ``conversion``: conversion pages are rows and touches too (marked by their
    ``kind``); by default they are neither. Raises ValueError for an unknown
    ``sort``.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    firsts = _first_reads(site, since, until)
    f = firsts.c
    before = and_(f.reached_at.is_not(None), f.first_at < f.reached_at)
    shown = true() if conversion else f.kind != CONVERSION
    # The period's totals, as one row beside every item's: the first reads are
    # then found once, in one statement, where a statement of their own read
    # them again (bench/RESULTS.md, seventh session).
    totals = select(
        func.count(func.distinct(f.lead_id)).label("leads"),
        func.count(func.distinct(case((f.reached_at.is_not(None), f.lead_id)))),
        func.count(func.distinct(case((f.kind == CONVERSION, f.content_id)))),
    ).subquery("totals")
    per = (
        select(
            f.content_id,
            func.count().label("readers"),
            func.sum(case((before, 1), else_=0)).label("before"),
        )
        .where(shown)
        .group_by(f.content_id)
        .subquery("per")
    )
    median_days = _median_days(session, firsts, and_(before, shown))
    attribution = _attribution(firsts, and_(before, shown))
    stmt = (
        select(
            Content.id,
            func.coalesce(func.nullif(Content.title, ""), Content.url),
            Content.url,
            per.c.readers,
            per.c.before,
            median_days.c.median,
            func.coalesce(attribution.c.first_touch, 0),
            func.coalesce(attribution.c.last_touch, 0),
            func.coalesce(attribution.c.linear, 0),
            Content.kind,
            *totals.c,
        )
        .join(per, per.c.content_id == Content.id)
        .join(totals, true())
        .outerjoin(median_days, median_days.c.item == Content.id)
        .outerjoin(attribution, attribution.c.content_id == Content.id)
    )
    if unread_by is not None:
        seen = select(PageView.content_id).where(
            PageView.id.in_(lead_page_views(site, unread_by))
        )
        stmt = stmt.where(Content.id.not_in(seen))
    found = session.execute(stmt).all()
    # No item shown: the totals alone (they count what no row shows).
    counted = found[0][-3:] if found else session.execute(select(totals)).one()
    leads, reached, conversion_pages = counted
    rows = [_influence_row(row[:-3], leads, reached) for row in found]
    rows.sort(key=SORTS[sort])
    baseline = round(reached / leads, 4) if leads else None
    return InfluenceReport(
        since, until, sort, leads, reached, baseline, rows, conversion, conversion_pages
    )


def _influence_row(row, leads: int, reached: int) -> InfluenceRow:
    """An aggregated row as a dataclass; ratios from the exact integer counts."""
    cid, title, url, readers, before, days, first, last, linear, kind = row
    before = int(before)
    return InfluenceRow(
        content_id=cid,
        title=title,
        url=url,
        readers=readers,
        readers_before_sales=before,
        conversion_rate=round(before / readers, 4),
        lift=round(before * leads / (readers * reached), 4) if reached else None,
        median_days=round(float(days), 2) if days is not None else None,
        first_touch=int(first),
        last_touch=int(last),
        linear=round(float(linear), 4),
        kind=kind,
    )


def _median_days(session: Session, firsts, before):
    """Per content item, the median days from a lead's first view to reaching
    sales, over the readers before sales (columns ``item`` and ``median``)."""
    f = firsts.c
    days = (
        select(
            f.content_id,
            days_between(session, f.reached_at, f.first_at).label("days"),
        )
        .where(before)
        .subquery("days")
    )
    return median(days, "days", "content_id")


def _attribution(firsts, before):
    """First-touch, last-touch and linear credit per content item from the leads
    that reached sales: their touches (distinct items first viewed before reaching
    sales) numbered by ROW_NUMBER in the order of the first view, and counted by
    COUNT OVER the lead; 1 to touch 1, 1 to touch n, 1/n to each."""
    f = firsts.c
    touches = (
        select(
            f.lead_id,
            f.content_id,
            func.row_number()
            .over(partition_by=f.lead_id, order_by=(f.first_at, f.content_id))
            .label("rn"),
            func.count().over(partition_by=f.lead_id).label("n"),
        )
        .where(before)
        .subquery("touches")
    )
    t = touches.c
    return (
        select(
            t.content_id,
            func.sum(case((t.rn == 1, 1), else_=0)).label("first_touch"),
            func.sum(case((t.rn == t.n, 1), else_=0)).label("last_touch"),
            func.sum(literal(1.0, Float) / t.n).label("linear"),
        )
        .group_by(t.content_id)
        .subquery("attribution")
    )


@dataclass(frozen=True)
class Suggestion:
    """A content item worth sending next: leads read it before reaching sales,
    and this prospect has not read it."""

    content_id: int
    title: str
    url: str
    readers_before_sales: int
    lift: float | None
    linear: float
    kind: str = CONTENT


def suggested_reads(
    session: Session,
    site: int,
    lead_id: int,
    limit: int = SUGGESTIONS,
    conversion: bool = False,
) -> list[Suggestion]:
    """Content that leads who reached sales read before reaching sales, ranked by
    influence (linear credit, then readers before sales, then lift), that the
    prospect never viewed; conversion pages only when ``conversion`` (a
    prospect who just filled in the form needs no form)."""
    report = content_influence(session, site, unread_by=lead_id, conversion=conversion)
    return suggestions_from(report, limit)


def suggestions_from(
    report: InfluenceReport, limit: int, seen: frozenset[int] = frozenset()
) -> list[Suggestion]:
    """The first ``limit`` rows of ``report`` read before sales, as suggestions,
    leaving out the content ids in ``seen``."""
    return [
        Suggestion(
            r.content_id,
            r.title,
            r.url,
            r.readers_before_sales,
            r.lift,
            r.linear,
            r.kind,
        )
        for r in report.rows
        if r.readers_before_sales > 0 and r.content_id not in seen
    ][:limit]
