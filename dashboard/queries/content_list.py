"""The content list: every content item of a site (or content group) with its
page views, visitors, median reading time and depth, read-through and leads."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import BigInteger, case, cast, func, select
from sqlalchemy.orm import Session

from dashboard.queries.groups import GroupRule, content_groups
from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.sql import spread_median
from dashboard.queries.summary_days import summary_and_raw
from resonance.core.models import Content, IdentityLink
from tracker.contributions import SPREAD, VIEWS


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
    # With "vs the period before": its page views and the change in percent
    # (None when there were none before: the item is new).
    previous_views: int | None = None
    change_pct: int | None = None


def content_list(
    session: Session, flt: ContentFilter, group: bool = False, raw: bool = False
) -> list[ContentRow]:
    """Every content item of a site with reading figures, most viewed first.

    With ``group``, items under a content-group rule of the site are merged into
    one row per rule (medians and distinct counts over the merged page views).
    Page views, read-throughs and the medians come from the summaries (``raw``:
    from the page views, to check them); visitors and leads are distinct
    counts, which do not add up across days, so they come from the page views.
    """
    mapping, rules = content_groups(session, flt.site_key) if group else ({}, {})
    totals_of = summary_and_raw(session, VIEWS, flt, None, raw, by=("content_id",))
    spread = summary_and_raw(session, SPREAD, flt, None, raw, by=("content_id",))
    item = _item(totals_of.c.content_id, mapping)
    totals = (
        select(
            item.label("item"),
            cast(func.sum(totals_of.c.views), BigInteger).label("views"),
            cast(func.sum(totals_of.c.read_through), BigInteger).label("read_through"),
        )
        .group_by(item)
        .subquery()
    )
    spread_item = _item(spread.c.content_id, mapping)
    active = spread_median(spread, "active_s", spread_item)
    depth = spread_median(spread, "scroll_pct", spread_item)
    visitors, leads = _people(session, flt, mapping)
    stmt = (
        select(
            totals.c.item,
            Content.url,
            Content.title,
            totals.c.views,
            func.coalesce(visitors.c.visitors, 0),
            active.c.median,
            depth.c.median,
            totals.c.read_through,
            func.coalesce(leads.c.leads, 0),
        )
        .join(active, active.c.item == totals.c.item)
        .join(depth, depth.c.item == totals.c.item)
        .outerjoin(visitors, visitors.c.item == totals.c.item)
        .outerjoin(leads, leads.c.item == totals.c.item)
        .outerjoin(Content, Content.id == totals.c.item)
        .where(totals.c.views > 0)
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


def _item(content_id, mapping: dict[int, int]):
    """The row a content item counts in: itself, or its group's first item."""
    if not mapping:
        return content_id
    return case(mapping, value=content_id, else_=content_id)


def _people(session: Session, flt: ContentFilter, mapping: dict[int, int]):
    """Distinct visitors, and distinct known leads, per item (or group), from
    the page views: a distinct count over a period cannot be added up from
    days. Two counts, the leads' over the identified visitors' page views
    alone: one count over every page view outer-joined to the identity links
    cost more than both (bench/RESULTS.md, seventh session)."""
    views = filtered_views(session, flt)
    item = _item(views.c.content_id, mapping)
    visitors = (
        select(
            item.label("item"),
            func.count(func.distinct(views.c.visitor_id)).label("visitors"),
        )
        .group_by(item)
        .subquery()
    )
    leads = (
        select(
            item.label("item"),
            func.count(func.distinct(IdentityLink.lead_id)).label("leads"),
        )
        .join(IdentityLink, IdentityLink.visitor_id == views.c.visitor_id)
        .group_by(item)
        .subquery()
    )
    return visitors, leads


def with_previous(
    session: Session, rows: list[ContentRow], before: ContentFilter, group: bool
) -> list[ContentRow]:
    """``rows`` with the page views each had in the period ``before`` (its
    filter, the same but for the dates) and the change since."""
    counts = previous_views(session, before, group)
    result = []
    for row in rows:
        key = row.content_id if row.content_id is not None else row.url
        old = counts.get(key, 0)
        change = round(100 * (row.views - old) / old) if old else None
        result.append(replace(row, previous_views=old, change_pct=change))
    return result


def previous_views(
    session: Session, flt: ContentFilter, group: bool
) -> dict[int | str, int]:
    """Page views per content item (grouped: per group pattern) for ``flt``."""
    mapping, rules = content_groups(session, flt.site_key) if group else ({}, {})
    totals = summary_and_raw(session, VIEWS, flt, None, by=("content_id",))
    item = _item(totals.c.content_id, mapping)
    total = cast(func.sum(totals.c.views), BigInteger)
    rows = session.execute(select(item, total).group_by(item))
    return {
        (rules[key].pattern if key in rules else key): count
        for key, count in rows
        if count
    }


def _content_row(row, rules: dict[int, GroupRule]) -> ContentRow:
    rule = rules.get(row[0])
    return ContentRow(
        content_id=None if rule else row[0],
        url=rule.pattern if rule else row[1],
        title=rule.name if rule else row[2],
        views=row[3],
        visitors=row[4],
        median_active_s=round(float(row[5]), 1),
        median_scroll_pct=round(float(row[6]), 1),
        read_through_pct=round(100 * row[7] / row[3], 1),
        leads=row[8],
    )
