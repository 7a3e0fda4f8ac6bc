"""The content list: every content item of a site (or content group) with its
page views, visitors, median reading time and depth, read-through and leads."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session

from dashboard.queries.groups import GroupRule, content_groups
from dashboard.queries.segments import ContentFilter, filtered_views
from dashboard.queries.sql import median
from resonance.core.models import Content, IdentityLink


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


READ_THROUGH_PCT = 75.0


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
    views = filtered_views(session, flt)
    mapping, rules = content_groups(session, flt.site_key) if group else ({}, {})
    item = views.c.content_id
    if mapping:
        item = case(mapping, value=views.c.content_id, else_=views.c.content_id)
    rows = session.execute(select(item, func.count()).group_by(item))
    return {(rules[key].pattern if key in rules else key): count for key, count in rows}


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
