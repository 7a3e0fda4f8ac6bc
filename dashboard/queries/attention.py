"""Attention by section: active time and reach per heading of a content item,
against the time its words need."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from dashboard.queries.reading import reading_seconds
from dashboard.queries.segments import ContentFilter, filtered_views
from resonance.core.models import ContentSection, PageSection


@dataclass(frozen=True)
class SectionRow:
    """Attention on one section (a heading of the page), in page order."""

    heading: str
    level: int
    top_px: int
    height_px: int
    # Page views that reached the section (scrolled past its top), and their
    # active time on it: a section nobody reached had no one to hold.
    views: int
    total_active_s: float
    avg_active_s: float
    # Of the page views whose layout had the section: the share that reached it,
    # and the share whose deepest point was inside it (they left here).
    reached_pct: float
    left_pct: float
    expected_s: float | None
    held_longer: bool
    # Where the most readers leave: the section (not the last: leaving there is
    # finishing) with the largest ``left_pct``; the first of equals.
    readers_stop: bool


def attention_sections(
    session: Session, flt: ContentFilter, content_id: int
) -> list[SectionRow]:
    """Active time and reach per section, grouped by heading text and level over
    the selected page views, in page order (average top, then average index);
    expected reading time from the crawled words (:func:`reading_seconds`).

    ``views``: the views that reached the section (their deepest visible point
    went past its top); active time is averaged over them. ``reached_pct`` and
    ``left_pct`` are shares of the views whose layout had the section.
    ``held_longer``: read longer per reaching view than its words need.
    ``readers_stop``: where the most readers leave (see :class:`SectionRow`).
    """
    views = filtered_views(session, flt, content_id)
    s = PageSection
    per = (
        select(
            s.heading,
            s.level,
            func.count(func.distinct(s.pageview_id)).label("having"),
            func.sum(s.active_ms).label("active_ms"),
            func.avg(s.top_px).label("top"),
            # Sections side by side (cards) share a top: then DOM order decides.
            func.avg(s.idx).label("pos"),
            func.avg(s.height_px).label("height"),
            func.count(
                func.distinct(case((s.top_px < views.c.max_scroll_px, s.pageview_id)))
            ).label("reached"),
            func.count(
                func.distinct(case((_left_inside(s, views), s.pageview_id)))
            ).label("left"),
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
    rows = session.execute(
        select(
            per.c.heading,
            per.c.level,
            per.c.top,
            per.c.height,
            per.c.having,
            per.c.reached,
            per.c.left,
            per.c.active_ms,
            words.c.words,
        )
        .outerjoin(
            words,
            and_(words.c.heading == per.c.heading, words.c.level == per.c.level),
        )
        .order_by(per.c.top, per.c.pos)
    ).all()
    leaving = [row.left / row.having for row in rows[:-1]]
    top_leave = max(leaving, default=0)
    stop = leaving.index(top_leave) if top_leave > 0 else None
    return [_section_row(row, index == stop) for index, row in enumerate(rows)]


def _left_inside(section, views):
    """True when the page view's deepest visible point fell inside ``section``:
    past its top, not past its bottom."""
    return and_(
        section.top_px < views.c.max_scroll_px,
        views.c.max_scroll_px <= section.top_px + section.height_px,
    )


def _pct(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


def _section_row(row, readers_stop: bool) -> SectionRow:
    """One aggregated section as shown: times over the views that reached it."""
    total_s = float(row.active_ms or 0) / 1000
    avg_s = round(total_s / row.reached, 1) if row.reached else 0.0
    expected = reading_seconds(row.words) if row.words is not None else None
    return SectionRow(
        heading=row.heading,
        level=row.level,
        top_px=round(float(row.top or 0)),
        height_px=round(float(row.height or 0)),
        views=row.reached,
        total_active_s=round(total_s, 1),
        avg_active_s=avg_s,
        reached_pct=_pct(row.reached, row.having),
        left_pct=_pct(row.left, row.having),
        expected_s=expected,
        held_longer=expected is not None and avg_s > expected,
        readers_stop=readers_stop,
    )
